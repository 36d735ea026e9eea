//! Archives written by the `zip` crate (an independent writer), laid out as llamafile's are: an
//! executable stub, then the archive with the GGUF stored and aligned.

use std::io::{Cursor as IoCursor, Write};

use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

use super::*;
use crate::gguf::build::GgufBuilder;
use crate::source::{MemSource, Slice};

const STUB: &[u8] =
    b"MZqFpD='\n\n#!/bin/sh\n# an Actually Portable Executable's shell stub\nexit 1\n";

/// `stub`, then a zip archive of `members` (name, bytes, method) written after it, so offsets
/// count from the file's start as llamafile's zipalign writes them.
fn llamafile_bytes(members: &[(&str, &[u8], CompressionMethod)], large: bool) -> Vec<u8> {
    let mut io = IoCursor::new(Vec::new());
    io.write_all(STUB).unwrap();
    let mut z = zip::ZipWriter::new(io);
    for (name, bytes, method) in members {
        let o = SimpleFileOptions::default()
            .compression_method(*method)
            .with_alignment(4096)
            .large_file(large);
        z.start_file(*name, o).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

/// The archive's end rewritten as an archive past 4 GiB has it: a ZIP64 end record and its
/// locator, and the classic end record's fields all ones.
fn with_zip64_end(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = bytes.len();
    let eocd = bytes.split_off(n - 22);
    let entries = u64::from(u16::from_le_bytes([eocd[10], eocd[11]]));
    let cd_size = u64::from(u32::from_le_bytes(eocd[12..16].try_into().unwrap()));
    let cd_offset = u64::from(u32::from_le_bytes(eocd[16..20].try_into().unwrap()));
    let at = bytes.len() as u64;
    bytes.extend_from_slice(&ZIP64_EOCD_SIG.to_le_bytes());
    bytes.extend_from_slice(&44u64.to_le_bytes());
    bytes.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    for v in [entries, entries, cd_size, cd_offset] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes.extend_from_slice(&ZIP64_LOCATOR_SIG.to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(&at.to_le_bytes());
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&EOCD_SIG.to_le_bytes());
    bytes.extend_from_slice(&[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
    bytes.extend_from_slice(&[0xFF; 8]);
    bytes.extend_from_slice(&[0, 0]);
    bytes
}

fn args_member() -> &'static [u8] {
    b"-m\nmodel.gguf\n--host\n0.0.0.0\n-c\n8192\n...\n"
}

#[test]
fn finds_the_stored_gguf_and_its_args() {
    let gguf = GgufBuilder::tiny_llama().file();
    for large in [false, true] {
        let bytes = llamafile_bytes(
            &[
                ("model.gguf", &gguf, CompressionMethod::Stored),
                (".args", args_member(), CompressionMethod::Stored),
            ],
            large,
        );
        let bytes = if large { with_zip64_end(bytes) } else { bytes };
        // With `large_file` the writer puts ZIP64 fields in the entries (what a >4 GiB model
        // needs), which the reader must resolve.
        let cd = (0..bytes.len() - 4)
            .find(|&i| bytes[i..i + 4] == CENTRAL_SIG.to_le_bytes())
            .unwrap();
        assert_eq!(bytes[cd + 20..cd + 24] == [0xFF; 4], large, "ZIP64 sizes");
        let mut src = MemSource::new("tiny.llamafile", bytes.clone());
        let lf = read(&mut src).unwrap();
        assert_eq!(lf.gguf.name, "model.gguf");
        assert_eq!(lf.gguf.size, gguf.len() as u64);
        let at = usize::try_from(lf.gguf.offset).unwrap();
        assert_eq!(&bytes[at..at + gguf.len()], &gguf[..], "zip64: {large}");
        assert_eq!(at % 4096, 0, "zipalign aligns the weights");
        assert_eq!(
            lf.args,
            ["-m", "model.gguf", "--host", "0.0.0.0", "-c", "8192"]
        );
        assert!(lf.mmproj.is_none());
        // The window reads as the GGUF itself.
        let mut slice = Slice::new(
            Box::new(MemSource::new("tiny.llamafile", bytes)),
            lf.gguf.offset,
            lf.gguf.size,
            "tiny.llamafile".into(),
        );
        let h = crate::gguf::read_gguf(&mut slice).unwrap();
        assert!(h.get("general.architecture").is_some());
    }
}

/// An archive concatenated after the stub (`cat stub model.zip`), whose offsets count from the
/// archive's own start, is found too.
#[test]
fn offsets_relative_to_the_archive_are_found() {
    let gguf = GgufBuilder::tiny_llama().file();
    let mut z = zip::ZipWriter::new(IoCursor::new(Vec::new()));
    z.start_file(
        "m.gguf",
        SimpleFileOptions::default().compression_method(CompressionMethod::Stored),
    )
    .unwrap();
    z.write_all(&gguf).unwrap();
    let archive = z.finish().unwrap().into_inner();
    let mut bytes = STUB.to_vec();
    bytes.extend_from_slice(&archive);
    let lf = read(&mut MemSource::new("cat.llamafile", bytes.clone())).unwrap();
    let at = usize::try_from(lf.gguf.offset).unwrap();
    assert_eq!(&bytes[at..at + gguf.len()], &gguf[..]);
}

#[test]
fn a_projector_is_not_taken_for_the_model() {
    let gguf = GgufBuilder::tiny_llama().file();
    let big = vec![7u8; gguf.len() * 3];
    let bytes = llamafile_bytes(
        &[
            ("mmproj-f16.gguf", &big, CompressionMethod::Stored),
            ("llava.gguf", &gguf, CompressionMethod::Stored),
        ],
        false,
    );
    let lf = read(&mut MemSource::new("v.llamafile", bytes)).unwrap();
    assert_eq!(lf.gguf.name, "llava.gguf");
    assert_eq!(
        lf.mmproj.map(|m| m.name).as_deref(),
        Some("mmproj-f16.gguf")
    );
}

fn err(bytes: Vec<u8>) -> String {
    read(&mut MemSource::new("x.llamafile", bytes))
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_files_are_named_with_what_is_wrong() {
    let gguf = GgufBuilder::tiny_llama().file();
    // Not an archive at all.
    let e = err(STUB.to_vec());
    assert!(
        e.contains("x.llamafile") && e.contains("no zip archive"),
        "{e}"
    );
    assert!(err(Vec::new()).contains("no zip archive"));
    // An archive without a model.
    let e = err(llamafile_bytes(
        &[(".args", args_member(), CompressionMethod::Stored)],
        false,
    ));
    assert!(e.contains("no .gguf model") && e.contains(".args"), "{e}");
    // A compressed model cannot be mapped (the directory's method field set to deflate, 8).
    let mut bytes = llamafile_bytes(&[("m.gguf", &gguf, CompressionMethod::Stored)], false);
    let cd = (0..bytes.len() - 4)
        .rev()
        .find(|&i| bytes[i..i + 4] == CENTRAL_SIG.to_le_bytes())
        .unwrap();
    bytes[cd + 10] = 8;
    let e = err(bytes);
    assert!(e.contains("compressed (zip method 8)"), "{e}");
    // A directory pointing past the end.
    let mut bytes = llamafile_bytes(&[("m.gguf", &gguf, CompressionMethod::Stored)], false);
    let n = bytes.len();
    bytes[n - 10..n - 6].copy_from_slice(&u32::MAX.to_le_bytes()); // central directory size
    let e = err(bytes);
    assert!(e.contains("central directory"), "{e}");
}

/// The archive's end truncated, or any byte of its directory changed: an error or a member inside
/// the file, never a panic or a read past the end.
#[test]
fn damaged_directories_never_panic() {
    let gguf = GgufBuilder::tiny_llama().file();
    let bytes = with_zip64_end(llamafile_bytes(
        &[("m.gguf", &gguf, CompressionMethod::Stored)],
        true,
    ));
    let n = bytes.len();
    for cut in [1, 10, 22, 60, 120] {
        let _ = read(&mut MemSource::new("t", bytes[..n - cut].to_vec()));
    }
    for i in (n.saturating_sub(400)..n).step_by(3) {
        for v in [0u8, 0xFF, 0x7F] {
            let mut b = bytes.clone();
            b[i] = v;
            if let Ok(lf) = read(&mut MemSource::new("t", b)) {
                assert!(lf.gguf.offset + lf.gguf.size <= n as u64);
            }
        }
    }
}

#[test]
fn the_window_never_reads_outside_itself() {
    let data: Vec<u8> = (0..100u8).collect();
    let mut s = Slice::new(Box::new(MemSource::new("m", data)), 90, 50, "w".into());
    assert_eq!(s.len(), 10);
    assert_eq!(s.read_at(5, 100).unwrap(), (95..100).collect::<Vec<u8>>());
    assert!(s.read_at(500, 4).unwrap().is_empty());
}
