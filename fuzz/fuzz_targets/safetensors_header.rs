//! Any bytes given to the safetensors header parser must produce a value or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod mem;

fuzz_target!(|data: &[u8]| {
    let mut src = mem::Mem(data);
    let _ = llmrig_formats::safetensors::read_safetensors(&mut src);
});
