//! Bench variant (b): the cheapest proxy-wasm HTTP filter there is. It creates an HTTP
//! context per request and returns `Continue` from every callback, so what it costs is
//! the wasm host's own per-request work (VM context creation, callbacks) and nothing else.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(EmptyRoot) });
}}

struct EmptyRoot;

impl Context for EmptyRoot {}

impl RootContext for EmptyRoot {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(EmptyFilter))
    }
}

struct EmptyFilter;

impl Context for EmptyFilter {}

// Every HttpContext callback defaults to `Action::Continue`.
impl HttpContext for EmptyFilter {}
