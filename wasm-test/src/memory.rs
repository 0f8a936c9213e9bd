//! Reading and writing guest linear memory from inside a host call.
//!
//! Out-of-range pointers give `Status::InvalidMemoryAccess` (what the spec
//! prescribes) rather than a host panic; returning data to the guest goes
//! through its `proxy_on_memory_allocate` export, as Envoy does.

use wasmtime::{Caller, Extern, Memory};

use crate::fault::Fault;
use crate::state::HostState;
use crate::types::Status;

type Ctx<'a, 'b> = &'a mut Caller<'b, HostState>;

fn memory(caller: Ctx<'_, '_>) -> Result<Memory, Fault> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(Fault::Trap(wasmtime::Error::msg(
            "guest does not export its linear memory as `memory`",
        ))),
    }
}

/// Guest pointers and sizes arrive as `i32` but are `u32` in wasm32.
pub(crate) fn offset(raw: i32) -> usize {
    raw as u32 as usize
}

/// Copies `len` bytes at `ptr` out of guest memory.
pub(crate) fn read(caller: Ctx<'_, '_>, ptr: i32, len: i32) -> Result<Vec<u8>, Fault> {
    let memory = memory(caller)?;
    let start = offset(ptr);
    let end = start
        .checked_add(offset(len))
        .ok_or(Status::InvalidMemoryAccess)?;
    memory
        .data(&caller)
        .get(start..end)
        .map(<[u8]>::to_vec)
        .ok_or(Fault::Status(Status::InvalidMemoryAccess))
}

/// Reads a UTF-8 string (lossily: names and keys are only compared).
pub(crate) fn read_string(caller: Ctx<'_, '_>, ptr: i32, len: i32) -> Result<String, Fault> {
    Ok(String::from_utf8_lossy(&read(caller, ptr, len)?).into_owned())
}

/// Copies `bytes` into guest memory at `ptr`.
pub(crate) fn write(caller: Ctx<'_, '_>, ptr: i32, bytes: &[u8]) -> Result<(), Fault> {
    let memory = memory(caller)?;
    let start = offset(ptr);
    let end = start
        .checked_add(bytes.len())
        .ok_or(Status::InvalidMemoryAccess)?;
    memory
        .data_mut(&mut *caller)
        .get_mut(start..end)
        .ok_or(Fault::Status(Status::InvalidMemoryAccess))?
        .copy_from_slice(bytes);
    Ok(())
}

pub(crate) fn write_u32(caller: Ctx<'_, '_>, ptr: i32, value: u32) -> Result<(), Fault> {
    write(caller, ptr, &value.to_le_bytes())
}

pub(crate) fn write_u64(caller: Ctx<'_, '_>, ptr: i32, value: u64) -> Result<(), Fault> {
    write(caller, ptr, &value.to_le_bytes())
}

/// Allocates `bytes.len()` in the guest, copies `bytes` there and stores the
/// pointer and size at `ptr_out` / `size_out` (the `return_*_data` /
/// `return_*_size` out-parameters of the ABI). Empty data returns a null
/// pointer, which the SDK maps to `None`/empty without allocating.
pub(crate) fn return_bytes(
    caller: Ctx<'_, '_>,
    bytes: &[u8],
    ptr_out: i32,
    size_out: i32,
) -> Result<(), Fault> {
    let size = u32::try_from(bytes.len()).map_err(|_| Status::InvalidMemoryAccess)?;
    let ptr = if bytes.is_empty() {
        0
    } else {
        let ptr = allocate(caller, size)?;
        write(caller, ptr, bytes)?;
        ptr
    };
    write_u32(caller, ptr_out, ptr as u32)?;
    write_u32(caller, size_out, size)
}

fn allocate(caller: Ctx<'_, '_>, size: u32) -> Result<i32, Fault> {
    let func = ["proxy_on_memory_allocate", "malloc"]
        .iter()
        .find_map(|name| caller.get_export(name).and_then(Extern::into_func))
        .ok_or_else(|| {
            Fault::Trap(wasmtime::Error::msg(
                "guest exports neither proxy_on_memory_allocate nor malloc",
            ))
        })?;
    let alloc = func.typed::<i32, i32>(&*caller).map_err(Fault::Trap)?;
    let ptr = alloc.call(&mut *caller, size as i32).map_err(Fault::Trap)?;
    if ptr == 0 {
        return Err(Fault::Status(Status::InternalFailure));
    }
    Ok(ptr)
}
