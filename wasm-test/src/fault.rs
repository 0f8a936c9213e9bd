//! How a host call ends: a status code for the guest, or a trap.

use crate::types::Status;

/// Why a host call did not return `Status::Ok`.
#[derive(Debug)]
pub(crate) enum Fault {
    /// Return this status to the guest; the VM keeps running.
    Status(Status),
    /// Abort the guest call (e.g. `proc_exit`, or the guest trapped inside
    /// `proxy_on_memory_allocate` while we were returning data to it).
    Trap(wasmtime::Error),
}

impl From<Status> for Fault {
    fn from(status: Status) -> Self {
        Fault::Status(status)
    }
}

/// Result of one host call body; `Ok(())` means `Status::Ok`.
pub(crate) type AbiResult = Result<(), Fault>;

/// Converts a host call body's result into what wasmtime hands the guest.
pub(crate) fn finish(result: AbiResult) -> wasmtime::Result<i32> {
    match result {
        Ok(()) => Ok(Status::Ok as i32),
        Err(Fault::Status(status)) => Ok(status as i32),
        Err(Fault::Trap(error)) => Err(error),
    }
}
