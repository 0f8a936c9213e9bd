//! Stream control: resume, reset, and local replies.

use wasmtime::{Caller, Linker};

use crate::fault::{finish, AbiResult};
use crate::headers::HeaderMap;
use crate::memory::{read, read_string};
use crate::serial::deserialize_map;
use crate::state::{HostState, LocalResponse};
use crate::types::{Status, StreamType};

type C<'a> = Caller<'a, HostState>;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap("env", "proxy_continue_stream", |mut c: C<'_>, kind: i32| {
        finish(continue_stream(c.data_mut(), kind))
    })?;
    linker.func_wrap("env", "proxy_close_stream", |mut c: C<'_>, kind: i32| {
        finish(close_stream(c.data_mut(), kind))
    })?;
    linker.func_wrap(
        "env",
        "proxy_send_local_response",
        |mut c: C<'_>,
         status: i32,
         details_ptr: i32,
         details_len: i32,
         body_ptr: i32,
         body_len: i32,
         headers_ptr: i32,
         headers_len: i32,
         grpc_status: i32| {
            let args = ReplyArgs {
                status: status as u32,
                details: (details_ptr, details_len),
                body: (body_ptr, body_len),
                headers: (headers_ptr, headers_len),
                grpc_status,
            };
            finish(send_local_response(&mut c, &args))
        },
    )?;
    Ok(())
}

fn continue_stream(state: &mut HostState, kind: i32) -> AbiResult {
    let kind = StreamType::from_raw(kind).ok_or(Status::BadArgument)?;
    let stream = state.current_stream().ok_or(Status::BadArgument)?;
    match kind {
        StreamType::HttpRequest => stream.request_resumed += 1,
        StreamType::HttpResponse => stream.response_resumed += 1,
        StreamType::Downstream | StreamType::Upstream => return Err(Status::BadArgument.into()),
    }
    Ok(())
}

fn close_stream(state: &mut HostState, kind: i32) -> AbiResult {
    StreamType::from_raw(kind).ok_or(Status::BadArgument)?;
    state.current_stream().ok_or(Status::BadArgument)?.closed = true;
    Ok(())
}

struct ReplyArgs {
    status: u32,
    details: (i32, i32),
    body: (i32, i32),
    headers: (i32, i32),
    grpc_status: i32,
}

fn send_local_response(c: &mut C<'_>, args: &ReplyArgs) -> AbiResult {
    let details = read_string(c, args.details.0, args.details.1)?;
    let body = read(c, args.body.0, args.body.1)?;
    let pairs = deserialize_map(&read(c, args.headers.0, args.headers.1)?)
        .ok_or(Status::SerializationFailure)?;
    let headers = HeaderMap::from_pairs(&pairs).to_strings();
    let reply = LocalResponse {
        status: args.status,
        details,
        headers,
        body,
        grpc_status: u32::try_from(args.grpc_status).ok(),
    };
    let stream = c.data_mut().current_stream().ok_or(Status::BadArgument)?;
    stream.local_response = Some(reply);
    Ok(())
}
