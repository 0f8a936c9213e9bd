-- wrk script for `make bench`: rotates through the tokens of a file, one per line.
--
--   wrk ... -s bench/tokens.lua http://127.0.0.1:PORT/ -- TOKEN_FILE [START]
--
-- Every request is pre-built in init() (one string per token), so request() costs one
-- table index on wrk's core. The file holds one token (the cache path) or a pool of
-- distinct tokens larger than any cache (the verification path); the same script runs
-- for every variant, so every variant gets byte-identical requests. START (0-based)
-- continues the rotation where the previous run against the same Envoy stopped, so a
-- token comes back only after the whole pool has gone by, however short each run is.
-- done() prints one machine-readable line, read by bench/bench.py.
--
-- With BENCH_PACE_MS set, each connection waits a random time of that mean (an
-- exponential draw, so arrivals are Poisson) after every response before its next
-- request: an unsaturated rate (16 connections × 8 ms ≈ 2,000 req/s), where latency is
-- the request's own time instead of queueing behind the other connections. A fixed
-- pause would keep the 16 connections in lock step (they start together), and every
-- request would queue behind a burst of 15 others. wrk decides whether a script paces
-- when it loads it, so delay() is defined only then.

local requests = {}
local next_index = 0

function init(args)
  local path = args[1]
  if path == nil then error("usage: -- TOKEN_FILE") end
  for line in io.lines(path) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("GET", "/", { ["Authorization"] = "Bearer " .. line })
    end
  end
  if #requests == 0 then error("no token in " .. path) end
  next_index = (tonumber(args[2] or "0") or 0) % #requests
end

local pace_ms = tonumber(os.getenv("BENCH_PACE_MS") or "")
if pace_ms ~= nil and pace_ms > 0 then
  math.randomseed(os.time())
  function delay()
    -- wrk truncates to whole milliseconds; the mean stays within half a millisecond.
    return -math.log(1 - math.random()) * pace_ms + 0.5
  end
end

function request()
  next_index = next_index + 1
  if next_index > #requests then next_index = 1 end
  return requests[next_index]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    "BENCH-RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d mean_us=%.1f max_us=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
