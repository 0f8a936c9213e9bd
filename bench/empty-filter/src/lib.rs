//! Bench variant (b): the cheapest proxy-wasm HTTP filter there is. It creates an HTTP
//! context per request and returns `Continue` from every callback, so what it costs is
//! the wasm host's own per-request work (VM context creation, callbacks) and nothing else.
//!
//! With the plugin configuration `read_headers` it is the diagnostic variant (h): it
//! also reads the request header map once (one `proxy_get_header_map_pairs` call, which
//! makes the host call back into the VM to allocate the copy) and frees it. That is the
//! least any filter that looks at a request header pays, so (h) − (b) is the floor under
//! every header-reading filter's cost.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(EmptyRoot { read_headers: false }) });
}}

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_get_header_map_pairs(map_type: u32, data: *mut *mut u8, size: *mut usize) -> u32;
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
    read_headers: bool,
}

impl Context for EmptyRoot {}

impl RootContext for EmptyRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        // bench.py passes the configuration JSON-encoded: the string "read_headers".
        let config = self.get_plugin_configuration().unwrap_or_default();
        self.read_headers = config == b"\"read_headers\"" || config == b"read_headers";
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(EmptyFilter {
            read_headers: self.read_headers,
        }))
    }
}

struct EmptyFilter {
    read_headers: bool,
}

impl Context for EmptyFilter {}

// Every other HttpContext callback defaults to `Action::Continue`.
impl HttpContext for EmptyFilter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> proxy_wasm::types::Action {
        if self.read_headers {
            read_request_headers();
        }
        proxy_wasm::types::Action::Continue
    }
}
