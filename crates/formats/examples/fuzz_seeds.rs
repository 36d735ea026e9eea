//! Writes seed inputs for the fuzz targets (`fuzz/run.sh`): valid small GGUF files in each version
//! and byte order, and a valid safetensors header.

use llmrig_formats::gguf::build::GgufBuilder;

fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));
    let gguf = dir.join("gguf_header");
    let st = dir.join("safetensors_header");
    std::fs::create_dir_all(&gguf)?;
    std::fs::create_dir_all(&st)?;
    for version in 1..=3 {
        for big_endian in [false, true] {
            let mut b = GgufBuilder::tiny_llama();
            b.version = version;
            b.big_endian = big_endian;
            std::fs::write(
                gguf.join(format!("tiny-v{version}-{big_endian}.gguf")),
                b.file(),
            )?;
        }
    }
    let header = r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend([0u8; 12]);
    std::fs::write(st.join("seed.safetensors"), bytes)?;
    Ok(())
}
