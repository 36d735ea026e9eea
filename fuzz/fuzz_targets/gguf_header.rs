//! Any bytes given to the GGUF header parser (and the spec built from it) must produce a value or
//! an error: no panic, no hang, no allocation sized by the input. A spec that parses is then
//! estimated on a CPU-only machine (which replays the compute graph) and a one-GPU machine.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmrig_core::estimate::{estimate, GpuLayers, Settings};
use llmrig_core::system::{CpuSpec, DeviceKind, DeviceSpec, SystemSpec};

mod mem;

fuzz_target!(|data: &[u8]| {
    let mut src = mem::Mem(data);
    let Ok(h) = llmrig_formats::gguf::read_gguf(&mut src) else {
        return;
    };
    let Ok(m) = llmrig_formats::gguf::model_from_gguf("fuzz", &[h]) else {
        return;
    };
    let cpu = CpuSpec {
        name: "cpu".into(),
        ram_bytes: 64 << 30,
        bandwidth_bytes_per_s: 80e9,
        flops: 1e12,
        cores: 8,
        ..CpuSpec::default()
    };
    let gpu = DeviceSpec {
        name: "gpu".into(),
        kind: DeviceKind::Gpu,
        memory_bytes: 24 << 30,
        bandwidth_bytes_per_s: 1e12,
        fp16_flops: 1e14,
        int8_ops: 4e14,
        ..DeviceSpec::default()
    };
    let s = Settings {
        ctx: Some(2048),
        gpu_layers: GpuLayers::Auto,
        ..Settings::default()
    };
    for gpus in [Vec::new(), vec![gpu]] {
        let sys = SystemSpec { gpus, cpu: cpu.clone(), ..SystemSpec::default() };
        let _ = estimate(&m.weights, &sys, &s);
    }
});
