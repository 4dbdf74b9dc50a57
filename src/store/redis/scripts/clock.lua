-- Redis's own clock in milliseconds. Deadlines of typing and presence are
-- written and compared on this one clock, whatever the processes' say.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

