-- wrk script for the MCP benchmarks (benchmarks/run.py drives it).
--
-- Environment: BENCH_METHOD, BENCH_BODY_FILE (request body), BENCH_HEADERS ("Name: value" lines),
-- BENCH_MAX_REQUESTS (each thread stops after that many responses: bounded in requests as well
-- as in time by wrk's -d). done() prints one line "BENCHJSON {...}" with the figures.

local function read_file(path)
   if not path or path == "" then return nil end
   local f = assert(io.open(path, "rb"))
   local data = f:read("*a")
   f:close()
   return data
end

wrk.method = os.getenv("BENCH_METHOD") or "POST"
wrk.body = read_file(os.getenv("BENCH_BODY_FILE"))
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
   local name, value = string.match(line, "^([^:]+):%s*(.*)$")
   if name then wrk.headers[name] = value end
end

local max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "0") or 0
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

responses = 0
not_ok = 0

function response(status, headers, body)
   responses = responses + 1
   if status ~= 200 then not_ok = not_ok + 1 end
   if max_requests > 0 and responses >= max_requests then
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local bad = 0
   local total = 0
   for _, thread in ipairs(threads) do
      bad = bad + (thread:get("not_ok") or 0)
      total = total + (thread:get("responses") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCHJSON {"requests": %d, "responses": %d, "duration_us": %d, "not_ok": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
      summary.requests, total, summary.duration, bad,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
