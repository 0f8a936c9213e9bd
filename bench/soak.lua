-- wrk script for `make soak` (bench/soak.py): replays a file of mixed requests at full
-- speed and checks every answer.
--
--   wrk ... -s bench/soak.lua http://127.0.0.1:PORT/ -- REQUEST_FILE
--
-- REQUEST_FILE: one request per line, tab-separated: label, request target, Authorization
-- value ("-" for none). The label is "<class>|<expected status>|<expected x-user-id or ->";
-- it is sent as `x-soak-class`, and Envoy echoes it back on every reply, its local replies
-- included (local_reply_config), so response() knows what the answer should have been
-- without tracking connections. On a 200, Envoy also echoes the `x-user-id` the upstream
-- would have received (`x-soak-user`): it must be the token's subject, never the
-- `x-user-id: spoofed` every request carries.
--
-- done() prints machine-readable lines read by bench/soak.py:
--   SOAK-CLASS <class> <replies> <wrong>
--   SOAK-RESULT replies=.. wrong=.. fivexx=.. unlabelled=.. requests=.. duration_us=.. p50_us=.. p99_us=.. max_us=.. err_connect=.. err_read=.. err_write=.. err_timeout=..
--   SOAK-WRONG <up to 20 examples>

local requests = {}
local next_index = 0
local threads = {}

-- Per-thread results, globals so that done() can read them with thread:get().
replies = {}      -- class -> replies
wrongs = {}       -- class -> wrong replies
fivexx = 0
unlabelled = 0
examples = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  local path = args[1]
  if path == nil then error("usage: -- REQUEST_FILE") end
  for line in io.lines(path) do
    local label, target, auth = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
    if label then
      local headers = { ["x-soak-class"] = label, ["x-user-id"] = "spoofed" }
      if auth ~= "-" then headers["Authorization"] = auth end
      requests[#requests + 1] = wrk.format("GET", target, headers)
    end
  end
  if #requests == 0 then error("no request in " .. path) end
end

function request()
  next_index = next_index + 1
  if next_index > #requests then next_index = 1 end
  return requests[next_index]
end

local function note(text)
  if #examples < 20 then examples[#examples + 1] = text end
end

function response(status, headers, body)
  if status >= 500 then fivexx = fivexx + 1 end
  local label = headers["x-soak-class"]
  local class, expect, sub
  if label then class, expect, sub = label:match("^([^|]+)|(%d+)|(.*)$") end
  if class == nil then
    unlabelled = unlabelled + 1
    note(string.format("status %d without a class label: %s", status, (body or ""):sub(1, 120)))
    return
  end
  replies[class] = (replies[class] or 0) + 1
  local user = headers["x-soak-user"]
  if status ~= tonumber(expect) or (sub ~= "-" and user ~= sub) then
    wrongs[class] = (wrongs[class] or 0) + 1
    note(string.format("%s: got %d user=%s", label, status, tostring(user)))
  end
end

function done(summary, latency, _)
  local total_replies, total_wrong, total_5xx, total_unlabelled = 0, 0, 0, 0
  local by_class, wrong_by_class, all_examples = {}, {}, {}
  for _, thread in ipairs(threads) do
    for class, n in pairs(thread:get("replies")) do
      by_class[class] = (by_class[class] or 0) + n
      total_replies = total_replies + n
    end
    for class, n in pairs(thread:get("wrongs")) do
      wrong_by_class[class] = (wrong_by_class[class] or 0) + n
      total_wrong = total_wrong + n
    end
    total_5xx = total_5xx + thread:get("fivexx")
    total_unlabelled = total_unlabelled + thread:get("unlabelled")
    for _, text in ipairs(thread:get("examples")) do all_examples[#all_examples + 1] = text end
  end
  for class, n in pairs(by_class) do
    io.write(string.format("SOAK-CLASS %s %d %d\n", class, n, wrong_by_class[class] or 0))
  end
  local e = summary.errors
  io.write(string.format(
    "SOAK-RESULT replies=%d wrong=%d fivexx=%d unlabelled=%d requests=%d duration_us=%d " ..
    "p50_us=%d p99_us=%d max_us=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
    total_replies, total_wrong, total_5xx, total_unlabelled, summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout))
  for i, text in ipairs(all_examples) do
    if i > 20 then break end
    io.write("SOAK-WRONG " .. text .. "\n")
  end
end
