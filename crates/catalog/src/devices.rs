//! The device catalog: GPUs, unified-memory chips and RAM configurations with vendor specs.

use std::collections::HashMap;
use std::sync::OnceLock;

use llmrig_core::system::{DeviceKind, DeviceSpec, GpuApi};
use serde::Deserialize;

/// Lower-cases and unifies separators (device names contain `/`, so no org prefix is dropped).
fn normalize(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace(['_', ' '], "-")
}

const DEVICES_TOML: &str = include_str!("../data/devices.toml");

/// One device as the catalog describes it (vendor units: decimal GB, GB/s, TFLOP/s).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceEntry {
    /// Short id (`rtx-4090`).
    pub id: String,
    /// Full name.
    pub name: String,
    /// NVIDIA, AMD, Apple, Intel, generic.
    pub vendor: String,
    /// gpu, unified or cpu (a RAM configuration).
    pub kind: DeviceKind,
    /// Other names.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Memory as vendors state it, which for GPU and unified memory means GiB ("24 GB" on an RTX 4090
    /// is 24576 MiB; nvidia-smi shows 24564 MiB of it); the largest configuration for unified chips;
    /// absent for RAM configurations.
    #[serde(default)]
    pub memory_gb: Option<f64>,
    /// Peak memory bandwidth, GB/s.
    pub bandwidth_gbs: f64,
    /// Dense FP16/BF16 tensor rate with FP32 accumulate, TFLOP/s.
    #[serde(default)]
    pub fp16_tflops: Option<f64>,
    /// Dense INT8 rate, TOP/s.
    #[serde(default)]
    pub int8_tops: Option<f64>,
    /// Links (NVLink, PCIe).
    #[serde(default)]
    pub interconnect: Option<String>,
    /// Where the numbers come from.
    pub source: String,
}

impl DeviceEntry {
    /// The API llama.cpp normally uses on this device.
    #[must_use]
    pub fn usual_api(&self) -> GpuApi {
        match (self.kind, self.vendor.as_str()) {
            (DeviceKind::Cpu, _) => GpuApi::Cpu,
            (_, "Apple") => GpuApi::Metal,
            (_, "NVIDIA") => GpuApi::Cuda,
            (_, "AMD") => GpuApi::Rocm,
            (_, "Intel") => GpuApi::Sycl,
            _ => GpuApi::Vulkan,
        }
    }

    /// Catalog memory in bytes (GiB, see `memory_gb`).
    #[must_use]
    pub fn memory_bytes(&self) -> Option<u64> {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        self.memory_gb.map(|g| (g * 1_073_741_824.0) as u64)
    }

    /// A [`DeviceSpec`] with the catalog memory, or `memory_bytes` when given.
    #[must_use]
    pub fn to_spec(&self, memory_bytes: Option<u64>, api: Option<GpuApi>) -> DeviceSpec {
        let catalog_bytes = self.memory_bytes().unwrap_or(0);
        DeviceSpec {
            name: self.name.clone(),
            kind: self.kind,
            memory_bytes: memory_bytes.unwrap_or(catalog_bytes),
            bandwidth_bytes_per_s: self.bandwidth_gbs * 1e9,
            fp16_flops: self.fp16_tflops.unwrap_or(0.0) * 1e12,
            int8_ops: self.int8_tops.unwrap_or(0.0) * 1e12,
            api: api.unwrap_or_else(|| self.usual_api()),
            ..DeviceSpec::default()
        }
    }
}

#[derive(Deserialize)]
struct File {
    device: Vec<DeviceEntry>,
}

/// All catalog devices with an index of their names.
#[derive(Debug)]
pub struct DeviceCatalog {
    entries: Vec<DeviceEntry>,
    index: HashMap<String, usize>,
}

/// A device name that matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown device `{input}`: expected a catalog id such as rtx-4090, h100 or m2-max (see `llmrig devices`){}", llmrig_core::did_you_mean(.closest))]
pub struct DeviceError {
    /// What the user typed.
    pub input: String,
    /// The closest known names.
    pub closest: Vec<String>,
}

impl DeviceCatalog {
    fn parse(text: &str) -> Result<DeviceCatalog, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut index = HashMap::new();
        for (i, e) in file.device.iter().enumerate() {
            if !e.bandwidth_gbs.is_finite() || e.bandwidth_gbs <= 0.0 {
                return Err(format!("{}: bandwidth must be positive", e.id));
            }
            let mut names = vec![e.id.clone(), e.name.clone()];
            names.extend(e.aliases.iter().cloned());
            for n in names {
                if index.insert(normalize(&n), i).is_some_and(|j| j != i) {
                    return Err(format!("device name `{n}` is used twice"));
                }
            }
        }
        Ok(DeviceCatalog {
            entries: file.device,
            index,
        })
    }

    /// Every device.
    #[must_use]
    pub fn all(&self) -> &[DeviceEntry] {
        &self.entries
    }

    /// Looks a device up by id, name or alias (case-insensitive; a leading vendor word is optional).
    ///
    /// # Errors
    /// [`DeviceError`] with the closest names.
    pub fn find(&self, name: &str) -> Result<&DeviceEntry, DeviceError> {
        let key = normalize(name);
        let mut tries = vec![key.clone()];
        for prefix in [
            "nvidia-geforce-",
            "nvidia-",
            "geforce-",
            "amd-radeon-",
            "radeon-",
            "amd-",
            "apple-",
            "intel-arc-",
        ] {
            if let Some(k) = key.strip_prefix(prefix) {
                tries.push(k.to_string());
            }
        }
        for t in &tries {
            if let Some(&i) = self.index.get(t) {
                return Ok(&self.entries[i]);
            }
        }
        Err(DeviceError {
            input: name.to_string(),
            closest: llmrig_core::closest(&key, self.entries.iter().map(|e| e.id.as_str()), 3),
        })
    }
}

/// The embedded device catalog, parsed on first use.
///
/// # Panics
/// If the embedded data is invalid, which the catalog tests rule out.
pub fn devices() -> &'static DeviceCatalog {
    static CATALOG: OnceLock<DeviceCatalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        DeviceCatalog::parse(DEVICES_TOML).unwrap_or_else(|e| panic!("embedded devices.toml: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_devices_parse() {
        let c = DeviceCatalog::parse(DEVICES_TOML).unwrap();
        assert!(c.all().len() >= 60);
        for e in c.all() {
            if e.kind != DeviceKind::Cpu {
                assert!(e.memory_gb.unwrap_or(0.0) > 0.0, "{} has no memory", e.id);
            }
        }
    }

    #[test]
    fn common_names_resolve() {
        let c = devices();
        assert_eq!(c.find("rtx-4090").unwrap().memory_gb, Some(24.0));
        assert_eq!(c.find("RTX 4090").unwrap().id, "rtx-4090");
        assert_eq!(c.find("NVIDIA GeForce RTX 4090").unwrap().id, "rtx-4090");
        assert_eq!(c.find("h100").unwrap().id, "h100-sxm-80gb");
        assert_eq!(c.find("m2-max").unwrap().kind, DeviceKind::Unified);
        assert!(c
            .find("rtx-4091")
            .unwrap_err()
            .closest
            .contains(&"rtx-4090".to_string()));
    }
}
