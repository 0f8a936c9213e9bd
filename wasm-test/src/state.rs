//! Everything the emulated host knows, kept in the wasmtime `Store` data so
//! that every `Host` is independent and tests can run in parallel.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::headers::HeaderMap;
use crate::shared::SharedData;
use crate::types::{LogLevel, MetricType};

/// One `proxy_log` call (or one line the guest wrote to stdout/stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub level: LogLevel,
    pub message: String,
}

/// A reply the filter sent with `proxy_send_local_response`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalResponse {
    pub status: u32,
    /// Envoy's "response code details" (often empty).
    pub details: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `None` when the guest passed -1 (not a gRPC reply).
    pub grpc_status: Option<u32>,
}

impl LocalResponse {
    /// First value of a header, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) UTF-8.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An HTTP callout the filter dispatched and the test has not answered yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCall {
    pub token: u32,
    /// The context that was effective when the call was dispatched; the
    /// answer is delivered to it.
    pub context_id: u32,
    /// The Envoy cluster name.
    pub upstream: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
    pub timeout_ms: u32,
    pub dispatched_at: SystemTime,
}

impl PendingCall {
    /// First value of a header (`:path`, `:authority`, …), case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// When Envoy would give up on this call.
    pub fn deadline(&self) -> SystemTime {
        self.dispatched_at + Duration::from_millis(u64::from(self.timeout_ms))
    }
}

/// The host clock: real time, or a fixed instant the test moves explicitly.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Clock {
    Real,
    Fixed(SystemTime),
}

impl Clock {
    pub(crate) fn now(self) -> SystemTime {
        match self {
            Clock::Real => SystemTime::now(),
            Clock::Fixed(at) => at,
        }
    }

    pub(crate) fn now_nanos(self) -> u64 {
        let since = self.now().duration_since(UNIX_EPOCH).unwrap_or_default();
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Per-HTTP-stream state.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    pub(crate) request_headers: HeaderMap,
    pub(crate) request_trailers: HeaderMap,
    pub(crate) response_headers: HeaderMap,
    pub(crate) response_trailers: HeaderMap,
    pub(crate) request_body: Vec<u8>,
    pub(crate) response_body: Vec<u8>,
    pub(crate) local_response: Option<LocalResponse>,
    pub(crate) request_resumed: u32,
    pub(crate) response_resumed: u32,
    pub(crate) closed: bool,
}

#[derive(Debug)]
pub(crate) struct Metric {
    pub(crate) name: String,
    pub(crate) kind: MetricType,
    pub(crate) value: u64,
    pub(crate) samples: Vec<u64>,
}

/// The answer to a callout, visible to the guest only while
/// `proxy_on_http_call_response` runs (as in Envoy).
#[derive(Debug, Default)]
pub(crate) struct CallResponse {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) trailers: HeaderMap,
}

/// Store data of one emulated VM.
#[derive(Debug)]
pub struct HostState {
    pub(crate) plugin_config: Vec<u8>,
    pub(crate) vm_config: Vec<u8>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) log_level: LogLevel,
    pub(crate) clock: Clock,
    /// `proxy_get_current_time_nanoseconds` answers InternalFailure (a lenient host).
    pub(crate) clock_broken: bool,
    pub(crate) root_id: u32,
    pub(crate) next_context_id: u32,
    pub(crate) effective_context: u32,
    pub(crate) streams: BTreeMap<u32, Stream>,
    pub(crate) logs: Vec<LogEntry>,
    /// Unterminated stdout/stderr output, flushed into `logs` per line.
    pub(crate) stdio: [Vec<u8>; 2],
    pub(crate) metrics: Vec<Metric>,
    pub(crate) next_token: u32,
    pub(crate) pending_calls: BTreeMap<u32, PendingCall>,
    pub(crate) call_response: Option<CallResponse>,
    pub(crate) known_clusters: Option<Vec<String>>,
    pub(crate) shared: SharedData,
    pub(crate) queues: Vec<(String, std::collections::VecDeque<Vec<u8>>)>,
    pub(crate) properties: HashMap<Vec<String>, Vec<u8>>,
    pub(crate) tick_period_ms: u32,
    pub(crate) done_calls: u32,
    pub(crate) rng: u64,
    /// Header names (lower case) whose removal `proxy_remove_header_map_value` refuses
    /// with `BadArgument` ([`crate::Host::refuse_header_removal`]).
    pub(crate) refused_removals: Vec<Vec<u8>>,
}

impl HostState {
    pub(crate) fn new() -> Self {
        HostState {
            plugin_config: Vec::new(),
            vm_config: Vec::new(),
            env: Vec::new(),
            log_level: LogLevel::Trace,
            clock: Clock::Real,
            clock_broken: false,
            root_id: 1,
            next_context_id: 2,
            effective_context: 0,
            streams: BTreeMap::new(),
            logs: Vec::new(),
            stdio: [Vec::new(), Vec::new()],
            metrics: Vec::new(),
            next_token: 1,
            pending_calls: BTreeMap::new(),
            call_response: None,
            known_clusters: None,
            shared: SharedData::default(),
            queues: Vec::new(),
            properties: HashMap::new(),
            tick_period_ms: 0,
            done_calls: 0,
            rng: 0x9e37_79b9_7f4a_7c15,
            refused_removals: Vec::new(),
        }
    }

    /// The stream of the effective context, if it is an HTTP context.
    pub(crate) fn current_stream(&mut self) -> Option<&mut Stream> {
        self.streams.get_mut(&self.effective_context)
    }

    pub(crate) fn log(&mut self, level: LogLevel, message: String) {
        self.logs.push(LogEntry { level, message });
    }
}
