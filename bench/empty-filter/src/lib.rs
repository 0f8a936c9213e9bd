//! Bench variant (b): the cheapest proxy-wasm HTTP filter there is. It creates an HTTP
//! context per request and returns `Continue` from every callback, so what it costs is
//! the wasm host's own per-request work (VM context creation, callbacks) and nothing else.
//!
//! With the plugin configuration `read_headers` it is the diagnostic variant (h): it
//! also reads the request header map once (one `proxy_get_header_map_pairs` call, which
//! makes the host call back into the VM to allocate the copy) and frees it. That is the
//! least any filter that looks at a request header pays, so (h) − (b) is the floor under
//! every header-reading filter's cost.
//!
//! With `hit_host_calls` it is variant (i): the host calls jwt-gate makes on a cache hit
//! with `forward: false` and one claim header, and nothing else: read the header map,
//! read the clock, remove `authorization`, add `x-user-id`. (i) − (b) is the floor under
//! jwt-gate's cache path that no work inside the VM can lower.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(EmptyRoot { work: Work::Nothing }) });
}}

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_get_header_map_pairs(map_type: u32, data: *mut *mut u8, size: *mut usize) -> u32;
    fn proxy_get_current_time_nanoseconds(nanos: *mut u64) -> u32;
    fn proxy_remove_header_map_value(map_type: u32, name: *const u8, name_size: usize) -> u32;
    fn proxy_add_header_map_value(
        map_type: u32,
        name: *const u8,
        name_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
}

/// Variant (i): a cache hit's host calls (see the module docs); statuses are ignored,
/// as the calls cannot fail here.
fn hit_host_calls() {
    read_request_headers();
    let (name, claim) = (b"x-user-id", b"bench-user");
    let mut nanos = 0u64;
    // SAFETY: the host only reads the buffers and writes `nanos` during each call.
    unsafe {
        proxy_get_current_time_nanoseconds(&mut nanos);
        proxy_remove_header_map_value(0, b"authorization".as_ptr(), 13);
        proxy_add_header_map_value(0, name.as_ptr(), name.len(), claim.as_ptr(), claim.len());
    }
}

/// What a request does besides returning `Continue`.
#[derive(Clone, Copy, PartialEq)]
enum Work {
    Nothing,
    ReadHeaders,
    HitHostCalls,
}

/// Reads the request header map (map type 0) raw, without decoding it, and frees it.
fn read_request_headers() {
    let (mut data, mut size) = (std::ptr::null_mut(), 0usize);
    // SAFETY: the host writes a pointer it got from the SDK's `proxy_on_memory_allocate`
    // (a boxed `[u8]` of `size` bytes) and its size; the buffer is freed the same way.
    unsafe {
        if proxy_get_header_map_pairs(0, &mut data, &mut size) == 0 && !data.is_null() {
            drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, size)));
        }
    }
}

struct EmptyRoot {
    work: Work,
}

impl Context for EmptyRoot {}

impl RootContext for EmptyRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        // bench.py passes the configuration JSON-encoded: a string.
        let config = self.get_plugin_configuration().unwrap_or_default();
        let config = String::from_utf8_lossy(&config);
        self.work = match config.trim_matches('"') {
            "read_headers" => Work::ReadHeaders,
            "hit_host_calls" => Work::HitHostCalls,
            _ => Work::Nothing,
        };
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(EmptyFilter { work: self.work }))
    }
}

struct EmptyFilter {
    work: Work,
}

impl Context for EmptyFilter {}

// Every other HttpContext callback defaults to `Action::Continue`.
impl HttpContext for EmptyFilter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> proxy_wasm::types::Action {
        match self.work {
            Work::Nothing => {}
            Work::ReadHeaders => read_request_headers(),
            Work::HitHostCalls => hit_host_calls(),
        }
        proxy_wasm::types::Action::Continue
    }
}
