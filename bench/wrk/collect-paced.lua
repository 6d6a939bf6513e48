-- wrk script: bench/wrk/collect.lua's batches, each connection waiting WRK_DELAY_MS (environment,
-- whole milliseconds) before each request: a POST load paced to a given rate, for a control run
-- against a server that answers far faster than the collector (bench/get-p99.mjs).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "collect.lua")

local pause = tonumber(os.getenv("WRK_DELAY_MS") or "0") or 0

function delay()
  return pause
end
