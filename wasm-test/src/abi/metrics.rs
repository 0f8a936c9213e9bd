//! User metrics (`proxy_define_metric` and friends), with Envoy's rules for
//! what each kind accepts.

use wasmtime::{Caller, Linker};

use crate::fault::{finish, AbiResult, Fault};
use crate::memory::{read_string, write_u32, write_u64};
use crate::state::{HostState, Metric};
use crate::types::{MetricType, Status};

type C<'a> = Caller<'a, HostState>;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_define_metric",
        |mut c: C<'_>, kind: i32, ptr: i32, len: i32, out: i32| {
            finish(define(&mut c, kind, ptr, len, out))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_metric",
        |mut c: C<'_>, id: i32, out: i32| {
            let value = metric(c.data_mut(), id).and_then(|m| match m.kind {
                MetricType::Histogram => Err(Status::BadArgument.into()),
                _ => Ok(m.value),
            });
            finish(value.and_then(|v| write_u64(&mut c, out, v)))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_record_metric",
        |mut c: C<'_>, id: i32, value: i64| finish(record(c.data_mut(), id, value as u64)),
    )?;
    linker.func_wrap(
        "env",
        "proxy_increment_metric",
        |mut c: C<'_>, id: i32, offset: i64| finish(increment(c.data_mut(), id, offset)),
    )?;
    Ok(())
}

/// Ids are index + 1 so that 0 is never a valid id.
fn metric(state: &mut HostState, id: i32) -> Result<&mut Metric, Fault> {
    let index = (id as u32 as usize)
        .checked_sub(1)
        .ok_or(Status::NotFound)?;
    state
        .metrics
        .get_mut(index)
        .ok_or(Fault::Status(Status::NotFound))
}

/// Defining the same name twice returns the first id, as Envoy does, so
/// several root contexts (or VMs) can define one metric.
fn define(c: &mut C<'_>, kind: i32, ptr: i32, len: i32, out: i32) -> AbiResult {
    let kind = MetricType::from_raw(kind).ok_or(Status::BadArgument)?;
    let name = read_string(c, ptr, len)?;
    let metrics = &mut c.data_mut().metrics;
    let index = match metrics.iter().position(|m| m.name == name) {
        Some(index) => index,
        None => {
            metrics.push(Metric {
                name,
                kind,
                value: 0,
                samples: Vec::new(),
            });
            metrics.len() - 1
        }
    };
    let id = u32::try_from(index + 1).map_err(|_| Status::InternalFailure)?;
    write_u32(c, out, id)
}

fn record(state: &mut HostState, id: i32, value: u64) -> AbiResult {
    let metric = metric(state, id)?;
    match metric.kind {
        MetricType::Counter | MetricType::Gauge => metric.value = value,
        MetricType::Histogram => {
            metric.samples.push(value);
            metric.value += 1;
        }
    }
    Ok(())
}

fn increment(state: &mut HostState, id: i32, offset: i64) -> AbiResult {
    let metric = metric(state, id)?;
    match metric.kind {
        MetricType::Counter if offset >= 0 => {
            metric.value = metric.value.wrapping_add(offset as u64)
        }
        MetricType::Gauge => metric.value = metric.value.wrapping_add_signed(offset),
        MetricType::Counter | MetricType::Histogram => return Err(Status::BadArgument.into()),
    }
    Ok(())
}
