-- wrk script of bench/bench_intake.py: posts pre-built, pre-signed webhook requests in turn.
--
-- The requests (raw HTTP, built and signed in Python) are concatenated in BENCH_WRK_REQUESTS,
-- their byte lengths one per line in BENCH_WRK_OFFSETS. Thread k of n takes requests k, k+n,
-- k+2n...: together the threads walk the sequence once, in order (a thread that reaches the end
-- of its share starts over, which bench_intake reports as "wrapped"; with BENCH_WRK_ONCE=1 it
-- stops instead, so a run posts a fixed set, each request once). Every answer is tallied
-- per thread; done() writes the totals, the delivery ids answered 200 and the spool ids of
-- deliveries answered 200 "spooled" (PostgreSQL away) to BENCH_WRK_OUT. A 200 says only that
-- the delivery is stored; what became of its clicks is on the delivery row once the processing
-- worker has been through it, which bench_intake checks after the queue has drained.

local threads = {}

-- Microseconds, for the span of a run that ends before wrk's -d (BENCH_WRK_ONCE): wrk reports
-- its whole duration then, whatever the threads did.
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_usec; } bench_timeval;
  int gettimeofday(bench_timeval *tv, void *tz);
]]
local function now_us()
  local tv = ffi.new("bench_timeval")
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000000 + tonumber(tv.tv_usec)
end

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_WRK_THREADS"))
  local file = assert(io.open(os.getenv("BENCH_WRK_REQUESTS"), "rb"))
  local data = file:read("*a")
  file:close()
  requests = {}
  local offset, index = 1, 0
  for line in io.lines(os.getenv("BENCH_WRK_OFFSETS")) do
    local length = tonumber(line)
    if index % nthreads == id then
      requests[#requests + 1] = data:sub(offset, offset + length - 1)
    end
    offset = offset + length
    index = index + 1
  end
  share = #requests
  once = os.getenv("BENCH_WRK_ONCE") == "1"
  position, sent = 0, 0
  first_us, last_us = 0, 0
  statuses, deliveries, spooled = {}, {}, {}
end

function request()
  if once and sent >= share then
    -- The share is sent: stop this thread (answers still in flight are not awaited).
    wrk.thread:stop()
  end
  position = position % #requests + 1
  sent = sent + 1
  if first_us == 0 then first_us = now_us() end
  return requests[position]
end

function response(status, headers, body)
  last_us = now_us()
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status == 200 then
    local delivery = body:match('"delivery": (%d+)')
    if delivery then
      deliveries[#deliveries + 1] = delivery
    else
      spooled[#spooled + 1] = '"' .. body:match('"spool_id": "([%x%-]+)"') .. '"'
    end
  end
end

function done(summary, latency, requests)
  local statuses, ids, spool_ids = {}, {}, {}
  local sent, shares, wrapped = 0, 0, "false"
  local first, last = 0, 0
  for _, thread in ipairs(threads) do
    sent = sent + thread:get("sent")
    local f, l = thread:get("first_us"), thread:get("last_us")
    if f > 0 and (first == 0 or f < first) then first = f end
    if l > last then last = l end
    shares = shares + thread:get("share")
    -- +1: wrk calls request() once before the run to check the script.
    if thread:get("sent") > thread:get("share") + 1 and not thread:get("once") then
      wrapped = "true"
    end
    for status, count in pairs(thread:get("statuses")) do
      statuses[status] = (statuses[status] or 0) + count
    end
    for _, delivery in ipairs(thread:get("deliveries")) do
      ids[#ids + 1] = delivery
    end
    for _, spool_id in ipairs(thread:get("spooled")) do
      spool_ids[#spool_ids + 1] = spool_id
    end
  end
  local parts = {}
  for status, count in pairs(statuses) do
    parts[#parts + 1] = string.format('"%s": %d', status, count)
  end
  local e = summary.errors
  local out = assert(io.open(os.getenv("BENCH_WRK_OUT"), "w"))
  out:write(string.format(
    '{"duration_us": %d, "span_us": %d, "requests": %d, "sent": %d, "sequence": %d, ' ..
    '"wrapped": %s, ' ..
    '"statuses": {%s}, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d, "mean": %.1f}, ' ..
    '"deliveries": [%s], "spooled": [%s]}\n',
    summary.duration, last - first, summary.requests, sent, shares, wrapped,
    table.concat(parts, ", "),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean,
    table.concat(ids, ", "), table.concat(spool_ids, ", ")))
  out:close()
end
