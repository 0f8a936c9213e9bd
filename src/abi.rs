//! GLUE: the proxy-wasm host calls jwt-gate makes, declared against the ABI directly.
//!
//! The SDK's `hostcalls` wrappers `panic!` on any status they do not expect (and its
//! declarations type the returned status as a Rust enum, so a value outside it is
//! undefined behaviour). A panic aborts the VM: every request on that worker fails until
//! the host restarts it. Envoy answers within the expected set, but a host answer is
//! input like any other (SPEC §3), so every call here returns the raw status as an
//! error and never panics. The SDK is still used for its dispatcher (the exported
//! `proxy_on_*` entry points), its context traits and `dispatch_http_call`, whose
//! answer token only the SDK's dispatcher can register.

use std::ptr::{null, null_mut};
use std::time::Duration;

use crate::header_map;

/// A host status other than `Ok` (proxy-wasm ABI numbering: 1 = NotFound,
/// 2 = BadArgument, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostStatus(pub u32);

/// Proxy-wasm map types this filter reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Map {
    /// The request headers of the current stream.
    RequestHeaders = 0,
    /// The headers of the callout answer being delivered.
    CalloutResponseHeaders = 6,
}

/// Proxy-wasm buffer types this filter reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buffer {
    /// The body of the callout answer being delivered.
    CalloutResponseBody = 4,
    /// The plugin configuration (in `on_configure`).
    PluginConfiguration = 7,
}

/// Proxy-wasm metric types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Monotonic counter.
    Counter = 0,
    /// Gauge.
    Gauge = 1,
}

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
    fn proxy_get_log_level(return_level: *mut u32) -> u32;
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        return_buffer_data: *mut *mut u8,
        return_buffer_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> u32;
    fn proxy_replace_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_add_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map_type: u32, key_data: *const u8, key_size: usize) -> u32;
    fn proxy_set_effective_context(context_id: u32) -> u32;
    fn proxy_continue_stream(stream_type: u32) -> u32;
    fn proxy_send_local_response(
        status_code: u32,
        status_code_details_data: *const u8,
        status_code_details_size: usize,
        body_data: *const u8,
        body_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_define_metric(
        metric_type: u32,
        name_data: *const u8,
        name_size: usize,
        return_id: *mut u32,
    ) -> u32;
    fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
    fn proxy_record_metric(metric_id: u32, value: u64) -> u32;
    fn proxy_get_shared_data(
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
        return_cas: *mut u32,
    ) -> u32;
    fn proxy_set_shared_data(
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
    fn proxy_set_property(
        path_data: *const u8,
        path_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
}

fn check(status: u32) -> Result<(), HostStatus> {
    if status == 0 {
        Ok(())
    } else {
        Err(HostStatus(status))
    }
}

/// Takes ownership of a buffer the host allocated for us.
///
/// # Safety
/// On success the host wrote a pointer it obtained from the exported
/// `proxy_on_memory_allocate` (the SDK's, i.e. the global allocator) and its size, so a
/// `Vec` of exactly that allocation is the owner, as in the SDK's own wrappers.
unsafe fn owned(status: u32, data: *mut u8, size: usize) -> Option<Vec<u8>> {
    if status != 0 || data.is_null() {
        return None;
    }
    Some(Vec::from_raw_parts(data, size, size))
}

/// Writes a log line at `level` (proxy-wasm numbering: 0 trace … 4 error).
pub fn log(level: u32, message: &str) {
    // SAFETY: the host only reads the buffer during the call.
    let _ = unsafe { proxy_log(level, message.as_ptr(), message.len()) };
}

/// The host's log level (proxy-wasm numbering).
pub fn log_level() -> Option<u32> {
    let mut level = 0;
    // SAFETY: the host writes one u32 through the pointer.
    check(unsafe { proxy_get_log_level(&mut level) }).ok()?;
    Some(level)
}

/// The host clock, nanoseconds since the Unix epoch.
pub fn now_nanos() -> Option<u64> {
    let mut nanos = 0;
    // SAFETY: the host writes one u64 through the pointer.
    check(unsafe { proxy_get_current_time_nanoseconds(&mut nanos) }).ok()?;
    Some(nanos)
}

/// Asks for `on_tick` every `period`.
pub fn set_tick_period(period: Duration) -> Result<(), HostStatus> {
    let ms = u32::try_from(period.as_millis()).unwrap_or(u32::MAX);
    // SAFETY: no pointers.
    check(unsafe { proxy_set_tick_period_milliseconds(ms) })
}

/// Up to `max` bytes of a host buffer; `None` when absent or on any host error.
pub fn buffer(kind: Buffer, max: usize) -> Option<Vec<u8>> {
    let (mut data, mut size) = (null_mut(), 0);
    // SAFETY: see `owned`.
    unsafe {
        let status = proxy_get_buffer_bytes(kind as u32, 0, max, &mut data, &mut size);
        owned(status, data, size)
    }
}

/// The raw bytes of a header map (decode them with `header_map::decode`, which borrows
/// from them); `None` on any host error.
pub fn header_map_bytes(map: Map) -> Option<Vec<u8>> {
    let (mut data, mut size) = (null_mut(), 0);
    // SAFETY: see `owned`.
    unsafe {
        let status = proxy_get_header_map_pairs(map as u32, &mut data, &mut size);
        owned(status, data, size)
    }
}

/// A header map, decoded defensively (`header_map::decode`) into owned pairs; empty on
/// any host error. For callout answers, read once: the request path borrows instead
/// ([`header_map_bytes`]).
pub fn header_pairs(map: Map) -> Vec<(String, String)> {
    header_map_bytes(map).map_or_else(Vec::new, |bytes| {
        header_map::decode(&bytes)
            .into_iter()
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    })
}

/// Replaces (or adds) request header `name`.
pub fn set_request_header(name: &str, value: &str) -> Result<(), HostStatus> {
    // SAFETY: the host only reads the buffers during the call.
    check(unsafe {
        proxy_replace_header_map_value(
            Map::RequestHeaders as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

/// Appends a value to request header `name` (Envoy does not search the map first, as
/// it must to replace).
pub fn add_request_header(name: &str, value: &str) -> Result<(), HostStatus> {
    // SAFETY: the host only reads the buffers during the call.
    check(unsafe {
        proxy_add_header_map_value(
            Map::RequestHeaders as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

/// Removes every value of request header `name`.
pub fn remove_request_header(name: &str) -> Result<(), HostStatus> {
    // SAFETY: the host only reads the buffer during the call.
    check(unsafe {
        proxy_remove_header_map_value(Map::RequestHeaders as u32, name.as_ptr(), name.len())
    })
}

/// Makes `context_id` the context later calls act on (a paused stream, from the root).
pub fn set_effective_context(context_id: u32) -> Result<(), HostStatus> {
    // SAFETY: no pointers.
    check(unsafe { proxy_set_effective_context(context_id) })
}

/// Lets the paused request of the effective context continue.
pub fn resume_request() -> Result<(), HostStatus> {
    // SAFETY: no pointers. Stream type 0 = the HTTP request.
    check(unsafe { proxy_continue_stream(0) })
}

/// Answers the current request locally.
pub fn send_response(status: u32, headers: &[(&str, &str)], body: &[u8]) -> Result<(), HostStatus> {
    let map = header_map::encode_pairs(headers);
    // SAFETY: the host only reads the buffers during the call. -1: not a gRPC status.
    check(unsafe {
        proxy_send_local_response(
            status,
            null(),
            0,
            body.as_ptr(),
            body.len(),
            map.as_ptr(),
            map.len(),
            -1,
        )
    })
}

/// Registers metric `name`; the id counts through [`increment_metric`].
pub fn define_metric(kind: MetricKind, name: &str) -> Result<u32, HostStatus> {
    let mut id = 0;
    // SAFETY: the host only reads the buffer during the call and writes one u32.
    check(unsafe { proxy_define_metric(kind as u32, name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

/// Adds `by` to counter `id`.
pub fn increment_metric(id: u32, by: i64) -> Result<(), HostStatus> {
    // SAFETY: no pointers.
    check(unsafe { proxy_increment_metric(id, by) })
}

/// Sets gauge `id`.
pub fn record_metric(id: u32, value: u64) -> Result<(), HostStatus> {
    // SAFETY: no pointers.
    check(unsafe { proxy_record_metric(id, value) })
}

/// A shared-data value; `None` when absent or on any host error.
pub fn shared_data_get(key: &str) -> Option<Vec<u8>> {
    let (mut data, mut size, mut cas) = (null_mut(), 0, 0);
    // SAFETY: see `owned`.
    unsafe {
        let status = proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas);
        owned(status, data, size)
    }
}

/// Writes a shared-data value unconditionally (no CAS).
pub fn shared_data_set(key: &str, value: &[u8]) -> Result<(), HostStatus> {
    // SAFETY: the host only reads the buffers during the call.
    check(unsafe { proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), 0) })
}

/// Sets property `name` (a one-segment path) of the current stream.
pub fn set_property(name: &str, value: &[u8]) -> Result<(), HostStatus> {
    // SAFETY: the host only reads the buffers during the call.
    check(unsafe { proxy_set_property(name.as_ptr(), name.len(), value.as_ptr(), value.len()) })
}

/// The `log` crate's logger, writing through [`log`] (the SDK's own logger unwraps
/// the host's status).
#[derive(Debug)]
struct HostLogger;

static LOGGER: HostLogger = HostLogger;

impl ::log::Log for HostLogger {
    fn enabled(&self, metadata: &::log::Metadata<'_>) -> bool {
        metadata.level() <= ::log::max_level()
    }

    fn log(&self, record: &::log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            ::log::Level::Trace => 0,
            ::log::Level::Debug => 1,
            ::log::Level::Info => 2,
            ::log::Level::Warn => 3,
            ::log::Level::Error => 4,
        };
        log(level, &record.args().to_string());
    }

    fn flush(&self) {}
}

/// Installs the logger at `info` and a panic hook that logs the panic (as `critical`)
/// before the abort, so a host shows why a VM died. Makes no host call: Envoy refuses
/// them during `_initialize`.
pub fn install_logger() {
    if ::log::set_logger(&LOGGER).is_ok() {
        std::panic::set_hook(Box::new(|info| log(5, &info.to_string())));
    }
    ::log::set_max_level(::log::LevelFilter::Info);
}

/// Follows the host's log level (proxy-wasm numbering), so lines below it cost nothing.
pub fn follow_log_level(level: u32) {
    ::log::set_max_level(match level {
        0 => ::log::LevelFilter::Trace,
        1 => ::log::LevelFilter::Debug,
        2 => ::log::LevelFilter::Info,
        3 => ::log::LevelFilter::Warn,
        _ => ::log::LevelFilter::Error,
    });
}
