//! The WASI preview1 imports a `wasm32-wasip1` proxy-wasm filter pulls in.
//!
//! Hand-written instead of `wasmtime-wasi` so that the environment is the VM
//! config's (Envoy's `vm_config.environment_variables`), the clocks are the
//! host's controlled clock, stdout/stderr become log lines (Envoy logs them at
//! info/error), and there is no file system or real randomness to leak in.

use std::fmt;

use wasmtime::{Caller, Linker};

use crate::fault::Fault;
use crate::memory::{read, write, write_u32, write_u64};
use crate::state::HostState;
use crate::types::LogLevel;

const MODULE: &str = "wasi_snapshot_preview1";
const ERRNO_SUCCESS: i32 = 0;
const ERRNO_BADF: i32 = 8;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;
const ERRNO_NOSYS: i32 = 52;
const ERRNO_SPIPE: i32 = 70;

type C<'a> = Caller<'a, HostState>;

/// The guest called `proc_exit`: it is gone, like a trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcExit(pub i32);

impl fmt::Display for ProcExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "guest called proc_exit({})", self.0)
    }
}

impl std::error::Error for ProcExit {}

/// Maps a memory fault to a WASI errno; a trap stays a trap.
fn errno(result: Result<(), Fault>) -> wasmtime::Result<i32> {
    match result {
        Ok(()) => Ok(ERRNO_SUCCESS),
        Err(Fault::Status(_)) => Ok(ERRNO_FAULT),
        Err(Fault::Trap(error)) => Err(error),
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        MODULE,
        "environ_sizes_get",
        |mut c: C<'_>, count_out: i32, size_out: i32| {
            let (count, size) = sizes(&environ(c.data()));
            errno(
                write_u32(&mut c, count_out, count)
                    .and_then(|()| write_u32(&mut c, size_out, size)),
            )
        },
    )?;
    linker.func_wrap(
        MODULE,
        "environ_get",
        |mut c: C<'_>, ptrs: i32, buf: i32| {
            let entries = environ(c.data());
            errno(write_strings(&mut c, &entries, ptrs, buf))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "args_sizes_get",
        |mut c: C<'_>, count_out: i32, size_out: i32| {
            errno(write_u32(&mut c, count_out, 0).and_then(|()| write_u32(&mut c, size_out, 0)))
        },
    )?;
    linker.func_wrap(MODULE, "args_get", |_: C<'_>, _: i32, _: i32| {
        Ok(ERRNO_SUCCESS)
    })?;
    linker.func_wrap(
        MODULE,
        "fd_write",
        |mut c: C<'_>, fd: i32, iovs: i32, iovs_len: i32, written_out: i32| {
            if fd != 1 && fd != 2 {
                return Ok(ERRNO_BADF);
            }
            errno(fd_write(&mut c, fd, iovs, iovs_len, written_out))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_read",
        |_: C<'_>, _: i32, _: i32, _: i32, _: i32| Ok(ERRNO_BADF),
    )?;
    linker.func_wrap(MODULE, "fd_close", |_: C<'_>, _: i32| Ok(ERRNO_BADF))?;
    linker.func_wrap(
        MODULE,
        "fd_seek",
        |_: C<'_>, _: i32, _: i64, _: i32, _: i32| Ok(ERRNO_SPIPE),
    )?;
    linker.func_wrap(
        MODULE,
        "fd_fdstat_get",
        |mut c: C<'_>, fd: i32, out: i32| {
            if !(0..=2).contains(&fd) {
                return Ok(ERRNO_BADF);
            }
            // filetype = character_device (2), no flags, all rights.
            let mut stat = [0u8; 24];
            stat[0] = 2;
            stat[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
            errno(write(&mut c, out, &stat))
        },
    )?;
    // No preopened directories: the guest gets no file system at all.
    linker.func_wrap(MODULE, "fd_prestat_get", |_: C<'_>, _: i32, _: i32| {
        Ok(ERRNO_BADF)
    })?;
    linker.func_wrap(
        MODULE,
        "fd_prestat_dir_name",
        |_: C<'_>, _: i32, _: i32, _: i32| Ok(ERRNO_BADF),
    )?;
    linker.func_wrap(
        MODULE,
        "proc_exit",
        |_: C<'_>, code: i32| -> wasmtime::Result<()> { Err(wasmtime::Error::new(ProcExit(code))) },
    )?;
    linker.func_wrap(MODULE, "sched_yield", |_: C<'_>| Ok(ERRNO_SUCCESS))?;
    linker.func_wrap(
        MODULE,
        "poll_oneoff",
        |_: C<'_>, _: i32, _: i32, _: i32, _: i32| Ok(ERRNO_NOSYS),
    )?;
    linker.func_wrap(MODULE, "random_get", |mut c: C<'_>, buf: i32, len: i32| {
        let bytes = random_bytes(c.data_mut(), len as u32 as usize);
        errno(write(&mut c, buf, &bytes))
    })?;
    linker.func_wrap(
        MODULE,
        "clock_time_get",
        |mut c: C<'_>, clock: i32, _precision: i64, out: i32| {
            // realtime, monotonic, process and thread CPU time all read the
            // controlled clock so time only moves when the test says so.
            if !(0..=3).contains(&clock) {
                return Ok(ERRNO_INVAL);
            }
            let now = c.data().clock.now_nanos();
            errno(write_u64(&mut c, out, now))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "clock_res_get",
        |mut c: C<'_>, clock: i32, out: i32| {
            if !(0..=3).contains(&clock) {
                return Ok(ERRNO_INVAL);
            }
            errno(write_u64(&mut c, out, 1))
        },
    )?;
    Ok(())
}

fn environ(state: &HostState) -> Vec<Vec<u8>> {
    state
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}").into_bytes())
        .collect()
}

/// Count and total size of NUL-terminated strings, as `*_sizes_get` report.
fn sizes(entries: &[Vec<u8>]) -> (u32, u32) {
    let size: usize = entries.iter().map(|e| e.len() + 1).sum();
    (
        u32::try_from(entries.len()).unwrap_or(u32::MAX),
        u32::try_from(size).unwrap_or(u32::MAX),
    )
}

fn write_strings(c: &mut C<'_>, entries: &[Vec<u8>], ptrs: i32, buf: i32) -> Result<(), Fault> {
    let mut at = buf as u32;
    for (n, entry) in entries.iter().enumerate() {
        let slot = (ptrs as u32).wrapping_add(4 * n as u32) as i32;
        write_u32(c, slot, at)?;
        let mut bytes = entry.clone();
        bytes.push(0);
        write(c, at as i32, &bytes)?;
        at = at.wrapping_add(bytes.len() as u32);
    }
    Ok(())
}

fn fd_write(
    c: &mut C<'_>,
    fd: i32,
    iovs: i32,
    iovs_len: i32,
    written_out: i32,
) -> Result<(), Fault> {
    let table = read(c, iovs, (iovs_len as u32).saturating_mul(8) as i32)?;
    let mut data = Vec::new();
    for iov in table.chunks_exact(8) {
        let field = |at: usize| {
            iov.get(at..at + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map_or(0, u32::from_le_bytes)
        };
        data.extend(read(c, field(0) as i32, field(4) as i32)?);
    }
    let written = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let (slot, level) = if fd == 1 {
        (0, LogLevel::Info)
    } else {
        (1, LogLevel::Error)
    };
    let state = c.data_mut();
    let buffer = &mut state.stdio[slot];
    buffer.extend(data);
    while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
        let line: Vec<u8> = buffer.drain(..=end).collect();
        let text = String::from_utf8_lossy(&line[..end]).into_owned();
        state.logs.push(crate::state::LogEntry {
            level,
            message: text,
        });
    }
    write_u32(c, written_out, written)
}

/// Deterministic bytes (splitmix64): tests must be reproducible, and nothing
/// in a verifier should depend on host randomness for its security.
fn random_bytes(state: &mut HostState, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state.rng = state.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(len);
    out
}
