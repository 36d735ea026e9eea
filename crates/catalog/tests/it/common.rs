//! Helpers shared by the calibration tests.

use llmrig_core::estimate::{estimate, Estimate, ModelWeights, Settings};
use llmrig_core::model::ModelSpec;
use llmrig_core::quant::Quant;
use llmrig_core::system::{CpuSpec, DeviceKind, DeviceSpec, GpuApi, SystemSpec};

pub const MIB: f64 = 1048576.0;

pub fn spec(id: &str) -> ModelSpec {
    llmrig_catalog::models()
        .find(id)
        .unwrap_or_else(|e| panic!("{e}"))
        .spec
        .clone()
}

pub fn weights(spec: &ModelSpec, quant: &str) -> ModelWeights {
    ModelWeights::new(spec, Quant::parse(quant).unwrap())
}

/// A machine big enough that nothing is constrained: one CUDA GPU (or none) and plenty of RAM.
pub fn machine(gpus: usize) -> SystemSpec {
    let gpu = DeviceSpec {
        name: "test GPU".into(),
        kind: DeviceKind::Gpu,
        memory_bytes: 1 << 40,
        bandwidth_bytes_per_s: 1e12,
        fp16_flops: 1e14,
        int8_ops: 2e14,
        fp16_acc16_flops: 0.0,
        api: GpuApi::Cuda,
        memory_tech: llmrig_core::system::MemoryTech::Gddr,
        ..DeviceSpec::default()
    };
    SystemSpec {
        gpus: vec![gpu; gpus],
        cpu: CpuSpec {
            name: "test CPU".into(),
            ram_bytes: 1 << 42,
            bandwidth_bytes_per_s: 1e11,
            flops: 1e12,
            cores: 16,
            ..CpuSpec::default()
        },
        ..SystemSpec::default()
    }
}

pub fn run(w: &ModelWeights, sys: &SystemSpec, s: &Settings) -> Estimate {
    estimate(w, sys, s).unwrap_or_else(|e| panic!("{e}"))
}

/// Asserts `got` bytes equals `want` MiB within `tol` MiB, naming the source row.
pub fn assert_mib(got: u64, want: f64, tol: f64, what: &str) {
    let g = got as f64 / MIB;
    assert!(
        (g - want).abs() <= tol,
        "{what}: predicted {g:.3} MiB, logged {want:.2} MiB (tolerance {tol} MiB)"
    );
}
