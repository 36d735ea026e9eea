//! Writes seed inputs for the fuzz targets (`fuzz/run.sh`): valid small GGUF files in each version
//! and byte order, a valid safetensors header, and small llamafiles (a stub, then a zip archive
//! storing a GGUF and `.args`, with and without ZIP64 fields).

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
    let lf = dir.join("llamafile");
    std::fs::create_dir_all(&lf)?;
    for large in [false, true] {
        use std::io::Write;
        let mut io = std::io::Cursor::new(b"MZqFpD='\n#!/bin/sh\nexit 1\n".to_vec());
        io.set_position(io.get_ref().len() as u64);
        let mut z = zip::ZipWriter::new(io);
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .with_alignment(64)
            .large_file(large);
        let ok = |e: zip::result::ZipError| std::io::Error::other(e.to_string());
        z.start_file("m.gguf", o).map_err(ok)?;
        z.write_all(&GgufBuilder::tiny_llama().file())?;
        z.start_file(".args", o).map_err(ok)?;
        z.write_all(b"-m\nm.gguf\n...\n")?;
        let bytes = z.finish().map_err(ok)?.into_inner();
        std::fs::write(lf.join(format!("seed-{large}.llamafile")), bytes)?;
    }
    Ok(())
}
