//! Outgoing calls: `proxy_http_call` is recorded for the test to answer;
//! gRPC is not offered (the SDK turns `InternalFailure` into an `Err`).

use wasmtime::{Caller, Linker};

use crate::fault::{finish, AbiResult};
use crate::headers::HeaderMap;
use crate::memory::{read, read_string, return_bytes, write_u32};
use crate::serial::deserialize_map;
use crate::state::{HostState, PendingCall};
use crate::types::Status;

type C<'a> = Caller<'a, HostState>;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_http_call",
        |mut c: C<'_>,
         up_ptr: i32,
         up_len: i32,
         h_ptr: i32,
         h_len: i32,
         b_ptr: i32,
         b_len: i32,
         t_ptr: i32,
         t_len: i32,
         timeout: i32,
         token_out: i32| {
            let args = CallArgs {
                upstream: (up_ptr, up_len),
                headers: (h_ptr, h_len),
                body: (b_ptr, b_len),
                trailers: (t_ptr, t_len),
                timeout_ms: timeout as u32,
            };
            finish(http_call(&mut c, &args, token_out))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_grpc_call",
        |_: C<'_>,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32| { finish(Err(Status::InternalFailure.into())) },
    )?;
    linker.func_wrap(
        "env",
        "proxy_grpc_stream",
        |_: C<'_>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32| {
            finish(Err(Status::InternalFailure.into()))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_grpc_send",
        |_: C<'_>, _: i32, _: i32, _: i32, _: i32| finish(Err(Status::NotFound.into())),
    )?;
    linker.func_wrap("env", "proxy_grpc_cancel", |_: C<'_>, _: i32| {
        finish(Err(Status::NotFound.into()))
    })?;
    linker.func_wrap("env", "proxy_grpc_close", |_: C<'_>, _: i32| {
        finish(Err(Status::NotFound.into()))
    })?;
    linker.func_wrap(
        "env",
        "proxy_get_status",
        |mut c: C<'_>, code_out: i32, msg_ptr: i32, msg_len: i32| {
            let result = write_u32(&mut c, code_out, 0)
                .and_then(|()| return_bytes(&mut c, &[], msg_ptr, msg_len));
            finish(result)
        },
    )?;
    Ok(())
}

struct CallArgs {
    upstream: (i32, i32),
    headers: (i32, i32),
    body: (i32, i32),
    trailers: (i32, i32),
    timeout_ms: u32,
}

fn http_call(c: &mut C<'_>, args: &CallArgs, token_out: i32) -> AbiResult {
    let upstream = read_string(c, args.upstream.0, args.upstream.1)?;
    let headers = read_map(c, args.headers)?;
    let body = read(c, args.body.0, args.body.1)?;
    let trailers = read_map(c, args.trailers)?;
    // Envoy refuses a callout without these pseudo-headers, or to a cluster
    // it does not know, with BadArgument.
    for required in [":method", ":path", ":authority"] {
        if headers.get(required.as_bytes()).is_none() {
            return Err(Status::BadArgument.into());
        }
    }
    let state = c.data_mut();
    if let Some(known) = &state.known_clusters {
        if !known.contains(&upstream) {
            return Err(Status::BadArgument.into());
        }
    }
    let token = state.next_token;
    state.next_token = state.next_token.wrapping_add(1).max(1);
    let call = PendingCall {
        token,
        context_id: state.effective_context,
        upstream,
        headers: headers.to_strings(),
        body,
        trailers: trailers.to_strings(),
        timeout_ms: args.timeout_ms,
        dispatched_at: state.clock.now(),
    };
    state.pending_calls.insert(token, call);
    write_u32(c, token_out, token)
}

fn read_map(c: &mut C<'_>, (ptr, len): (i32, i32)) -> Result<HeaderMap, crate::fault::Fault> {
    let pairs = deserialize_map(&read(c, ptr, len)?).ok_or(Status::SerializationFailure)?;
    Ok(HeaderMap::from_pairs(&pairs))
}
