//! The user's llmrig configuration: `config.toml` in `$LLMRIG_CONFIG_DIR` (tests set it), else
//! `$XDG_CONFIG_HOME/llmrig`, else `~/.config/llmrig` (`%APPDATA%\llmrig` on Windows). It holds
//! what `llmrig hw --measure` found, so estimates can use it. Keys this version does not know are
//! kept when it writes the file.

use std::path::{Path, PathBuf};

/// What the configuration file holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserConfig {
    /// Sustained RAM read bandwidth measured by `llmrig hw --measure`, GB/s.
    pub ram_bandwidth_gbs: Option<f64>,
    /// This machine's speed efficiencies from `llmrig calibrate` (its `[calibration]` table).
    pub calibration: Option<llmrig_core::estimate::Calibration>,
}

/// Reading or writing the configuration failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read config file `{path}`")]
    Read {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("config file `{path}` is not valid: {message}; fix or delete it")]
    Parse {
        /// The path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The file could not be written.
    #[error("cannot write config file `{path}`")]
    Write {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The folder of the configuration file, None when no home folder is known.
#[must_use]
pub fn config_dir() -> Option<PathBuf> {
    env_dir("LLMRIG_CONFIG_DIR")
        .or_else(|| env_dir("XDG_CONFIG_HOME").map(|d| d.join("llmrig")))
        .or_else(|| {
            if cfg!(windows) {
                env_dir("APPDATA").map(|d| d.join("llmrig"))
            } else {
                env_dir("HOME").map(|d| d.join(".config").join("llmrig"))
            }
        })
}

/// The configuration file, None when no home folder is known.
#[must_use]
pub fn config_path() -> Option<PathBuf> {
    config_dir().map(|d| d.join("config.toml"))
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(toml::Table::new()),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.display().to_string(),
                source,
            })
        }
    };
    text.parse()
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.message().to_string(),
        })
}

/// Reads the configuration at `path`; a missing file is an empty configuration.
///
/// # Errors
/// [`ConfigError`] naming the file when it cannot be read or holds an invalid value.
pub fn load_config(path: &Path) -> Result<UserConfig, ConfigError> {
    let table = read_table(path)?;
    let bad = |message: &str| ConfigError::Parse {
        path: path.display().to_string(),
        message: message.to_string(),
    };
    let ram_bandwidth_gbs = match table.get("ram_bandwidth_gbs") {
        None => None,
        Some(v) => {
            let gbs = v
                .as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .ok_or_else(|| bad("`ram_bandwidth_gbs` must be a number of GB/s"))?;
            if !(gbs.is_finite() && gbs > 0.0 && gbs < 1e5) {
                return Err(bad("`ram_bandwidth_gbs` must be between 0 and 100000 GB/s"));
            }
            Some(gbs)
        }
    };
    let calibration = match table.get("calibration") {
        None => None,
        Some(v) => Some(
            v.clone()
                .try_into::<llmrig_core::estimate::Calibration>()
                .map_err(|e| bad(&format!("`[calibration]`: {e}")))?,
        ),
    };
    Ok(UserConfig {
        ram_bandwidth_gbs,
        calibration,
    })
}

/// Stores a calibration (`llmrig calibrate`) in the configuration at `path`, replacing an earlier
/// one and keeping the file's other keys.
///
/// # Errors
/// [`ConfigError`] naming the file.
pub fn store_calibration(
    path: &Path,
    c: &llmrig_core::estimate::Calibration,
) -> Result<(), ConfigError> {
    let mut table = read_table(path)?;
    let value = toml::Value::try_from(c).map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    table.insert("calibration".into(), value);
    write_table(path, &table)
}

fn write_table(path: &Path, table: &toml::Table) -> Result<(), ConfigError> {
    let write_err = |source| ConfigError::Write {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    std::fs::write(path, toml::to_string(table).unwrap_or_default()).map_err(write_err)
}

/// Stores a measured RAM bandwidth (GB/s) in the configuration at `path`, creating the folder and
/// keeping the file's other keys.
///
/// # Errors
/// [`ConfigError`] naming the file.
pub fn store_ram_bandwidth(path: &Path, gbs: f64) -> Result<(), ConfigError> {
    let mut table = read_table(path)?;
    // Two decimals are plenty for GB/s and keep the file readable.
    table.insert(
        "ram_bandwidth_gbs".into(),
        toml::Value::Float((gbs * 100.0).round() / 100.0),
    );
    write_table(path, &table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_keeps_other_keys_and_loads_back() {
        let dir = std::env::temp_dir().join(format!("llmrig-config-{}", std::process::id()));
        let p = dir.join("sub/config.toml");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(load_config(&p).unwrap(), UserConfig::default());
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "theme = \"dark\"\n").unwrap();
        store_ram_bandwidth(&p, 61.234_567).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("theme = \"dark\""), "{text}");
        assert_eq!(load_config(&p).unwrap().ram_bandwidth_gbs, Some(61.23));
        std::fs::write(&p, "ram_bandwidth_gbs = -1\n").unwrap();
        assert!(matches!(load_config(&p), Err(ConfigError::Parse { .. })));
        std::fs::write(&p, "ram_bandwidth_gbs = \n").unwrap();
        assert!(matches!(load_config(&p), Err(ConfigError::Parse { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
