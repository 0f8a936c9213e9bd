//! Pieces shared by both services.

pub mod args;
pub mod html;
pub mod server;
