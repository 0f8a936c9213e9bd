//! Driving HTTP contexts through their callbacks.

use super::{len_i32, Host};
use crate::headers::HeaderMap;
use crate::state::Stream;
use crate::types::Action;

/// Which half of the exchange a callback is about.
#[derive(Clone, Copy)]
enum Half {
    Request,
    Response,
}

impl Host {
    /// Creates an HTTP context under the root (`proxy_on_context_create`)
    /// and returns its id.
    pub fn init_http_context(&mut self) -> u32 {
        let state = self.store.data_mut();
        let id = state.next_context_id;
        state.next_context_id += 1;
        state.streams.insert(id, Stream::default());
        let root = self.root_context_id();
        self.call::<(i32, i32), ()>(id, "proxy_on_context_create", (id as i32, root as i32));
        id
    }

    /// Delivers request headers (names are lower-cased, as Envoy's codecs
    /// do). Pseudo-headers (`:method`, `:path`, `:authority`) are the
    /// caller's to include.
    pub fn call_on_request_headers<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        id: u32,
        headers: &[(K, V)],
        end_of_stream: bool,
    ) -> Action {
        self.headers_callback(
            id,
            Half::Request,
            HeaderMap::from_pairs(headers),
            end_of_stream,
        )
    }

    /// Delivers response headers (`:status` is the caller's to include).
    pub fn call_on_response_headers<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        id: u32,
        headers: &[(K, V)],
        end_of_stream: bool,
    ) -> Action {
        self.headers_callback(
            id,
            Half::Response,
            HeaderMap::from_pairs(headers),
            end_of_stream,
        )
    }

    /// Delivers one request body chunk (the buffer the guest sees).
    pub fn call_on_request_body(&mut self, id: u32, body: &[u8], end_of_stream: bool) -> Action {
        self.body_callback(id, Half::Request, body, end_of_stream)
    }

    /// Delivers one response body chunk.
    pub fn call_on_response_body(&mut self, id: u32, body: &[u8], end_of_stream: bool) -> Action {
        self.body_callback(id, Half::Response, body, end_of_stream)
    }

    /// Delivers request trailers.
    pub fn call_on_request_trailers<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        id: u32,
        trailers: &[(K, V)],
    ) -> Action {
        self.trailers_callback(id, Half::Request, HeaderMap::from_pairs(trailers))
    }

    /// Delivers response trailers.
    pub fn call_on_response_trailers<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        id: u32,
        trailers: &[(K, V)],
    ) -> Action {
        self.trailers_callback(id, Half::Response, HeaderMap::from_pairs(trailers))
    }

    /// `proxy_on_done`: true if the context is done now, false if it will
    /// call `proxy_done` later.
    pub fn call_on_done(&mut self, id: u32) -> bool {
        // Like proxy-wasm-cpp-host: a module without the export is done at once.
        if !self.exports("proxy_on_done") {
            return true;
        }
        self.call::<(i32,), i32>(id, "proxy_on_done", (id as i32,))
            .is_some_and(|done| done != 0)
    }

    /// `proxy_on_log` (access-log time).
    pub fn call_on_log(&mut self, id: u32) {
        if self.exports("proxy_on_log") {
            self.call::<(i32,), ()>(id, "proxy_on_log", (id as i32,));
        }
    }

    /// `proxy_on_delete`: the context is gone; its recorded state stays
    /// readable.
    pub fn call_on_delete(&mut self, id: u32) {
        if self.exports("proxy_on_delete") {
            self.call::<(i32,), ()>(id, "proxy_on_delete", (id as i32,));
        }
    }

    /// End of a stream as Envoy runs it: done, log, delete.
    pub fn complete_http_context(&mut self, id: u32) {
        self.call_on_done(id);
        self.call_on_log(id);
        self.call_on_delete(id);
    }

    /// The stream, or a recorded failure if the test used an unknown id.
    fn stream_mut(&mut self, id: u32) -> Option<&mut Stream> {
        if self.store.data().streams.contains_key(&id) {
            self.store.data_mut().streams.get_mut(&id)
        } else {
            self.fail(
                None,
                format!("no HTTP context {id} (call init_http_context first)"),
            );
            None
        }
    }

    fn headers_callback(
        &mut self,
        id: u32,
        half: Half,
        map: HeaderMap,
        end_of_stream: bool,
    ) -> Action {
        let count = len_i32(map.len());
        let Some(stream) = self.stream_mut(id) else {
            return Action::Pause;
        };
        let name = match half {
            Half::Request => {
                stream.request_headers = map;
                "proxy_on_request_headers"
            }
            Half::Response => {
                stream.response_headers = map;
                "proxy_on_response_headers"
            }
        };
        self.action(id, name, (id as i32, count, i32::from(end_of_stream)))
    }

    fn body_callback(&mut self, id: u32, half: Half, body: &[u8], end_of_stream: bool) -> Action {
        let size = len_i32(body.len());
        let Some(stream) = self.stream_mut(id) else {
            return Action::Pause;
        };
        let name = match half {
            Half::Request => {
                stream.request_body = body.to_vec();
                "proxy_on_request_body"
            }
            Half::Response => {
                stream.response_body = body.to_vec();
                "proxy_on_response_body"
            }
        };
        self.action(id, name, (id as i32, size, i32::from(end_of_stream)))
    }

    fn trailers_callback(&mut self, id: u32, half: Half, map: HeaderMap) -> Action {
        let count = len_i32(map.len());
        let Some(stream) = self.stream_mut(id) else {
            return Action::Pause;
        };
        let name = match half {
            Half::Request => {
                stream.request_trailers = map;
                "proxy_on_request_trailers"
            }
            Half::Response => {
                stream.response_trailers = map;
                "proxy_on_response_trailers"
            }
        };
        self.action(id, name, (id as i32, count))
    }

    /// A trapped VM holds the stream (it has a 503 local reply by then). A callback
    /// the module does not export is skipped and the stream continues, as Envoy's
    /// proxy-wasm-cpp-host does (jwt-gate exports only what it uses: each callback
    /// costs a VM entry per request).
    fn action<P: wasmtime::WasmParams>(&mut self, id: u32, name: &str, params: P) -> Action {
        if self.trap.is_none() && !self.exports(name) {
            return Action::Continue;
        }
        self.call::<P, i32>(id, name, params)
            .map_or(Action::Pause, Action::from_raw)
    }
}
