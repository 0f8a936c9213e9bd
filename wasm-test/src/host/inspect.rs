//! Reading what the filter did.

use std::collections::BTreeMap;

use super::Host;
use crate::shared::SharedData;
use crate::state::{LocalResponse, LogEntry, Stream};
use crate::types::{LogLevel, MetricType};

impl Host {
    fn stream(&self, id: u32) -> Option<&Stream> {
        self.store.data().streams.get(&id)
    }

    /// The local reply the filter sent on this stream (or the 503 of a
    /// trapped VM).
    pub fn local_response(&self, id: u32) -> Option<LocalResponse> {
        self.stream(id).and_then(|s| s.local_response.clone())
    }

    /// Request headers as they stand now (after the filter's changes): what
    /// goes upstream when the request continues.
    pub fn request_headers(&self, id: u32) -> Vec<(String, String)> {
        self.stream(id)
            .map(|s| s.request_headers.to_strings())
            .unwrap_or_default()
    }

    /// First value of one request header, case-insensitively.
    pub fn request_header(&self, id: u32, name: &str) -> Option<String> {
        self.stream(id)?
            .request_headers
            .get(name.as_bytes())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// Response headers as they stand now (after the filter's changes).
    pub fn response_headers(&self, id: u32) -> Vec<(String, String)> {
        self.stream(id)
            .map(|s| s.response_headers.to_strings())
            .unwrap_or_default()
    }

    /// Request trailers as they stand now.
    pub fn request_trailers(&self, id: u32) -> Vec<(String, String)> {
        self.stream(id)
            .map(|s| s.request_trailers.to_strings())
            .unwrap_or_default()
    }

    /// The request body buffer as the filter left it.
    pub fn request_body(&self, id: u32) -> Vec<u8> {
        self.stream(id)
            .map(|s| s.request_body.clone())
            .unwrap_or_default()
    }

    /// Whether the filter resumed the paused request (`proxy_continue_stream`).
    pub fn resumed(&self, id: u32) -> bool {
        self.stream(id).is_some_and(|s| s.request_resumed > 0)
    }

    /// How many times the request was resumed (more than once is a bug).
    pub fn resume_count(&self, id: u32) -> u32 {
        self.stream(id).map_or(0, |s| s.request_resumed)
    }

    /// Whether the filter resumed the paused response.
    pub fn response_resumed(&self, id: u32) -> bool {
        self.stream(id).is_some_and(|s| s.response_resumed > 0)
    }

    /// Whether the filter reset the stream (`proxy_close_stream`).
    pub fn stream_closed(&self, id: u32) -> bool {
        self.stream(id).is_some_and(|s| s.closed)
    }

    /// Every log line, in order (`proxy_log` and guest stdout/stderr).
    pub fn logs(&self) -> &[LogEntry] {
        &self.store.data().logs
    }

    /// The messages logged at exactly `level`.
    pub fn logs_at(&self, level: LogLevel) -> Vec<String> {
        self.logs()
            .iter()
            .filter(|e| e.level == level)
            .map(|e| e.message.clone())
            .collect()
    }

    /// Forgets the recorded logs (e.g. between phases of a test).
    pub fn clear_logs(&mut self) {
        self.store.data_mut().logs.clear();
    }

    /// Every defined metric by name. Counters and gauges give their value,
    /// histograms the number of recorded samples.
    pub fn metrics(&self) -> BTreeMap<String, u64> {
        self.store
            .data()
            .metrics
            .iter()
            .map(|m| (m.name.clone(), m.value))
            .collect()
    }

    /// One metric's value (see [`Host::metrics`]).
    pub fn metric(&self, name: &str) -> Option<u64> {
        self.store
            .data()
            .metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.value)
    }

    /// The samples recorded into a histogram.
    pub fn histogram(&self, name: &str) -> Vec<u64> {
        self.store
            .data()
            .metrics
            .iter()
            .find(|m| m.name == name && m.kind == MetricType::Histogram)
            .map(|m| m.samples.clone())
            .unwrap_or_default()
    }

    /// The shared-data store (clone it into another host to share it).
    pub fn shared_data(&self) -> SharedData {
        self.store.data().shared.clone()
    }

    /// A shared-data value and its CAS.
    pub fn get_shared_data(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.store.data().shared.get(key)
    }

    /// Writes shared data unconditionally (as another worker would).
    pub fn set_shared_data(&self, key: &str, value: &[u8]) -> u32 {
        // cas 0 never mismatches.
        self.store.data().shared.set(key, value, 0).unwrap_or(0)
    }

    /// A property value (set by the test or by the guest).
    pub fn property(&self, path: &[&str]) -> Option<Vec<u8>> {
        let key: Vec<String> = path.iter().map(|p| (*p).to_string()).collect();
        self.store.data().properties.get(&key).cloned()
    }

    /// How many times the guest called `proxy_done`.
    pub fn done_calls(&self) -> u32 {
        self.store.data().done_calls
    }
}
