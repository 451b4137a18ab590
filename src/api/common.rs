//! Status pieces shared by every kind.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A field that could not be carried over exactly, as reported in status and by `render`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct TranslationWarning {
    /// JSON path of the ECS field in the spec, e.g. `containerDefinitions[0].logConfiguration`.
    pub path: String,
    /// `approximated` (carried over with a change in meaning) or `unsupported` (not carried over).
    pub disposition: String,
    /// What changed, or why the field is not carried over.
    pub message: String,
}

/// Conditions and warnings every Tidewater status carries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommonStatus {
    /// The `metadata.generation` this status describes.
    #[serde(
        rename = "observedGeneration",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub observed_generation: Option<i64>,
    /// Standard conditions: `Ready`, `Progressing`, `Degraded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Fields of the spec that were approximated or are unsupported on Kubernetes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<TranslationWarning>,
}
