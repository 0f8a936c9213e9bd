//! `proxy_get_buffer_bytes` / `proxy_set_buffer_bytes`.

use wasmtime::{Caller, Linker};

use crate::fault::{finish, AbiResult, Fault};
use crate::memory::{offset, read, return_bytes};
use crate::state::HostState;
use crate::types::{BufferType, Status};

type C<'a> = Caller<'a, HostState>;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut c: C<'_>, kind: i32, start: i32, max: i32, out_ptr: i32, out_len: i32| {
            finish(get_buffer(&mut c, kind, start, max, out_ptr, out_len))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_buffer_bytes",
        |mut c: C<'_>, kind: i32, start: i32, size: i32, ptr: i32, len: i32| {
            finish(set_buffer(&mut c, kind, start, size, ptr, len))
        },
    )?;
    Ok(())
}

/// The bytes of a buffer, or `NotFound` when it does not exist in the
/// current context (e.g. the callout body outside `on_http_call_response`).
fn buffer(state: &mut HostState, kind: BufferType) -> Result<&mut Vec<u8>, Fault> {
    let missing = Fault::Status(Status::NotFound);
    match kind {
        BufferType::PluginConfiguration => Ok(&mut state.plugin_config),
        BufferType::VmConfiguration => Ok(&mut state.vm_config),
        BufferType::HttpCallResponseBody => state
            .call_response
            .as_mut()
            .map(|r| &mut r.body)
            .ok_or(missing),
        BufferType::HttpRequestBody => state
            .current_stream()
            .map(|s| &mut s.request_body)
            .ok_or(missing),
        BufferType::HttpResponseBody => state
            .current_stream()
            .map(|s| &mut s.response_body)
            .ok_or(missing),
        _ => Err(missing),
    }
}

fn get_buffer(
    c: &mut C<'_>,
    kind: i32,
    start: i32,
    max: i32,
    out_ptr: i32,
    out_len: i32,
) -> AbiResult {
    let kind = BufferType::from_raw(kind).ok_or(Status::BadArgument)?;
    let bytes = buffer(c.data_mut(), kind)?;
    // The SDK asks for `usize::MAX` bytes (-1 as i32): clamp, don't fail.
    let start = offset(start);
    if start > bytes.len() {
        return Err(Status::BadArgument.into());
    }
    let end = start.saturating_add(offset(max)).min(bytes.len());
    let slice = bytes.get(start..end).unwrap_or_default().to_vec();
    return_bytes(c, &slice, out_ptr, out_len)
}

/// Replaces `size` bytes at `start` with the given data (the SDK's
/// `set_http_request_body(start, size, value)`).
fn set_buffer(c: &mut C<'_>, kind: i32, start: i32, size: i32, ptr: i32, len: i32) -> AbiResult {
    let kind = BufferType::from_raw(kind).ok_or(Status::BadArgument)?;
    if matches!(
        kind,
        BufferType::PluginConfiguration | BufferType::VmConfiguration
    ) {
        return Err(Status::BadArgument.into());
    }
    let data = read(c, ptr, len)?;
    let bytes = buffer(c.data_mut(), kind)?;
    let start = offset(start).min(bytes.len());
    let end = start.saturating_add(offset(size)).min(bytes.len());
    bytes.splice(start..end, data);
    Ok(())
}
