-- Holds a user present through one process until now + ttl (a first hold
-- or a heartbeat), announcing when this brings the user online.
-- (Follows clock.lua and presence_state.lua.)
-- KEYS[1] user:{id}:presence (also the name of its channel)
-- ARGV[1] process   ARGV[2] ttl (ms)
local now = now_ms()
local was_online = live_until(KEYS[1], now)
redis.call('HSET', KEYS[1], 'h:' .. ARGV[1], string.format('%d', now + tonumber(ARGV[2])))
if not was_online then
  redis.call('PUBLISH', KEYS[1], '')
end
return 'ok'
