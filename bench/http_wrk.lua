-- wrk script for bench/http.py (wrk 4.x, LuaJIT). One script for every endpoint:
--
--   wrk ... -s bench/http_wrk.lua URL -- get  PATH
--   wrk ... -s bench/http_wrk.lua URL -- post PATH TOKEN FIRST STRIDE BODY_TEMPLATE
--
-- "post" sends each request for a fresh person: thread t (0-based) uses the people with
-- serials FIRST + t*STRIDE … FIRST + (t+1)*STRIDE - 1, never one twice, and a client_id
-- (idempotency key) made from the serial, so unique across runs too. BODY_TEMPLATE holds
-- {ref} and {uuid}. The client_ids answered 201 are written, one a line, to the file
-- named by $BENCH_IDS_FILE. At the end wrk prints one line "BENCH_JSON {...}" that
-- bench/http.py parses.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  mode = args[1]
  path = args[2]
  issued, responses, ok2xx, created, non2xx, exhausted = 0, 0, 0, 0, 0, 0
  statuses = ""
  created_ids = {}
  if mode == "get" then
    prepared = wrk.format("GET", path)
  else
    headers = {
      ["Authorization"] = "Token " .. args[3],
      ["Content-Type"] = "application/json",
    }
    first = tonumber(args[4])
    stride = tonumber(args[5])
    template = args[6]
  end
end

function request()
  issued = issued + 1
  if mode == "get" then
    return prepared
  end
  local n = issued - 1
  if n >= stride then
    exhausted = exhausted + 1
    n = n % stride -- reuses a person: the server answers 409, the run is invalid
  end
  local serial = first + tid * stride + n
  local ref = string.format("77%012d", serial)
  local uuid = string.format("b0000000-0000-4000-8000-%012x", serial)
  local body = template:gsub("{ref}", ref):gsub("{uuid}", uuid)
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  responses = responses + 1
  if status >= 200 and status < 300 then
    ok2xx = ok2xx + 1
    if status == 201 then
      created = created + 1
      created_ids[created] = body:match('"client_id":%s*"([0-9a-f-]+)"') or "?"
    end
  else
    non2xx = non2xx + 1
    if #statuses < 200 then
      statuses = statuses .. status .. " "
    end
  end
end

function done(summary, latency, requests)
  local t = { issued = 0, responses = 0, ok2xx = 0, created = 0, non2xx = 0, exhausted = 0 }
  local seen = ""
  local ids_file = os.getenv("BENCH_IDS_FILE")
  local ids = ids_file and io.open(ids_file, "w")
  for _, thread in ipairs(threads) do
    for key, _ in pairs(t) do
      t[key] = t[key] + thread:get(key)
    end
    seen = seen .. thread:get("statuses")
    if ids then
      for _, id in ipairs(thread:get("created_ids")) do
        ids:write(id, "\n")
      end
    end
  end
  if ids then
    ids:close()
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, '
      .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, '
      .. '"issued": %d, "responses": %d, "ok2xx": %d, "created": %d, "non2xx": %d, "exhausted": %d, '
      .. '"statuses": "%s"}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect, e.read, e.write, e.timeout,
    t.issued, t.responses, t.ok2xx, t.created, t.non2xx, t.exhausted, seen
  ))
end
