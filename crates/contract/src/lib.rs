//! llmrig's JSON contract (`schema_version` 1): the structs that `llmrig … --json` prints and that the
//! HTTP API and the MCP server will return, defined once. They are mapped from the domain types of
//! `llmrig-core` and `llmrig-catalog`, never borrowed from them, so renaming a domain field cannot
//! change what scripts read. Fields may be added, never renamed or removed. All sizes are bytes,
//! all rates per second.
//!
//! Each module documents its command's output field by field:
//! - [`estimate`]: `llmrig estimate --json` ([`EstimateJson`]);
//! - [`plan`]: `llmrig plan --json` ([`PlanJson`]);
//! - [`recommend`]: `llmrig recommend --json` ([`RecommendJson`]) and bare `llmrig --json`
//!   ([`OverviewJson`]);
//! - [`inspect`]: `llmrig inspect --json` ([`InspectJson`]);
//! - [`machine`]: `llmrig hw --json` ([`HwJson`]) and the machine `recommend` embeds
//!   ([`MachineJson`]).

pub mod estimate;
pub mod inspect;
pub mod machine;
pub mod plan;
pub mod recommend;

pub use estimate::{
    ComponentJson, EstimateJson, LaunchJson, MemoryJson, SpeculativeJson, WarningJson,
};
pub use inspect::InspectJson;
pub use machine::{HwJson, MachineJson, MeasurementJson};
pub use plan::PlanJson;
pub use recommend::{OverviewJson, RecommendJson, RecommendationJson};

/// The version of the contract every document carries as `schema_version`.
pub const SCHEMA_VERSION: u32 = 1;

/// Pretty JSON with a trailing newline, as the CLI prints it.
#[must_use]
pub fn to_string<T: serde::Serialize>(v: &T) -> String {
    let mut s =
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
