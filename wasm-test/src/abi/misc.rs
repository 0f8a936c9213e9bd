//! Logging, time, ticks, properties, context switching and the odds and ends
//! of the ABI.

use wasmtime::{Caller, Linker};

use crate::fault::{finish, AbiResult, Fault};
use crate::memory::{read, read_string, return_bytes, write_u32, write_u64};
use crate::serial::deserialize_path;
use crate::state::HostState;
use crate::types::{LogLevel, Status};

type C<'a> = Caller<'a, HostState>;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_log",
        |mut c: C<'_>, level: i32, ptr: i32, len: i32| finish(log(&mut c, level, ptr, len)),
    )?;
    linker.func_wrap("env", "proxy_get_log_level", |mut c: C<'_>, out: i32| {
        let level = c.data().log_level as u32;
        finish(write_u32(&mut c, out, level))
    })?;
    linker.func_wrap(
        "env",
        "proxy_get_current_time_nanoseconds",
        |mut c: C<'_>, out: i32| {
            if c.data().clock_broken {
                return finish(Err(Status::InternalFailure.into()));
            }
            let now = c.data().clock.now_nanos();
            finish(write_u64(&mut c, out, now))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_tick_period_milliseconds",
        |mut c: C<'_>, period: i32| {
            c.data_mut().tick_period_ms = period as u32;
            finish(Ok(()))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_property",
        |mut c: C<'_>, ptr: i32, len: i32, out_ptr: i32, out_len: i32| {
            finish(get_property(&mut c, ptr, len, out_ptr, out_len))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_property",
        |mut c: C<'_>, ptr: i32, len: i32, value_ptr: i32, value_len: i32| {
            finish(set_property(&mut c, ptr, len, value_ptr, value_len))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_effective_context",
        |mut c: C<'_>, id: i32| {
            let id = id as u32;
            let state = c.data_mut();
            if id == state.root_id || state.streams.contains_key(&id) {
                state.effective_context = id;
                finish(Ok(()))
            } else {
                finish(Err(Status::BadArgument.into()))
            }
        },
    )?;
    // Only meaningful after `proxy_on_done` returned false; counted so tests
    // can see a deferred completion.
    linker.func_wrap("env", "proxy_done", |mut c: C<'_>| {
        c.data_mut().done_calls += 1;
        finish(Ok(()))
    })?;
    // No foreign functions are registered, as in a stock Envoy build.
    linker.func_wrap(
        "env",
        "proxy_call_foreign_function",
        |_: C<'_>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32| {
            finish(Err(Status::NotFound.into()))
        },
    )?;
    Ok(())
}

fn log(c: &mut C<'_>, level: i32, ptr: i32, len: i32) -> AbiResult {
    let level = LogLevel::from_raw(level).ok_or(Status::BadArgument)?;
    let message = read_string(c, ptr, len)?;
    let state = c.data_mut();
    if level >= state.log_level {
        state.log(level, message);
    }
    Ok(())
}

fn get_property(c: &mut C<'_>, ptr: i32, len: i32, out_ptr: i32, out_len: i32) -> AbiResult {
    let path = deserialize_path(&read(c, ptr, len)?);
    let value = c
        .data()
        .properties
        .get(&path)
        .cloned()
        .ok_or(Fault::Status(Status::NotFound))?;
    return_bytes(c, &value, out_ptr, out_len)
}

fn set_property(c: &mut C<'_>, ptr: i32, len: i32, value_ptr: i32, value_len: i32) -> AbiResult {
    let path = deserialize_path(&read(c, ptr, len)?);
    let value = read(c, value_ptr, value_len)?;
    c.data_mut().properties.insert(path, value);
    Ok(())
}
