//! Probe filter for the wasm-test host. Each request path exercises one host
//! feature; see wasm-test/tests/host.rs for the expectations.

use std::time::{Duration, UNIX_EPOCH};

use log::{error, info, warn};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(Root { requests: 0, ticks: 0, hist: 0 }));
}}

struct Root {
    requests: u32,
    ticks: u32,
    hist: u32,
}

fn secs(t: std::time::SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl Context for Root {
    fn on_http_call_response(&mut self, token: u32, headers: usize, body: usize, _: usize) {
        let status = self.get_http_call_response_header(":status").unwrap_or_default();
        let body = self.get_http_call_response_body(0, body).unwrap_or_default();
        info!("root callout {token}: headers={headers} status={status} body={}", String::from_utf8_lossy(&body));
        if !body.is_empty() {
            let _ = self.set_shared_data("fetched", Some(&body), None);
        }
    }
}

impl RootContext for Root {
    fn on_vm_start(&mut self, size: usize) -> bool {
        let vm = self.get_vm_configuration().unwrap_or_default();
        info!("vm start size={size} config={}", String::from_utf8_lossy(&vm));
        info!("env PROBE_ENV={}", std::env::var("PROBE_ENV").unwrap_or_else(|_| "<unset>".into()));
        true
    }

    fn on_configure(&mut self, _: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        let config = String::from_utf8_lossy(&config).into_owned();
        if config.contains("panic") {
            panic!("configured to panic");
        }
        if config.contains("fail") {
            error!("bad config: {config}");
            return false;
        }
        if config.contains("exit") {
            std::process::exit(3);
        }
        self.requests = proxy_wasm::hostcalls::define_metric(MetricType::Counter, "probe_requests").unwrap();
        self.ticks = proxy_wasm::hostcalls::define_metric(MetricType::Counter, "probe_ticks").unwrap();
        self.hist = proxy_wasm::hostcalls::define_metric(MetricType::Histogram, "probe_hist").unwrap();
        let gauge = proxy_wasm::hostcalls::define_metric(MetricType::Gauge, "probe_gauge").unwrap();
        proxy_wasm::hostcalls::increment_metric(gauge, 5).unwrap();
        proxy_wasm::hostcalls::increment_metric(gauge, -2).unwrap();
        if config.contains("tick") {
            self.set_tick_period(Duration::from_millis(1500));
        }
        println!("configured: {config}");
        true
    }

    fn on_tick(&mut self) {
        proxy_wasm::hostcalls::increment_metric(self.ticks, 1).unwrap();
        let token = self.dispatch_http_call(
            "idp",
            vec![(":method", "GET"), (":path", "/jwks"), (":authority", "idp.test")],
            None,
            vec![],
            Duration::from_millis(2000),
        );
        info!("tick dispatched {token:?}");
    }

    fn create_http_context(&self, id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Probe { id, requests: self.requests, hist: self.hist }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Probe {
    id: u32,
    requests: u32,
    hist: u32,
}

impl Context for Probe {
    fn on_http_call_response(&mut self, _: u32, headers: usize, body: usize, _: usize) {
        if headers == 0 {
            warn!("#{} callout failed", self.id);
            self.send_http_response(503, vec![("retry-after", "1")], Some(b"unavailable"));
            return;
        }
        let body = self.get_http_call_response_body(0, body).unwrap_or_default();
        let status = self.get_http_call_response_header(":status").unwrap_or_default();
        self.set_http_request_header("x-callout", Some(&format!("{status} {}", String::from_utf8_lossy(&body))));
        self.resume_http_request();
    }
}

impl HttpContext for Probe {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        proxy_wasm::hostcalls::increment_metric(self.requests, 1).unwrap();
        let path = self.get_http_request_header(":path").unwrap_or_default();
        info!("#{} request path={path}", self.id);
        match path.as_str() {
            "/deny" => {
                self.send_http_response(401, vec![("www-authenticate", "Bearer realm=\"probe\"")], Some(b"{\"error\":\"denied\"}"));
                Action::Pause
            }
            "/callout" => {
                let auth = self.get_http_request_header("authorization").unwrap_or_default();
                match self.dispatch_http_call(
                    "users",
                    vec![(":method", "POST"), (":path", "/check"), (":authority", "users.test"), ("x-auth", &auth)],
                    Some(b"payload"),
                    vec![],
                    Duration::from_millis(500),
                ) {
                    Ok(_) => Action::Pause,
                    Err(status) => {
                        self.send_http_response(500, vec![], Some(format!("{status:?}").as_bytes()));
                        Action::Pause
                    }
                }
            }
            "/bad-callout" => {
                let result = self.dispatch_http_call("users", vec![(":path", "/x")], None, vec![], Duration::from_secs(1));
                self.set_http_request_header("x-dispatch", Some(&format!("{result:?}")));
                Action::Continue
            }
            "/time" => {
                let host = secs(self.get_current_time());
                let wasi = secs(std::time::SystemTime::now());
                self.set_http_request_header("x-now", Some(&host.to_string()));
                self.set_http_request_header("x-wasi-now", Some(&wasi.to_string()));
                Action::Continue
            }
            "/env" => {
                let value = std::env::var("PROBE_ENV").unwrap_or_else(|_| "<unset>".into());
                self.set_http_request_header("x-env", Some(&value));
                Action::Continue
            }
            "/shared" => {
                let (value, cas) = self.get_shared_data("counter");
                let n: u32 = value.and_then(|v| String::from_utf8(v).ok()).and_then(|s| s.parse().ok()).unwrap_or(0);
                let first = self.set_shared_data("counter", Some((n + 1).to_string().as_bytes()), cas);
                // Re-using the now stale CAS must be refused.
                let stale = self.set_shared_data("counter", Some(b"stale"), cas.or(Some(12345)));
                self.set_http_request_header("x-shared", Some(&format!("{n} {first:?} {stale:?}")));
                Action::Continue
            }
            "/property" => {
                let value = self.get_property(vec!["request", "id"]);
                self.set_property(vec!["probe", "seen"], Some(b"yes"));
                let text = value.map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or_else(|| "none".into());
                self.set_http_request_header("x-property", Some(&text));
                Action::Continue
            }
            "/panic" => panic!("probe panic on request"),
            _ => {
                self.set_http_request_header("x-user-id", None);
                self.add_http_request_header("x-probe", "1");
                self.set_http_request_header("x-replace", Some("new"));
                proxy_wasm::hostcalls::record_metric(self.hist, 42).unwrap();
                eprintln!("stderr line");
                Action::Continue
            }
        }
    }

    fn on_http_response_headers(&mut self, _: usize, _: bool) -> Action {
        self.add_http_response_header("x-resp", "1");
        Action::Continue
    }
}
