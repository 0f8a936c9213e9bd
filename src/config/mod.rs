//! Plugin configuration: parsed (serde), then compiled into typed, validated state.

mod error;

pub use error::{join_path, ConfigError};
