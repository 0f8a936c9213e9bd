//! The JSON Schema of the plugin configuration, derived from the raw serde types
//! (`schema` feature; never in the `.wasm`). `schema/jwt-gate.schema.json` is its
//! output, kept in sync by a test in `wasm-test/tests/schema.rs`.

use schemars::{json_schema, Schema, SchemaGenerator};
use serde_json::Value;

use super::raw::RawConfig;
use crate::error::AuthError;

/// `title` of the schema.
const TITLE: &str = "jwt-gate plugin configuration";

/// The schema as JSON (draft 2020-12). The structure is what serde accepts; checks
/// across fields (one key source per key, known providers in rules, …) are the
/// compiler's, reported by `jwt-gate-check --lint`.
#[must_use]
pub fn schema() -> Value {
    let mut schema = schemars::schema_for!(RawConfig).to_value();
    if let Value::Object(map) = &mut schema {
        map.insert("title".into(), TITLE.into());
    }
    schema
}

/// `status_overrides`: keys are failure reasons, values 4xx/5xx statuses (what the
/// compiler checks, so an editor flags a typo before the filter refuses it).
pub(super) fn status_overrides(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": ["object", "null"],
        "propertyNames": {"enum": AuthError::LABELS},
        "additionalProperties": {"type": "integer", "minimum": 400, "maximum": 599}
    })
}
