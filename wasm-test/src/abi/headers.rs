//! Header and trailer maps: get/add/replace/remove one value, get/set all.

use wasmtime::{Caller, Linker};

use crate::fault::{finish, AbiResult, Fault};
use crate::headers::HeaderMap;
use crate::memory::{read, return_bytes};
use crate::serial::{deserialize_map, serialize_map};
use crate::state::HostState;
use crate::types::{MapType, Status};

type C<'a> = Caller<'a, HostState>;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_header_map_pairs",
        |mut c: C<'_>, kind: i32, out_ptr: i32, out_len: i32| {
            finish(get_pairs(&mut c, kind, out_ptr, out_len))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_header_map_pairs",
        |mut c: C<'_>, kind: i32, ptr: i32, len: i32| finish(set_pairs(&mut c, kind, ptr, len)),
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_header_map_value",
        |mut c: C<'_>, kind: i32, key_ptr: i32, key_len: i32, out_ptr: i32, out_len: i32| {
            finish(get_value(&mut c, kind, key_ptr, key_len, out_ptr, out_len))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_add_header_map_value",
        |mut c: C<'_>, kind: i32, key_ptr: i32, key_len: i32, ptr: i32, len: i32| {
            finish(edit(
                &mut c,
                kind,
                key_ptr,
                key_len,
                Some((ptr, len)),
                Edit::Add,
            ))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_replace_header_map_value",
        |mut c: C<'_>, kind: i32, key_ptr: i32, key_len: i32, ptr: i32, len: i32| {
            finish(edit(
                &mut c,
                kind,
                key_ptr,
                key_len,
                Some((ptr, len)),
                Edit::Replace,
            ))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_remove_header_map_value",
        |mut c: C<'_>, kind: i32, key_ptr: i32, key_len: i32| {
            finish(edit(&mut c, kind, key_ptr, key_len, None, Edit::Remove))
        },
    )?;
    Ok(())
}

/// The map a guest addresses, if it exists in the current context.
fn map(state: &mut HostState, kind: MapType) -> Option<&mut HeaderMap> {
    match kind {
        MapType::HttpCallResponseHeaders => state.call_response.as_mut().map(|r| &mut r.headers),
        MapType::HttpCallResponseTrailers => state.call_response.as_mut().map(|r| &mut r.trailers),
        MapType::HttpRequestHeaders => state.current_stream().map(|s| &mut s.request_headers),
        MapType::HttpRequestTrailers => state.current_stream().map(|s| &mut s.request_trailers),
        MapType::HttpResponseHeaders => state.current_stream().map(|s| &mut s.response_headers),
        MapType::HttpResponseTrailers => state.current_stream().map(|s| &mut s.response_trailers),
        MapType::GrpcReceiveInitialMetadata | MapType::GrpcReceiveTrailingMetadata => None,
    }
}

fn map_type(raw: i32) -> Result<MapType, Fault> {
    MapType::from_raw(raw).ok_or(Fault::Status(Status::BadArgument))
}

/// A map that does not exist reads as empty: the SDK panics on any status
/// other than `Ok` here, and Envoy's behaviour differs by version.
fn get_pairs(c: &mut C<'_>, kind: i32, out_ptr: i32, out_len: i32) -> AbiResult {
    let kind = map_type(kind)?;
    let bytes = match map(c.data_mut(), kind) {
        Some(map) => serialize_map(map.pairs()),
        None => Vec::new(),
    };
    return_bytes(c, &bytes, out_ptr, out_len)
}

fn set_pairs(c: &mut C<'_>, kind: i32, ptr: i32, len: i32) -> AbiResult {
    let kind = map_type(kind)?;
    let pairs = deserialize_map(&read(c, ptr, len)?).ok_or(Status::SerializationFailure)?;
    map(c.data_mut(), kind)
        .ok_or(Status::BadArgument)?
        .set_all(pairs);
    Ok(())
}

fn get_value(
    c: &mut C<'_>,
    kind: i32,
    key_ptr: i32,
    key_len: i32,
    out_ptr: i32,
    out_len: i32,
) -> AbiResult {
    let kind = map_type(kind)?;
    let key = read(c, key_ptr, key_len)?;
    let value = map(c.data_mut(), kind)
        .and_then(|m| m.get(&key).map(<[u8]>::to_vec))
        .ok_or(Status::NotFound)?;
    return_bytes(c, &value, out_ptr, out_len)
}

enum Edit {
    Add,
    Replace,
    Remove,
}

fn edit(
    c: &mut C<'_>,
    kind: i32,
    key_ptr: i32,
    key_len: i32,
    value: Option<(i32, i32)>,
    op: Edit,
) -> AbiResult {
    let kind = map_type(kind)?;
    let key = read(c, key_ptr, key_len)?;
    let value = match value {
        Some((ptr, len)) => read(c, ptr, len)?,
        None => Vec::new(),
    };
    let refused = c
        .data()
        .refused_removals
        .iter()
        .any(|name| name.eq_ignore_ascii_case(&key));
    if refused && matches!(op, Edit::Remove) {
        return Err(Status::BadArgument.into());
    }
    let map = map(c.data_mut(), kind).ok_or(Status::BadArgument)?;
    match op {
        Edit::Add => map.add(&key, &value),
        Edit::Replace => map.replace(&key, &value),
        Edit::Remove => map.remove(&key),
    }
    Ok(())
}
