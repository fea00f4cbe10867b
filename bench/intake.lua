-- wrk script of bench/bench_intake.py: posts pre-built, pre-signed webhook requests in turn.
--
-- The requests (raw HTTP, built and signed in Python) are concatenated in BENCH_WRK_REQUESTS,
-- their byte lengths one per line in BENCH_WRK_OFFSETS. Thread k of n takes requests k, k+n,
-- k+2n...: together the threads walk the sequence once, in order (a thread that reaches the end
-- of its share starts over, which bench_intake reports as "wrapped"). Every answer is tallied
-- per thread; done() writes the totals and the delivery ids answered 200 to BENCH_WRK_OUT.

local threads = {}

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
  position, sent, created, duplicates = 0, 0, 0, 0
  statuses, deliveries = {}, {}
end

function request()
  position = position % #requests + 1
  sent = sent + 1
  return requests[position]
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status == 200 then
    deliveries[#deliveries + 1] = body:match('"delivery": (%d+)')
    created = created + tonumber(body:match('"clicks_created": (%d+)'))
    duplicates = duplicates + tonumber(body:match('"duplicates": (%d+)'))
  end
end

function done(summary, latency, requests)
  local statuses, ids = {}, {}
  local sent, shares, created, duplicates, wrapped = 0, 0, 0, 0, "false"
  for _, thread in ipairs(threads) do
    sent = sent + thread:get("sent")
    shares = shares + thread:get("share")
    -- +1: wrk calls request() once before the run to check the script.
    if thread:get("sent") > thread:get("share") + 1 then wrapped = "true" end
    created = created + thread:get("created")
    duplicates = duplicates + thread:get("duplicates")
    for status, count in pairs(thread:get("statuses")) do
      statuses[status] = (statuses[status] or 0) + count
    end
    for _, delivery in ipairs(thread:get("deliveries")) do
      ids[#ids + 1] = delivery
    end
  end
  local parts = {}
  for status, count in pairs(statuses) do
    parts[#parts + 1] = string.format('"%s": %d', status, count)
  end
  local e = summary.errors
  local out = assert(io.open(os.getenv("BENCH_WRK_OUT"), "w"))
  out:write(string.format(
    '{"duration_us": %d, "requests": %d, "sent": %d, "sequence": %d, "wrapped": %s, ' ..
    '"statuses": {%s}, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d, "mean": %.1f}, ' ..
    '"clicks_created": %d, "duplicates": %d, "deliveries": [%s]}\n',
    summary.duration, summary.requests, sent, shares, wrapped, table.concat(parts, ", "),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean,
    created, duplicates, table.concat(ids, ", ")))
  out:close()
end
