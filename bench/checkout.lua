-- wrk script for bench/checkout_bench.py.
--
-- Arguments (after `--` on the wrk command line):
--   1: HTTP method (GET or POST)
--   2: value of the Authorization header
--   3: path of a file whose bytes are the request body (optional; sent as application/json)
--   4: path of a file of request paths, one a line (optional)
--
-- Without argument 4 no `request` function is defined, so wrk formats the request once per
-- thread and sends the same bytes every time. With it, `init` defines one that sends the same
-- method, headers and body to each path in turn, round robin (wrk looks for `request` after
-- `init` has run). `response` counts answers whose status is not 2xx; `done` prints one
-- line, `BENCH_RESULT {json}`, that the Python driver parses (latencies in microseconds).

local threads = {}
non2xx = 0

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   wrk.method = args[1] or "GET"
   if args[2] and args[2] ~= "" then
      wrk.headers["Authorization"] = args[2]
   end
   if args[3] and args[3] ~= "" then
      local file = assert(io.open(args[3], "rb"))
      wrk.body = file:read("*a")
      file:close()
      wrk.headers["Content-Type"] = "application/json"
   end
   if args[4] and args[4] ~= "" then
      local paths = {}
      for line in io.lines(args[4]) do
         if line ~= "" then
            table.insert(paths, line)
         end
      end
      assert(#paths > 0, "no paths in " .. args[4])
      local turn = 0
      request = function()
         turn = turn % #paths + 1
         return wrk.format(nil, paths[turn])
      end
   end
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   end
end

function done(summary, latency, requests)
   local bad = 0
   for _, thread in ipairs(threads) do
      bad = bad + (thread:get("non2xx") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,'
         .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
         .. '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,'
         .. '"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
      summary.requests, summary.duration, summary.bytes, bad,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.mean, latency.stdev, latency.max,
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)
   ))
end
