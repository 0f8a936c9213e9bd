//! Serving a router: bind, announce the address, log one line per request, and stop
//! cleanly on SIGTERM/SIGINT.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// How long in-flight requests get after a signal before the process exits anyway
/// (a slow client must not keep `make demo-stop` waiting).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds `addr`, prints `<service> listening on http://<addr>` (the tests and `make demo`
/// read the real port from it when `addr` has port 0), and serves until a signal.
pub async fn serve(service: &'static str, addr: SocketAddr, app: Router) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    println!("{service} listening on http://{local}");

    let app = app.layer(middleware::from_fn_with_state(service, log_request));

    // One permit each for the graceful shutdown and the drain timer: `notify_one` stores
    // a permit, so neither can miss the signal however the two futures are polled.
    let stop_serving = Arc::new(Notify::new());
    let start_timer = Arc::new(Notify::new());
    {
        let (a, b) = (stop_serving.clone(), start_timer.clone());
        tokio::spawn(async move {
            let name = wait_for_signal().await;
            println!("{service} received {name}, shutting down");
            a.notify_one();
            b.notify_one();
        });
    }

    let server = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop_serving.notified().await });
    tokio::select! {
        result = server => result?,
        () = async { start_timer.notified().await; tokio::time::sleep(DRAIN_TIMEOUT).await } => {
            println!("{service}: requests still open after {DRAIN_TIMEOUT:?}, exiting anyway");
        }
    }
    println!("{service} stopped");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT and names which one arrived.
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        },
        // Without handlers the process dies on the default action anyway; waiting
        // forever here just means "no graceful path".
        _ => std::future::pending().await,
    }
}

/// One stdout line per request: service, method, path, status, duration. The query
/// string is left out on purpose: jwt-gate can take tokens from a query parameter, and
/// tokens are never logged. Bodies (passwords) are never read here.
async fn log_request(State(service): State<&'static str>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let mut path = req.uri().path().to_owned();
    if path.len() > 200 {
        let mut cut = 200;
        while !path.is_char_boundary(cut) {
            cut -= 1;
        }
        path.truncate(cut);
        path.push('…');
    }
    let started = Instant::now();
    let response = next.run(req).await;
    println!(
        "{service} {method} {path} {} {:.1}ms",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    response
}
