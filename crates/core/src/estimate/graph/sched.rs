//! `ggml_backend_sched` replayed: which backend runs each op of the graph when layers, weights
//! and caches sit on a GPU and the CPU, the copies between them, and ggml-alloc over the result.
//! This is what sizes llama.cpp's `CUDA0 compute` and `CUDA_Host compute` buffers
//! (`ggml_backend_sched_split_graph` in ggml/src/ggml-backend.cpp at the commit the validation
//! harness builds):
//!
//! 1. graph inputs run on the CPU; an op that writes into the KV cache runs where the cache is; an
//!    op that reads a weight runs where the weight is (its first weight source; RoPE and flash
//!    attention are not placed by theirs), unless the weight is in host memory and a GPU takes the
//!    op (`op_offload`: ggml-cuda offloads an op whose batch is 32 or more, never `GET_ROWS`);
//!    llama.cpp pins each layer's `norm` to the layer's device when the batch is under 32 or every
//!    layer is offloaded;
//! 2. the GPU's assignments spread to unassigned neighbours, down then up, then any backend's;
//! 3. still unassigned ops go to the backend holding most of their sources; views follow their
//!    source;
//! 4. the graph is cut into splits where the backend changes, and before an op whose weight must
//!    be copied when the split already has inputs (so copied weights are freed split by split);
//!    every source from another backend gets one copy in the consumer's backend, allocated at the
//!    start of the split that first needs it;
//! 5. ggml-cuda's graph optimiser keeps some MoE tensors alive for fused kernels (the top-k router
//!    and the weighted expert sum), and flash attention over a quantized cache allocates f16 copies
//!    of K and V next to its result.
//!
//! Then ggml-alloc allocates the scheduler's copy of the graph (per split: the inputs' copies, then
//! the split's ops), each tensor in its backend's buffer.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::alloc::{pool_len, replay, Item, Seq, Slot, CPU_ALIGN};
use super::ir::{Graph, Kind, Op, W};

/// A device: `Some(gpu)` or `None` for the CPU.
pub type Dev = Option<usize>;

/// The run's layout, as the scheduler sees it.
pub struct Layout<'a> {
    /// GPUs (the CPU is the last backend, the lowest priority).
    pub n_gpu: usize,
    /// Device of each layer's ops that `norm` is pinned to.
    pub layer_dev: &'a dyn Fn(u32) -> Dev,
    /// Device of each layer's KV cache.
    pub kv_dev: &'a dyn Fn(u32) -> Dev,
    /// Where the weights are.
    pub weights: &'a WeightTable,
    /// The K and V views attention reads for a layer, bytes as stored.
    pub kv_view_bytes: &'a dyn Fn(u32) -> (u64, u64),
    /// Extra bytes CUDA's flash attention allocates beside its result for a layer: f16 copies of
    /// a quantized K and V (`ggml_cuda_flash_attn_ext_get_alloc_size`).
    pub fattn_extra: &'a dyn Fn(u32) -> u64,
    /// Tokens in the ubatch the graph is reserved for.
    pub n_tokens: u64,
    /// `op_offload` (on unless `--no-op-offload`).
    pub op_offload: bool,
    /// Every block on a GPU (`n_gpu_layers > n_layer`).
    pub full_offload: bool,
    /// ggml-cuda's MoE fusions keep their tensors alive (CUDA and ROCm).
    pub cuda_fusions: bool,
    /// GPU buffer alignment (128 on CUDA).
    pub gpu_align: u64,
}

/// FNV-1a: the scheduler's maps are keyed by short names and small integers, where SipHash's
/// DoS resistance buys nothing and costs most of the replay's time.
#[derive(Default)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A `HashMap` with [`Fnv`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// Most sources one op has here: four of its own, a weight, K and V.
const MAX_SRCS: usize = 8;

/// Every weight the graph reads: its device and the bytes a copy of it takes on a GPU, by layer
/// and [`W`].
#[derive(Debug, Clone, Default)]
pub struct WeightTable {
    /// Row 0: the model's global tensors; row `1 + il`: layer `il`'s.
    rows: Vec<[Option<(Dev, u64)>; W::ALL.len()]>,
}

impl WeightTable {
    /// An empty table for `n_layer` layers.
    #[must_use]
    pub fn new(n_layer: u32) -> WeightTable {
        WeightTable {
            rows: vec![[None; W::ALL.len()]; n_layer as usize + 1],
        }
    }

    /// Records a tensor (`layer` `None` for a global one).
    pub fn set(&mut self, layer: Option<u32>, w: W, dev: Dev, bytes: u64) {
        let row = layer.map_or(0, |il| il as usize + 1);
        if let Some(r) = self.rows.get_mut(row) {
            r[w.index()] = Some((dev, bytes));
        }
    }

    /// The tensor `w` read by an op of layer `layer` (-1: none); global tensors are found from
    /// any layer.
    #[must_use]
    pub fn get(&self, layer: i32, w: W) -> Option<(Dev, u64)> {
        let row = if w.global() {
            0
        } else {
            usize::try_from(layer + 1).ok()?
        };
        self.rows.get(row)?[w.index()]
    }
}

/// Ops with a batch of at least this many rows are offloaded (GGML_OP_OFFLOAD_MIN_BATCH).
const OFFLOAD_MIN_BATCH: u64 = 32;

/// What the scheduler knows of one tensor.
#[derive(Clone)]
struct T {
    /// Backend: GPU index, `n_gpu` for the CPU, `None` while unassigned.
    be: Option<usize>,
    /// A weight or cache: memory of its own, never allocated here.
    external: bool,
    weight: bool,
    bytes: u64,
    view_of: Option<usize>,
    srcs: Srcs,
}

/// A few sources, without an allocation.
#[derive(Clone, Copy, Default)]
struct Srcs {
    ids: [usize; MAX_SRCS],
    len: usize,
}

impl Srcs {
    fn push(&mut self, id: usize) {
        if self.len < MAX_SRCS {
            self.ids[self.len] = id;
            self.len += 1;
        }
    }

    fn extend(&mut self, ids: impl IntoIterator<Item = usize>) {
        for id in ids {
            self.push(id);
        }
    }

    fn as_slice(&self) -> &[usize] {
        &self.ids[..self.len]
    }
}

/// The replay's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sched {
    /// The compute buffer of each GPU, then of the host (`CUDA_Host`), bytes.
    pub buffers: Vec<u64>,
    /// Graph splits, as llama.cpp logs them (`sched_reserve: graph: ... splits = N`).
    pub splits: usize,
}

/// Replays the scheduler and the allocator over `g`.
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn compute_bytes(g: &Graph, lay: &Layout) -> Sched {
    let n = g.tensors.len();
    let cpu = lay.n_gpu;
    let dev = |d: Dev| d.unwrap_or(cpu);
    let mut ts: Vec<T> = Vec::with_capacity(n + n / 2);
    ts.extend(g.tensors.iter().map(|t| T {
        be: None,
        external: t.kind == Kind::External,
        weight: false,
        bytes: t.bytes(),
        view_of: match t.kind {
            Kind::View(r) => Some(r),
            _ => None,
        },
        srcs: Srcs::default(),
    }));
    // Weights and cache views become tensors of their own, so that they can be copied.
    // Keys: (row, slot): weights at row `1 + layer` (0 for globals, `2 + n_layer + backend` for
    // rope_freqs, one per buffer), slot `W::index`; the cache at slot `W::ALL.len()` (K) and
    // one more (V).
    let n_rows = lay.weights.rows.len() + lay.n_gpu + 2;
    let slots = W::ALL.len() + 2;
    let mut extern_ids: Vec<usize> = vec![usize::MAX; n_rows * slots];
    let mut add_extern = |ts: &mut Vec<T>, key: (usize, usize), be: usize, bytes, weight| {
        let k = key.0 * slots + key.1;
        if extern_ids[k] != usize::MAX {
            return extern_ids[k];
        }
        ts.push(T {
            be: Some(be),
            external: true,
            weight,
            bytes,
            view_of: None,
            srcs: Srcs::default(),
        });
        extern_ids[k] = ts.len() - 1;
        ts.len() - 1
    };
    for &id in &g.nodes {
        let t = &g.tensors[id];
        let own = t
            .srcs
            .iter()
            .copied()
            .take_while(|&s| s != super::ir::NONE && s != 0);
        let mut srcs = Srcs::default();
        let w = t.weight.and_then(|wt| {
            let (d, b) = lay.weights.get(t.layer, wt)?;
            let row = if wt == W::RopeFreqs {
                // One rope_freqs tensor per buffer type serves every layer there
                // (TENSOR_DUPLICATED, llama-model-loader.cpp): it sits where the layer is.
                let d = u32::try_from(t.layer)
                    .ok()
                    .map_or(d, |il| (lay.layer_dev)(il));
                return Some(add_extern(
                    &mut ts,
                    (lay.weights.rows.len() + dev(d), wt.index()),
                    dev(d),
                    b,
                    true,
                ));
            } else if wt.global() {
                0
            } else {
                usize::try_from(t.layer + 1).unwrap_or(0)
            };
            Some(add_extern(&mut ts, (row, wt.index()), dev(d), b, true))
        });
        let mut kv = Srcs::default();
        if t.reads_kv {
            let il = u32::try_from(t.layer).unwrap_or(0);
            let (kb, vb) = (lay.kv_view_bytes)(il);
            let kd = dev((lay.kv_dev)(il));
            let row = il as usize + 1;
            let k = add_extern(&mut ts, (row, W::ALL.len()), kd, kb, false);
            let v = add_extern(&mut ts, (row, W::ALL.len() + 1), kd, vb, false);
            match t.name {
                "kq" => kv.push(k),
                "kqv" => kv.push(v),
                _ => kv.extend([k, v]),
            }
        }
        match t.op {
            Op::MulMat | Op::MulMatId | Op::GetRows => {
                srcs.extend(w);
                srcs.extend(kv.as_slice().iter().copied());
                srcs.extend(own);
            }
            _ => {
                let mut rest = own;
                srcs.extend(rest.next());
                srcs.extend(kv.as_slice().iter().copied());
                srcs.extend(rest);
                srcs.extend(w);
            }
        }
        ts[id].srcs = srcs;
    }
    let is_view = |ts: &[T], id: usize| ts[id].view_of.is_some();

    // Pass 1: inputs, ops writing into the cache, ops reading weights, pinned norms.
    for &id in &g.leafs {
        ts[id].be = Some(cpu);
    }
    let n_tokens = lay.n_tokens;
    for &id in &g.nodes {
        let t = &g.tensors[id];
        if is_view(&ts, id) {
            continue;
        }
        let layer = u32::try_from(t.layer).ok();
        if t.op == Op::KvStore {
            ts[id].be = Some(dev((lay.kv_dev)(layer.unwrap_or(0))));
            continue;
        }
        if let (Some(il), "norm") = (layer, t.name) {
            if n_tokens < OFFLOAD_MIN_BATCH || lay.full_offload {
                ts[id].be = Some(dev((lay.layer_dev)(il)));
                continue;
            }
        }
        if matches!(t.op, Op::Rope | Op::FlashAttn) {
            continue;
        }
        if let Some(&w) = ts[id].srcs.as_slice().iter().find(|&&s| ts[s].weight) {
            let wb = ts[w].be.unwrap_or(cpu);
            ts[id].be = Some(
                if wb == cpu && lay.op_offload && lay.n_gpu > 0 && t.batch() >= OFFLOAD_MIN_BATCH {
                    0
                } else {
                    wb
                },
            );
        }
    }
    // Pass 2: expand GPU assignments down and up (skipping the CPU), then any backend's.
    let order: Vec<usize> = g
        .nodes
        .iter()
        .copied()
        .filter(|&id| !is_view(&ts, id))
        .collect();
    for (rev, gpu_only) in [(false, true), (true, true), (false, false), (true, false)] {
        let mut cur: Option<usize> = None;
        let seq: Box<dyn Iterator<Item = &usize>> = if rev {
            Box::new(order.iter().rev())
        } else {
            Box::new(order.iter())
        };
        for &id in seq {
            match ts[id].be {
                Some(b) if gpu_only && b == cpu => cur = None,
                Some(b) => cur = Some(b),
                None => ts[id].be = cur,
            }
        }
    }
    // Pass 3: what is still unassigned goes where most of its sources are (GPU first on a tie).
    for &id in &order {
        if ts[id].be.is_some() {
            continue;
        }
        let home = |ts: &[T], s: usize| ts[s].be.or_else(|| ts[s].view_of.and_then(|r| ts[r].be));
        let mut best = (0, 0usize);
        for b in 0..=cpu {
            let k = ts[id]
                .srcs
                .as_slice()
                .iter()
                .filter(|&&s| home(&ts, s) == Some(b))
                .count();
            if b == 0 || k > best.0 {
                best = (k, b);
            }
        }
        ts[id].be = Some(best.1);
    }
    // Pass 4: views follow their source.
    for &id in &g.nodes {
        if let Some(r) = ts[id].view_of {
            ts[id].be = ts[r].be.or(Some(cpu));
        }
    }

    // Pass 5: splits, and copies of sources from other backends.
    struct Split {
        be: usize,
        start: usize,
        inputs: Vec<usize>,
    }
    let mut splits: Vec<Split> = Vec::new();
    // (source, backend) → copy id, and the copies in the order they were made.
    let mut copy_of: FastMap<(usize, usize), usize> =
        FastMap::with_capacity_and_hasher(n / 2, BuildHasherDefault::default());
    let mut copies: Vec<((usize, usize), usize)> = Vec::new();
    let mut n_copies = 0usize;
    let n0 = ts.len();
    let first = order.first().map_or(cpu, |&id| ts[id].be.unwrap_or(cpu));
    splits.push(Split {
        be: first,
        start: 0,
        inputs: Vec::new(),
    });
    for (pos, &id) in g.nodes.iter().enumerate() {
        if is_view(&ts, id) {
            continue;
        }
        let be = ts[id].be.unwrap_or(cpu);
        let cur = splits.last().map_or(cpu, |s| s.be);
        let weight_elsewhere = ts[id]
            .srcs
            .as_slice()
            .iter()
            .any(|&s| ts[s].weight && ts[s].be != Some(be));
        let has_inputs = splits.last().is_some_and(|s| !s.inputs.is_empty());
        if be != cur || (weight_elsewhere && has_inputs) {
            splits.push(Split {
                be,
                start: pos,
                inputs: Vec::new(),
            });
        }
        let mut new_srcs = Srcs::default();
        for k in 0..ts[id].srcs.len {
            let s = ts[id].srcs.ids[k];
            let home = ts[s].be.unwrap_or(cpu);
            if home == be {
                new_srcs.push(s);
                continue;
            }
            let c = if let Some(&c) = copy_of.get(&(s, be)) {
                c
            } else {
                let c = n0 + n_copies;
                n_copies += 1;
                copy_of.insert((s, be), c);
                copies.push(((s, be), c));
                if let Some(sp) = splits.last_mut() {
                    sp.inputs.push(s);
                }
                c
            };
            new_srcs.push(c);
        }
        ts[id].srcs = new_srcs;
    }

    // The allocator's graph: inputs first, then per split the copies of its inputs, then its ops
    // (with ggml-cuda's keep-alive dependencies after the ops they wait for).
    let buffer_of = |be: usize| if be == cpu { lay.n_gpu } else { be };
    let mut items: Vec<Item> = Vec::with_capacity(n0 + n_copies * 2 + 64);
    let mut pool: Vec<usize> = Vec::with_capacity(n0 * 2);
    let add_srcs = |pool: &mut Vec<usize>, ids: &[usize]| {
        let start = pool_len(pool);
        pool.extend_from_slice(ids);
        (start, pool_len(pool))
    };
    for (id, t) in ts.iter().enumerate() {
        let (slot, inplace, output, layout) = if id < n {
            let gt = &g.tensors[id];
            let slot = match gt.kind {
                Kind::External => Slot::External,
                Kind::Input | Kind::Op => Slot::Owned,
                Kind::View(r) => Slot::View(r),
            };
            (slot, gt.inplace, gt.output, (gt.ne, gt.esize))
        } else {
            (Slot::External, false, false, ([0; 4], 0))
        };
        let be = t.be.unwrap_or(cpu);
        let mut bytes = t.bytes;
        if id < n && g.tensors[id].op == Op::FlashAttn && be != cpu {
            let il = u32::try_from(g.tensors[id].layer).unwrap_or(0);
            let extra = (lay.fattn_extra)(il);
            if extra > 0 {
                bytes = bytes.div_ceil(128) * 128 + extra;
            }
        }
        items.push(Item {
            slot: if t.external { Slot::External } else { slot },
            bytes,
            buffer: buffer_of(be),
            inplace,
            output,
            layout,
            srcs: add_srcs(&mut pool, t.srcs.as_slice()),
        });
    }
    for &((s, be), c) in &copies {
        debug_assert_eq!(items.len(), c);
        // A copy has its source's layout (`ggml_dup_tensor_layout`), so ops may reuse it in place.
        let layout = if s < n {
            (g.tensors[s].ne, g.tensors[s].esize)
        } else {
            ([0; 4], 0)
        };
        items.push(Item {
            slot: Slot::Owned,
            bytes: ts[s].bytes,
            buffer: buffer_of(be),
            inplace: false,
            output: false,
            layout,
            srcs: (0, 0),
        });
    }
    let mut nodes: Vec<usize> = Vec::with_capacity(g.nodes.len() + copies.len() * 2);
    let deps = if lay.cuda_fusions {
        fusion_deps(g)
    } else {
        Vec::new()
    };
    let mut dep_at: FastMap<usize, Vec<usize>> = FastMap::default();
    for (k, (until, _)) in deps.iter().enumerate() {
        dep_at.entry(*until).or_default().push(k);
    }
    for (k, sp) in splits.iter().enumerate() {
        for &input in &sp.inputs {
            let c = copy_of.get(&(input, sp.be)).copied().unwrap_or(input);
            // The input stays alive until its copy is made.
            let srcs = add_srcs(&mut pool, &[input]);
            nodes.push(push_dep(&mut items, srcs));
            nodes.push(c);
        }
        let end = splits.get(k + 1).map_or(g.nodes.len(), |s| s.start);
        for &id in &g.nodes[sp.start..end] {
            nodes.push(id);
            if sp.be == cpu {
                continue;
            }
            for keep in dep_at.get(&id).into_iter().flatten().map(|&k| &deps[k].1) {
                if keep.iter().all(|&x| ts[x].be == Some(sp.be)) {
                    let srcs = add_srcs(&mut pool, keep);
                    nodes.push(push_dep(&mut items, srcs));
                }
            }
        }
    }
    let seq = Seq {
        items,
        srcs: pool,
        leafs: g.leafs.clone(),
        nodes,
    };
    let mut aligns = vec![lay.gpu_align; lay.n_gpu];
    aligns.push(CPU_ALIGN);
    Sched {
        buffers: replay(&seq, &aligns, None),
        splits: splits.len(),
    }
}

/// Adds a scheduler dependency node (a `GGML_OP_NONE` view keeping `srcs` alive until it runs)
/// and returns its id.
fn push_dep(items: &mut Vec<Item>, srcs: (u32, u32)) -> usize {
    items.push(Item {
        slot: Slot::Dep,
        bytes: 0,
        buffer: 0,
        inplace: false,
        output: false,
        layout: ([0; 4], 0),
        srcs,
    });
    items.len() - 1
}

/// The keep-alive dependencies ggml-cuda's `graph_optimize` adds for fusions it will run, as
/// (node after which they end, tensors kept): the top-k MoE router (softmax through the normalised
/// weights, kept until the next node) and the weighted sum of the experts (the expert outputs and
/// their weights, kept until the sum is done).
fn fusion_deps(g: &Graph) -> Vec<(usize, Vec<usize>)> {
    let mut deps = Vec::new();
    let nodes = &g.nodes;
    let name = |i: usize| g.tensors[nodes[i]].name;
    let srcs = |id: usize| {
        g.tensors[id]
            .srcs
            .iter()
            .copied()
            .take_while(|&s| s != super::ir::NONE && s != 0)
    };
    for i in 0..nodes.len() {
        match name(i) {
            // Softmax gating: probs, reshape, argsort, top-k view, selected weights, and the
            // normalisation when present; ggml-cuda fuses 2..=512 experts in powers of two.
            // A softmax: gpt-oss adds a bias there instead, which ggml-cuda does not fuse this way.
            "ffn_moe_probs" if g.tensors[nodes[i]].weight.is_none() => {
                let mut j = i + 1;
                while j < nodes.len()
                    && matches!(
                        name(j),
                        "ffn_moe_probs (reshaped)"
                            | "ffn_moe_argsort"
                            | "ffn_moe_topk"
                            | "ffn_moe_weights"
                            | "ffn_moe_weights (reshaped)"
                            | "ffn_moe_weights_sum"
                            | "ffn_moe_weights_sum_clamped"
                            | "ffn_moe_weights_norm"
                            | "ffn_moe_weights_norm (reshaped)"
                    )
                {
                    j += 1;
                }
                let n_exp = g.tensors[nodes[i]].ne[0];
                if j < nodes.len() && n_exp.is_power_of_two() && n_exp <= 512 {
                    let mut keep = Vec::new();
                    for &id in &nodes[i..j] {
                        keep.push(id);
                        keep.extend(srcs(id));
                    }
                    keep.dedup();
                    deps.push((nodes[j], keep));
                }
            }
            // experts · weights, then the per-expert views summed: 2..=15 experts.
            "ffn_moe_weighted" => {
                let used = g.tensors[nodes[i]].ne[1];
                if !(2..=15).contains(&used) {
                    continue;
                }
                let last = (i + 1..nodes.len())
                    .take_while(|&j| matches!(name(j), "ffn_moe_weighted (view)" | "ffn_moe_out"))
                    .last();
                if let Some(last) = last {
                    deps.push((nodes[last], srcs(nodes[i]).collect()));
                }
            }
            _ => {}
        }
    }
    deps
}
