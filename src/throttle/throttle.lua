-- One GCRA check (see src/throttle/gcra.rs, which this mirrors).
-- KEYS[1]: the key's TAT (ms, Redis clock)
-- ARGV[1]: interval ms, ARGV[2]: tolerance ms, ARGV[3]: 1 to count, 0 to peek
-- Returns 0 when allowed, else the wait in ms before the event would be.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local ahead = tat - now
if ahead > tolerance then
  return ahead - tolerance
end
if ARGV[3] == '1' then
  local next_tat = tat + interval
  redis.call('SET', KEYS[1], next_tat, 'PX', next_tat - now)
end
return 0
