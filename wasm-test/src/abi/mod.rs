//! The `env.proxy_*` imports of proxy-wasm ABI 0.2.1, one file per group.

mod buffers;
mod callouts;
mod headers;
mod metrics;
mod misc;
mod shared;
mod stream;

use wasmtime::Linker;

use crate::state::HostState;

/// Registers every proxy-wasm host function the SDK can import.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    buffers::add_to_linker(linker)?;
    callouts::add_to_linker(linker)?;
    headers::add_to_linker(linker)?;
    metrics::add_to_linker(linker)?;
    misc::add_to_linker(linker)?;
    shared::add_to_linker(linker)?;
    stream::add_to_linker(linker)?;
    Ok(())
}
