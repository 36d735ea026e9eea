//! Any bytes given to the `.llamafile` reader (the zip directory at the end of an executable) must
//! produce a member inside the file or an error: no panic, no hang, no allocation sized by the
//! input. A member found is then read as a GGUF through the window over it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmrig_formats::{ByteSource, MemSource, Slice};

mod mem;

fuzz_target!(|data: &[u8]| {
    let mut src = mem::Mem(data);
    let Ok(lf) = llmrig_formats::llamafile::read(&mut src) else {
        return;
    };
    assert!(lf.gguf.offset.checked_add(lf.gguf.size).is_some_and(|e| e <= data.len() as u64));
    let mut window = Slice::new(
        Box::new(MemSource::new("fuzz", data.to_vec())),
        lf.gguf.offset,
        lf.gguf.size,
        "fuzz".into(),
    );
    assert_eq!(window.len(), lf.gguf.size);
    let _ = llmrig_formats::gguf::read_gguf(&mut window);
});
