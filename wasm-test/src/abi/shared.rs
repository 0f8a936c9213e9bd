//! Shared data (with CAS) and shared queues.

use wasmtime::{Caller, Linker};

use crate::fault::{finish, AbiResult, Fault};
use crate::memory::{read, read_string, return_bytes, write_u32};
use crate::state::HostState;
use crate::types::Status;

type C<'a> = Caller<'a, HostState>;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_shared_data",
        |mut c: C<'_>, key_ptr: i32, key_len: i32, out_ptr: i32, out_len: i32, cas_out: i32| {
            finish(get_shared(
                &mut c,
                (key_ptr, key_len),
                out_ptr,
                out_len,
                cas_out,
            ))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_shared_data",
        |mut c: C<'_>, key_ptr: i32, key_len: i32, ptr: i32, len: i32, cas: i32| {
            finish(set_shared(
                &mut c,
                (key_ptr, key_len),
                (ptr, len),
                cas as u32,
            ))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_register_shared_queue",
        |mut c: C<'_>, ptr: i32, len: i32, out: i32| finish(register_queue(&mut c, ptr, len, out)),
    )?;
    linker.func_wrap(
        "env",
        "proxy_resolve_shared_queue",
        |mut c: C<'_>, _vm_ptr: i32, _vm_len: i32, ptr: i32, len: i32, out: i32| {
            finish(resolve_queue(&mut c, ptr, len, out))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_enqueue_shared_queue",
        |mut c: C<'_>, id: i32, ptr: i32, len: i32| {
            let result = read(&mut c, ptr, len).and_then(|value| {
                queue(c.data_mut(), id)?.push_back(value);
                Ok(())
            });
            finish(result)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_dequeue_shared_queue",
        |mut c: C<'_>, id: i32, out_ptr: i32, out_len: i32| {
            let result =
                queue(c.data_mut(), id).and_then(|q| q.pop_front().ok_or(Status::Empty.into()));
            finish(result.and_then(|value| return_bytes(&mut c, &value, out_ptr, out_len)))
        },
    )?;
    Ok(())
}

fn get_shared(
    c: &mut C<'_>,
    key: (i32, i32),
    out_ptr: i32,
    out_len: i32,
    cas_out: i32,
) -> AbiResult {
    let key = read_string(c, key.0, key.1)?;
    let (value, cas) = c.data().shared.guest_get(&key)?;
    return_bytes(c, &value, out_ptr, out_len)?;
    write_u32(c, cas_out, cas)
}

fn set_shared(c: &mut C<'_>, key: (i32, i32), value: (i32, i32), cas: u32) -> AbiResult {
    let key = read_string(c, key.0, key.1)?;
    let value = read(c, value.0, value.1)?;
    c.data().shared.guest_set(&key, &value, cas)?;
    Ok(())
}

/// Queue ids are index + 1; queues live in this VM only (no
/// `proxy_on_queue_ready` delivery), enough for a filter that probes them.
fn queue(
    state: &mut HostState,
    id: i32,
) -> Result<&mut std::collections::VecDeque<Vec<u8>>, Fault> {
    let index = (id as u32 as usize)
        .checked_sub(1)
        .ok_or(Status::NotFound)?;
    state
        .queues
        .get_mut(index)
        .map(|(_, q)| q)
        .ok_or(Fault::Status(Status::NotFound))
}

fn register_queue(c: &mut C<'_>, ptr: i32, len: i32, out: i32) -> AbiResult {
    let name = read_string(c, ptr, len)?;
    let queues = &mut c.data_mut().queues;
    let index = match queues.iter().position(|(n, _)| *n == name) {
        Some(index) => index,
        None => {
            queues.push((name, Default::default()));
            queues.len() - 1
        }
    };
    write_u32(c, out, u32::try_from(index + 1).unwrap_or(u32::MAX))
}

fn resolve_queue(c: &mut C<'_>, ptr: i32, len: i32, out: i32) -> AbiResult {
    let name = read_string(c, ptr, len)?;
    let index = c
        .data()
        .queues
        .iter()
        .position(|(n, _)| *n == name)
        .ok_or(Status::NotFound)?;
    write_u32(c, out, u32::try_from(index + 1).unwrap_or(u32::MAX))
}
