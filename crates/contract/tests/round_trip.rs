//! The structs describe the output: documents the CLI printed (copied from the CLI's contract
//! snapshots, or printed by `llmrig` for what no snapshot covers: a GGUF file, a safetensors folder,
//! `hw --measure --save`, bare `llmrig`) read into their struct and print again byte for byte, and
//! a document whose keys do not match the struct is refused.

use llmrig_contract::{
    to_string, EstimateJson, HwJson, InspectJson, OverviewJson, PlanJson, RecommendJson,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Reads `doc` (as `llmrig … --json` printed it) into `T` and prints it again.
fn round_trip<T: Serialize + DeserializeOwned>(doc: &str) -> String {
    let parsed: T = serde_json::from_str(doc).expect("the document reads into its struct");
    to_string(&parsed)
}

macro_rules! round_trips {
    ($($name:ident: $ty:ty, $file:literal;)*) => {$(
        #[test]
        fn $name() {
            let doc = include_str!(concat!("documents/", $file));
            assert_eq!(round_trip::<$ty>(doc), doc);
        }
    )*};
}

round_trips! {
    estimate: EstimateJson, "estimate.json";
    estimate_with_launch: EstimateJson, "estimate_launch.json";
    plan: PlanJson, "plan.json";
    recommend: RecommendJson, "recommend.json";
    overview: OverviewJson, "overview.json";
    inspect_catalog_model: InspectJson, "inspect.json";
    inspect_gguf_file: InspectJson, "inspect_gguf.json";
    inspect_safetensors_folder: InspectJson, "inspect_safetensors.json";
    hw: HwJson, "hw.json";
    hw_measure_save: HwJson, "hw_measure_save.json";
}

/// A document of another command does not read as a plan: the structs are not so loose that any
/// JSON object passes.
#[test]
fn another_commands_document_is_refused() {
    let doc = include_str!("documents/inspect.json");
    assert!(serde_json::from_str::<PlanJson>(doc).is_err());
    assert!(serde_json::from_str::<HwJson>(include_str!("documents/plan.json")).is_err());
}
