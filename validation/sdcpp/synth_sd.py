#!/usr/bin/env python3
"""Write synthetic (all-zero) image-generation model files that stable-diffusion.cpp loads.

Only tensor *names, shapes and dtypes* matter for the memory numbers sd.cpp logs, so every
tensor is zero.  Files are written *sparse*: the header is written, then the file is truncated
to its full length, so a 10 GB T5 costs no disk and no time (reads of the hole return zeros).

Tensor lists mirror the GGMLBlock constructors of the stable-diffusion.cpp sources vendored in
stable-diffusion-cpp-python 0.4.7 (paths relative to vendor/stable-diffusion.cpp/src):

  * UNet (SD1.x / SD2.x / SDXL)   unet.hpp  (UnetModelBlock), common_block.hpp (ResBlock,
                                  SpatialTransformer, BasicTransformerBlock, CrossAttention,
                                  FeedForward/GEGLU, DownSampleBlock, UpSampleBlock)
  * CLIP text encoders            clip.hpp  (CLIPEmbeddings, CLIPEncoder/CLIPLayer, CLIPTextModel)
  * AutoencoderKL (VAE)           auto_encoder_kl.hpp (Encoder, Decoder, ResnetBlock, AttnBlock,
                                  AutoEncoderKLModel: use_quant=false and z_channels=16 for DiT models)
  * FLUX.1 DiT                    flux.hpp  (Flux, DoubleStreamBlock, SingleStreamBlock, MLPEmbedder,
                                  LastLayer; depth / depth_single_blocks / hidden_size / head_dim are
                                  inferred from the tensor names & shapes in FluxRunner)
  * T5-XXL encoder                t5.hpp    (T5Params: 24 layers x 4096 are FIXED - not inferred)
  * SD3 / SD3.5 MMDiT             mmdit.hpp (MMDiT; depth = max(24, joint_blocks.N+1), hidden=64*depth)

Version detection (which architecture sd.cpp builds) is ModelLoader::get_sd_version in model.cpp:
token_embedding width 768 -> SD1, 1024 -> SD2; two text encoders + UNet -> SDXL;
"double_blocks." -> FLUX; "joint_blocks." -> SD3.

Shapes below are PyTorch order ([out, in, kh, kw]); the GGUF writer reverses them to ggml's ne order.

Usage:  python3 synth_sd.py OUTDIR [kind ...]   (kinds: sd15 sd21 sdxl flux t5 sd35; default: sd15 flux)
"""
import json
import os
import struct
import sys

# ---------------------------------------------------------------------------------------------
# writers
# ---------------------------------------------------------------------------------------------
ST_DTYPE = {"F16": 2, "F32": 4, "BF16": 2}


def write_safetensors(path, tensors, dtype="F16", f32_names=()):
    """tensors: list of (name, shape).  All tensors stored as `dtype` except names in f32_names."""
    header, off = {}, 0
    for name, shape in tensors:
        dt = "F32" if name in f32_names else dtype
        n = ST_DTYPE[dt]
        for d in shape:
            n *= d
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        f.truncate(8 + len(hb) + off)  # sparse zeros
    return 8 + len(hb) + off


# ggml type id, block size (elements), bytes per block   (ggml/include/ggml.h, ggml.c type_traits)
GGML_TYPES = {
    "F32": (0, 1, 4), "F16": (1, 1, 2), "Q4_0": (2, 32, 18), "Q4_1": (3, 32, 20),
    "Q5_0": (6, 32, 22), "Q5_1": (7, 32, 24), "Q8_0": (8, 32, 34),
    "Q2_K": (10, 256, 84), "Q3_K": (11, 256, 110), "Q4_K": (12, 256, 144),
    "Q5_K": (13, 256, 176), "Q6_K": (14, 256, 210), "BF16": (30, 1, 2),
}


def gguf_type_for(name, shape, qtype):
    """A plausible per-tensor choice like real GGUF image-model files: 1-D tensors (biases,
    norms) stay F32, tensors whose row length is not a multiple of the block size stay F16."""
    if len(shape) == 1:
        return "F32"
    if len(shape) > 2:          # convolutions: sd.cpp forces Conv2d weights to F16 anyway
        return "F16"
    blk = GGML_TYPES[qtype][1]
    return qtype if shape[-1] % blk == 0 else "F16"


def write_gguf(path, tensors, qtype="Q8_0", type_fn=gguf_type_for, alignment=32):
    """Minimal GGUF v3 writer (no KV pairs), zero data, sparse."""
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    infos, off = [], 0
    for name, shape in tensors:
        t = type_fn(name, shape, qtype)
        tid, blk, bpb = GGML_TYPES[t]
        ne = list(reversed(shape))
        assert ne[0] % blk == 0, (name, shape, t)
        nel = 1
        for d in ne:
            nel *= d
        nbytes = nel // blk * bpb
        infos.append(s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
                     + struct.pack("<IQ", tid, off))
        off += (nbytes + alignment - 1) // alignment * alignment
    with open(path, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), 0))
        for i in infos:
            f.write(i)
        pos = f.tell()
        f.write(b"\0" * ((alignment - pos % alignment) % alignment))
        f.truncate(f.tell() + off)
    return os.path.getsize(path)


# ---------------------------------------------------------------------------------------------
# building blocks (ggml_extend.hpp: Linear / Conv2d / LayerNorm / GroupNorm)
# ---------------------------------------------------------------------------------------------
def linear(p, i, o, bias=True):
    return [(p + ".weight", (o, i))] + ([(p + ".bias", (o,))] if bias else [])


def conv(p, i, o, k=3, bias=True):
    return [(p + ".weight", (o, i, k, k))] + ([(p + ".bias", (o,))] if bias else [])


def norm(p, c, bias=True):  # LayerNorm / GroupNorm: weight + bias
    return [(p + ".weight", (c,))] + ([(p + ".bias", (c,))] if bias else [])


# ---------------------------------------------------------------------------------------------
# UNet  (unet.hpp UnetModelBlock, common_block.hpp)
# ---------------------------------------------------------------------------------------------
def resblock(p, cin, cout, emb=1280):
    t = norm(p + ".in_layers.0", cin) + conv(p + ".in_layers.2", cin, cout)
    t += linear(p + ".emb_layers.1", emb, cout)
    t += norm(p + ".out_layers.0", cout) + conv(p + ".out_layers.3", cout, cout)
    if cin != cout:
        t += conv(p + ".skip_connection", cin, cout, k=1)
    return t


def spatial_transformer(p, c, depth, ctx, linear_proj):
    t = norm(p + ".norm", c)
    t += linear(p + ".proj_in", c, c) if linear_proj else conv(p + ".proj_in", c, c, k=1)
    for d in range(depth):
        b = f"{p}.transformer_blocks.{d}"
        t += linear(b + ".attn1.to_q", c, c, False) + linear(b + ".attn1.to_k", c, c, False)
        t += linear(b + ".attn1.to_v", c, c, False) + linear(b + ".attn1.to_out.0", c, c)
        t += linear(b + ".ff.net.0.proj", c, c * 8) + linear(b + ".ff.net.2", c * 4, c)  # GEGLU
        t += linear(b + ".attn2.to_q", c, c, False) + linear(b + ".attn2.to_k", ctx, c, False)
        t += linear(b + ".attn2.to_v", ctx, c, False) + linear(b + ".attn2.to_out.0", c, c)
        t += norm(b + ".norm1", c) + norm(b + ".norm2", c) + norm(b + ".norm3", c)
    t += linear(p + ".proj_out", c, c) if linear_proj else conv(p + ".proj_out", c, c, k=1)
    return t


UNET_CONFIGS = {  # unet.hpp UnetModelBlock constructor
    "sd1": dict(ctx=768, attn_res=[4, 2, 1], mult=[1, 2, 4, 4], depth=[1, 1, 1, 1], linear=False, adm=0),
    "sd2": dict(ctx=1024, attn_res=[4, 2, 1], mult=[1, 2, 4, 4], depth=[1, 1, 1, 1], linear=True, adm=0),
    "sdxl": dict(ctx=2048, attn_res=[4, 2], mult=[1, 2, 4], depth=[1, 2, 10], linear=True, adm=2816),
}


def unet_tensors(kind, prefix="model.diffusion_model."):
    c = UNET_CONFIGS[kind]
    mc, emb, nrb = 320, 1280, 2
    P = prefix
    t = linear(P + "time_embed.0", mc, emb) + linear(P + "time_embed.2", emb, emb)
    if c["adm"]:
        t += linear(P + "label_emb.0.0", c["adm"], emb) + linear(P + "label_emb.0.2", emb, emb)
    t += conv(P + "input_blocks.0.0", 4, mc)
    chans, ch, idx, ds = [mc], mc, 0, 1
    for i, m in enumerate(c["mult"]):
        for _ in range(nrb):
            idx += 1
            t += resblock(f"{P}input_blocks.{idx}.0", ch, m * mc)
            ch = m * mc
            if ds in c["attn_res"]:
                t += spatial_transformer(f"{P}input_blocks.{idx}.1", ch, c["depth"][i], c["ctx"], c["linear"])
            chans.append(ch)
        if i != len(c["mult"]) - 1:
            idx += 1
            t += conv(f"{P}input_blocks.{idx}.0.op", ch, ch)  # DownSampleBlock (conv, stride 2)
            chans.append(ch)
            ds *= 2
    t += resblock(P + "middle_block.0", ch, ch)
    t += spatial_transformer(P + "middle_block.1", ch, c["depth"][-1], c["ctx"], c["linear"])
    t += resblock(P + "middle_block.2", ch, ch)
    oidx = 0
    for i in reversed(range(len(c["mult"]))):
        m = c["mult"][i]
        for j in range(nrb + 1):
            ich = chans.pop()
            t += resblock(f"{P}output_blocks.{oidx}.0", ch + ich, m * mc)
            ch = m * mc
            up = 1
            if ds in c["attn_res"]:
                t += spatial_transformer(f"{P}output_blocks.{oidx}.1", ch, c["depth"][i], c["ctx"], c["linear"])
                up += 1
            if i > 0 and j == nrb:
                t += conv(f"{P}output_blocks.{oidx}.{up}.conv", ch, ch)  # UpSampleBlock
                ds //= 2
            oidx += 1
    t += norm(P + "out.0", mc) + conv(P + "out.2", mc, 4)
    return t


# ---------------------------------------------------------------------------------------------
# CLIP text encoders (clip.hpp).  HF transformers naming "text_model.*".
# ---------------------------------------------------------------------------------------------
CLIP_CONFIGS = {  # clip.hpp CLIPTextModel constructor
    "L": dict(hidden=768, inter=3072, layers=12, proj=0),     # OPENAI_CLIP_VIT_L_14
    "H": dict(hidden=1024, inter=4096, layers=24, proj=0),    # OPEN_CLIP_VIT_H_14 (SD2.x)
    "G": dict(hidden=1280, inter=5120, layers=32, proj=1280), # OPEN_CLIP_VIT_BIGG_14 (SDXL/SD3)
}


def clip_text_tensors(kind, prefix):
    c = CLIP_CONFIGS[kind]
    h, P = c["hidden"], prefix + "text_model."
    t = [(P + "embeddings.token_embedding.weight", (49408, h)),
         (P + "embeddings.position_embedding.weight", (77, h))]
    for i in range(c["layers"]):
        L = f"{P}encoder.layers.{i}."
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            t += linear(L + "self_attn." + n, h, h)
        t += norm(L + "layer_norm1", h) + norm(L + "layer_norm2", h)
        t += linear(L + "mlp.fc1", h, c["inter"]) + linear(L + "mlp.fc2", c["inter"], h)
    t += norm(P + "final_layer_norm", h)
    if c["proj"]:
        t += [(prefix + "text_projection.weight", (c["proj"], h))]
    return t


# ---------------------------------------------------------------------------------------------
# AutoencoderKL (auto_encoder_kl.hpp)
# ---------------------------------------------------------------------------------------------
def vae_resnet(p, cin, cout):
    t = norm(p + ".norm1", cin) + conv(p + ".conv1", cin, cout)
    t += norm(p + ".norm2", cout) + conv(p + ".conv2", cout, cout)
    if cin != cout:
        t += conv(p + ".nin_shortcut", cin, cout, k=1)
    return t


def vae_attn(p, c):
    t = norm(p + ".norm", c)
    for n in ("q", "k", "v", "proj_out"):
        t += conv(p + "." + n, c, c, k=1)
    return t


def vae_tensors(prefix="first_stage_model.", z=4, use_quant=True, ch=128, mult=(1, 2, 4, 4), nrb=2):
    P = prefix
    # encoder (ignored by sd.cpp in txt2img: vae_decode_only -> "first_stage_model.encoder" ignored)
    t = conv(P + "encoder.conv_in", 3, ch)
    cin = ch
    for i, m in enumerate(mult):
        for j in range(nrb):
            t += vae_resnet(f"{P}encoder.down.{i}.block.{j}", cin, ch * m)
            cin = ch * m
        if i != len(mult) - 1:
            t += conv(f"{P}encoder.down.{i}.downsample.conv", cin, cin)
    t += vae_resnet(P + "encoder.mid.block_1", cin, cin) + vae_attn(P + "encoder.mid.attn_1", cin)
    t += vae_resnet(P + "encoder.mid.block_2", cin, cin)
    t += norm(P + "encoder.norm_out", cin) + conv(P + "encoder.conv_out", cin, 2 * z)
    # decoder
    cin = ch * mult[-1]
    t += conv(P + "decoder.conv_in", z, cin)
    t += vae_resnet(P + "decoder.mid.block_1", cin, cin) + vae_attn(P + "decoder.mid.attn_1", cin)
    t += vae_resnet(P + "decoder.mid.block_2", cin, cin)
    for i in reversed(range(len(mult))):
        for j in range(nrb + 1):
            t += vae_resnet(f"{P}decoder.up.{i}.block.{j}", cin, ch * mult[i])
            cin = ch * mult[i]
        if i != 0:
            t += conv(f"{P}decoder.up.{i}.upsample.conv", cin, cin)
    t += norm(P + "decoder.norm_out", cin) + conv(P + "decoder.conv_out", cin, 3)
    if use_quant:
        t += conv(P + "quant_conv", 2 * z, 2 * z, k=1) + conv(P + "post_quant_conv", z, z, k=1)
    return t


# ---------------------------------------------------------------------------------------------
# FLUX.1 (flux.hpp), BFL naming, written as a standalone --diffusion-model file (no prefix)
# ---------------------------------------------------------------------------------------------
def flux_tensors(double=1, single=1, hidden=3072, head_dim=128, ctx=4096, vec=768, guidance=True, prefix=""):
    P, H = prefix, hidden
    mlp = 4 * H
    t = linear(P + "img_in", 64, H) + linear(P + "txt_in", ctx, H)
    t += linear(P + "time_in.in_layer", 256, H) + linear(P + "time_in.out_layer", H, H)
    t += linear(P + "vector_in.in_layer", vec, H) + linear(P + "vector_in.out_layer", H, H)
    if guidance:  # FLUX.1-dev; absent in schnell
        t += linear(P + "guidance_in.in_layer", 256, H) + linear(P + "guidance_in.out_layer", H, H)
    for i in range(double):
        B = f"{P}double_blocks.{i}."
        for s in ("img", "txt"):
            t += linear(B + s + "_mod.lin", H, 6 * H)
            t += linear(B + s + "_attn.qkv", H, 3 * H)
            t += [(B + s + "_attn.norm.query_norm.scale", (head_dim,)),
                  (B + s + "_attn.norm.key_norm.scale", (head_dim,))]
            t += linear(B + s + "_attn.proj", H, H)
            t += linear(B + s + "_mlp.0", H, mlp) + linear(B + s + "_mlp.2", mlp, H)
    for i in range(single):
        B = f"{P}single_blocks.{i}."
        t += linear(B + "linear1", H, 3 * H + mlp) + linear(B + "linear2", H + mlp, H)
        t += [(B + "norm.query_norm.scale", (head_dim,)), (B + "norm.key_norm.scale", (head_dim,))]
        t += linear(B + "modulation.lin", H, 3 * H)
    t += linear(P + "final_layer.linear", H, 64)
    t += linear(P + "final_layer.adaLN_modulation.1", H, 2 * H)
    return t


# ---------------------------------------------------------------------------------------------
# T5-XXL encoder (t5.hpp) - HF naming.  Architecture is fixed: 24 layers, d=4096, ff=10240.
# ---------------------------------------------------------------------------------------------
def t5_tensors(layers=24, d=4096, ff=10240, heads=64, vocab=32128, prefix=""):
    P = prefix
    t = [(P + "shared.weight", (vocab, d))]
    for i in range(layers):
        B = f"{P}encoder.block.{i}.layer."
        for n in ("q", "k", "v", "o"):
            t += linear(B + "0.SelfAttention." + n, d, d, False)
        if i == 0:
            t += [(B + "0.SelfAttention.relative_attention_bias.weight", (32, heads))]
        t += [(B + "0.layer_norm.weight", (d,))]
        t += linear(B + "1.DenseReluDense.wi_0", d, ff, False) + linear(B + "1.DenseReluDense.wi_1", d, ff, False)
        t += linear(B + "1.DenseReluDense.wo", ff, d, False)
        t += [(B + "1.layer_norm.weight", (d,))]
    t += [(P + "encoder.final_layer_norm.weight", (d,))]
    return t


# ---------------------------------------------------------------------------------------------
# SD3 / SD3.5 MMDiT (mmdit.hpp)
# ---------------------------------------------------------------------------------------------
def mmdit_tensors(depth=24, ctx=4096, adm=2048, pos_max=192, qk_norm=True, x_block_self_attn=(), prefix=""):
    """qk_norm=True writes RMSNorm ln_q/ln_k (weight only, SD3.5); hidden = 64*depth, 64-wide heads."""
    P, H = prefix, 64 * depth
    t = conv(P + "x_embedder.proj", 16, H, k=2)
    t += [(P + "pos_embed", (1, pos_max * pos_max, H))]
    t += linear(P + "t_embedder.mlp.0", 256, H) + linear(P + "t_embedder.mlp.2", H, H)
    t += linear(P + "y_embedder.mlp.0", adm, H) + linear(P + "y_embedder.mlp.2", H, H)
    t += linear(P + "context_embedder", ctx, H)
    for i in range(depth):
        B = f"{P}joint_blocks.{i}."
        last = i == depth - 1
        # x_block
        n_mod = 9 if i in x_block_self_attn else 6
        t += linear(B + "x_block.adaLN_modulation.1", H, n_mod * H)
        t += linear(B + "x_block.attn.qkv", H, 3 * H) + linear(B + "x_block.attn.proj", H, H)
        if qk_norm:
            t += [(B + "x_block.attn.ln_q.weight", (64,)), (B + "x_block.attn.ln_k.weight", (64,))]
        if i in x_block_self_attn:
            t += linear(B + "x_block.attn2.qkv", H, 3 * H) + linear(B + "x_block.attn2.proj", H, H)
            if qk_norm:
                t += [(B + "x_block.attn2.ln_q.weight", (64,)), (B + "x_block.attn2.ln_k.weight", (64,))]
        t += linear(B + "x_block.mlp.fc1", H, 4 * H) + linear(B + "x_block.mlp.fc2", 4 * H, H)
        # context_block (pre_only in the last block: no proj / mlp, 2 modulations)
        t += linear(B + "context_block.adaLN_modulation.1", H, (2 if last else 6) * H)
        t += linear(B + "context_block.attn.qkv", H, 3 * H)
        if qk_norm:
            t += [(B + "context_block.attn.ln_q.weight", (64,)), (B + "context_block.attn.ln_k.weight", (64,))]
        if not last:
            t += linear(B + "context_block.attn.proj", H, H)
            t += linear(B + "context_block.mlp.fc1", H, 4 * H) + linear(B + "context_block.mlp.fc2", 4 * H, H)
    t += linear(P + "final_layer.adaLN_modulation.1", H, 2 * H)
    t += linear(P + "final_layer.linear", H, 2 * 2 * 16)
    return t


# ---------------------------------------------------------------------------------------------
# model kinds -> files
# ---------------------------------------------------------------------------------------------
def make_sd15(out):
    """SD1.5 single-file checkpoint (LDM/"original" naming) as F16 safetensors."""
    t = unet_tensors("sd1") + clip_text_tensors("L", "cond_stage_model.transformer.") + vae_tensors()
    return {"sd15_f16.safetensors": write_safetensors(os.path.join(out, "sd15_f16.safetensors"), t)}


def make_sd15_q8(out):
    """Same SD1.5 checkpoint as GGUF: 2-D weights Q8_0, biases/norms F32, convs F16."""
    t = unet_tensors("sd1") + clip_text_tensors("L", "cond_stage_model.transformer.") + vae_tensors()
    return {"sd15_q8_0.gguf": write_gguf(os.path.join(out, "sd15_q8_0.gguf"), t, "Q8_0")}


def make_sd21(out):
    t = unet_tensors("sd2") + clip_text_tensors("H", "cond_stage_model.transformer.") + vae_tensors()
    return {"sd21_f16.safetensors": write_safetensors(os.path.join(out, "sd21_f16.safetensors"), t)}


def make_sdxl(out):
    """SDXL base: UNet + CLIP-L (cond_stage_model.transformer.) + CLIP-G (cond_stage_model.1.transformer.)."""
    t = (unet_tensors("sdxl") + clip_text_tensors("L", "cond_stage_model.transformer.")
         + clip_text_tensors("G", "cond_stage_model.1.transformer.") + vae_tensors())
    return {"sdxl_f16.safetensors": write_safetensors(os.path.join(out, "sdxl_f16.safetensors"), t)}


def make_flux(out, double=1, single=1):
    """FLUX.1-dev-shaped DiT with `double`+`single` blocks (real width 3072), CLIP-L, 16-ch VAE."""
    r = {}
    name = f"flux_d{double}s{single}_f16.safetensors"
    r[name] = write_safetensors(os.path.join(out, name), flux_tensors(double, single))
    r["clip_l_f16.safetensors"] = write_safetensors(os.path.join(out, "clip_l_f16.safetensors"),
                                                    clip_text_tensors("L", ""))
    r["ae_f16.safetensors"] = write_safetensors(os.path.join(out, "ae_f16.safetensors"),
                                                vae_tensors("", z=16, use_quant=False))
    return r


def make_t5(out):
    """Full T5-XXL encoder (sd.cpp does not infer its depth): F16 safetensors (sparse, ~9.5 GB
    apparent) and a Q8_0 GGUF."""
    t = t5_tensors()
    return {"t5xxl_f16.safetensors": write_safetensors(os.path.join(out, "t5xxl_f16.safetensors"), t),
            "t5xxl_q8_0.gguf": write_gguf(os.path.join(out, "t5xxl_q8_0.gguf"), t, "Q8_0")}


def make_sd35(out, depth=24, n_self_attn=13):
    """SD3.5-medium-shaped MMDiT-X (mmdit.hpp).  The depth can NOT be reduced: MMDiT starts from
    depth = 24 and only raises it from the joint_blocks.N names, and hidden = 64*depth.  SD3.5
    medium: depth 24, qk_norm rms, attn2 (MMDiT-X) in blocks 0..12 -> pos_embed 384x384 patches.
    Plus a CLIP-G text encoder (CLIP-L and the 16-channel VAE come from make_flux)."""
    r = {}
    name = f"sd35_depth{depth}_f16.safetensors"
    r[name] = write_safetensors(os.path.join(out, name),
                                mmdit_tensors(depth, pos_max=384 if n_self_attn else 192,
                                              x_block_self_attn=range(n_self_attn)))
    r["clip_g_f16.safetensors"] = write_safetensors(os.path.join(out, "clip_g_f16.safetensors"),
                                                    clip_text_tensors("G", ""))
    return r


def make_sd_vae(out):
    """Standalone 4-channel SD/SDXL VAE (--vae), e.g. sdxl_vae.safetensors."""
    return {"sd_vae_f16.safetensors": write_safetensors(os.path.join(out, "sd_vae_f16.safetensors"), vae_tensors(""))}


def make_flux_d2s2(out):
    """FLUX with 2 double + 2 single blocks: checks that the compute buffer does not grow with depth."""
    return {"flux_d2s2_f16.safetensors": write_safetensors(os.path.join(out, "flux_d2s2_f16.safetensors"),
                                                           flux_tensors(2, 2))}


KINDS = {"flux22": make_flux_d2s2, "sdvae": make_sd_vae, "sd15": make_sd15, "sd15q8": make_sd15_q8, "sd21": make_sd21, "sdxl": make_sdxl,
         "flux": make_flux, "t5": make_t5, "sd35": make_sd35}

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/sdval/models"
    kinds = sys.argv[2:] or ["sd15", "flux"]
    os.makedirs(out, exist_ok=True)
    for k in kinds:
        for f, n in KINDS[k](out).items():
            print(f"{k}: {f} {n / 2**20:.1f} MiB")
