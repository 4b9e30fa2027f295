-- Driven by bench/load/wrk.ts. Sends the requests listed in the file given after `--` (one
-- "<path>\t<authorization>" per line) round-robin, and prints one JSON line of results at the end.
local requests = {}
local index = 0

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local path, authorization = line:match("^([^\t]+)\t(.*)$")
    if path then
      local headers = {}
      if authorization ~= "" then headers["Authorization"] = authorization end
      requests[#requests + 1] = wrk.format("GET", path, headers)
    end
  end
  file:close()
  index = math.random(#requests) - 1
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
