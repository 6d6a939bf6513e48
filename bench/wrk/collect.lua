-- wrk script: POST /collect with batches of 1-3 events, every event id unique.
-- Arguments (after `--`): a run prefix (unique per wrk run), the experiment key and its variants,
-- e.g. `wrk ... -s collect.lua URL -- p1 hero-headline control free-shipping`.
-- Each simulated visitor sends three batches, so a batch is never a duplicate and the visitor is
-- counted once: exposure + pageview + goal (3 events), then a pageview (1), then pageview + goal
-- with a value (2): 2 events per batch on average.
-- Per-thread counters of the answers' statuses are summed in done(), which prints one JSON line
-- starting with WRK_JSON.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  prefix = args[1] or "w"
  experiment = args[2] or "hero-headline"
  variants = {}
  for i = 3, #args do variants[#variants + 1] = args[i] end
  if #variants == 0 then variants = { "control" } end
  n = 0
  c2xx, c429, c503, cother = 0, 0, 0, 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
end

local function event(id, kind, ts, visitor, extra)
  return string.format('{"id":"%s","type":"%s","ts":%d,"visitor":"%s","session":"s_%s","url":"/shop/"%s}',
    id, kind, ts, visitor, visitor, extra)
end

function request()
  n = n + 1
  local base = prefix .. "-" .. tid .. "-" .. n
  local v = math.floor((n - 1) / 3)
  local visitor = "v_" .. prefix .. "_" .. tid .. "_" .. v
  local ts = os.time() * 1000
  local step = (n - 1) % 3
  local events
  if step == 0 then
    local variant = variants[(v % #variants) + 1]
    events = event(base .. "e", "exposure", ts, visitor,
        string.format(',"experiment":"%s","variant":"%s"', experiment, variant))
      .. "," .. event(base .. "p", "pageview", ts, visitor, "")
      .. "," .. event(base .. "g", "goal", ts, visitor, ',"goal":"add_to_cart"')
  elseif step == 1 then
    events = event(base .. "p", "pageview", ts + 1, visitor, "")
  else
    events = event(base .. "p", "pageview", ts + 2, visitor, "")
      .. "," .. event(base .. "g", "goal", ts + 2, visitor, ',"goal":"purchase","value":49.9')
  end
  local body = string.format('{"v":1,"sent_at":%d,"events":[%s]}', ts, events)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    c2xx = c2xx + 1
  elseif status == 503 then
    c503 = c503 + 1
  elseif status == 429 then
    c429 = c429 + 1
  else
    cother = cother + 1
  end
end

function done(summary, latency, requests)
  local s2xx, s429, s503, sother = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    s2xx = s2xx + t:get("c2xx")
    s429 = s429 + t:get("c429")
    s503 = s503 + t:get("c503")
    sother = sother + t:get("cother")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us":%d,"requests":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"s2xx":%d,"s429":%d,"s503":%d,"sother":%d}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    s2xx, s429, s503, sother))
end
