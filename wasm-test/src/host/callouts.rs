//! Answering HTTP callouts and firing ticks.

use std::time::Duration;

use super::{len_i32, Host};
use crate::headers::HeaderMap;
use crate::state::{CallResponse, PendingCall};

impl Host {
    /// Callouts dispatched and not answered yet, oldest first.
    pub fn pending_http_calls(&self) -> Vec<PendingCall> {
        self.store.data().pending_calls.values().cloned().collect()
    }

    /// Answers a callout: the guest sees `:status` plus `headers` as the
    /// response headers and `body` as the response body during
    /// `proxy_on_http_call_response`, delivered to the context that
    /// dispatched it. Errors only if the token is not pending.
    pub fn respond_to_http_call(
        &mut self,
        token: u32,
        status: u32,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<()> {
        let mut map = HeaderMap::from_pairs(&[(":status", status.to_string())]);
        for (name, value) in headers {
            map.add(name.as_bytes(), value.as_bytes());
        }
        let response = CallResponse {
            headers: map,
            body: body.to_vec(),
            trailers: HeaderMap::default(),
        };
        self.deliver(token, Some(response))
    }

    /// Fails a callout the way Envoy reports a timeout or a reset: the
    /// response callback with no headers, no body, no trailers.
    pub fn fail_http_call(&mut self, token: u32) -> anyhow::Result<()> {
        self.deliver(token, None)
    }

    /// Fails every pending callout whose `timeout_ms` has passed on the host
    /// clock (use after [`Host::advance`]); returns how many.
    pub fn fail_expired_http_calls(&mut self) -> usize {
        let now = self.now();
        let expired: Vec<u32> = self
            .store
            .data()
            .pending_calls
            .values()
            .filter(|call| call.deadline() <= now)
            .map(|call| call.token)
            .collect();
        for token in &expired {
            // The tokens were just read from the pending set.
            let _ = self.fail_http_call(*token);
        }
        expired.len()
    }

    fn deliver(&mut self, token: u32, response: Option<CallResponse>) -> anyhow::Result<()> {
        let call = self
            .store
            .data_mut()
            .pending_calls
            .remove(&token)
            .ok_or_else(|| anyhow::anyhow!("no pending HTTP call with token {token}"))?;
        let (headers, body, trailers) = response.as_ref().map_or((0, 0, 0), |r| {
            (
                len_i32(r.headers.len()),
                len_i32(r.body.len()),
                len_i32(r.trailers.len()),
            )
        });
        self.store.data_mut().call_response = response;
        let context = call.context_id;
        self.call::<(i32, i32, i32, i32, i32), ()>(
            context,
            "proxy_on_http_call_response",
            (context as i32, token as i32, headers, body, trailers),
        );
        self.store.data_mut().call_response = None;
        Ok(())
    }

    /// Fires `proxy_on_tick` on the root context.
    pub fn tick(&mut self) {
        let root = self.root_context_id();
        self.call::<(i32,), ()>(root, "proxy_on_tick", (root as i32,));
    }

    /// The period the plugin asked for (`None` = ticks off).
    pub fn tick_period(&self) -> Option<Duration> {
        match self.store.data().tick_period_ms {
            0 => None,
            ms => Some(Duration::from_millis(u64::from(ms))),
        }
    }
}
