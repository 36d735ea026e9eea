//! Any bytes given to the GGUF header parser (and the spec built from it) must produce a value or
//! an error: no panic, no hang, no allocation sized by the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod mem;

fuzz_target!(|data: &[u8]| {
    let mut src = mem::Mem(data);
    if let Ok(h) = llmrig_formats::gguf::read_gguf(&mut src) {
        let _ = llmrig_formats::gguf::model_from_gguf("fuzz", &[h]);
    }
});
