-- Ends one process's hold of a user; when no live hold is left, the user
-- goes offline now, which is announced. (Follows clock.lua and
-- presence_state.lua.)
-- KEYS[1] user:{id}:presence (also the name of its channel)   ARGV[1] process
local now = now_ms()
local was_online = live_until(KEYS[1], now)
redis.call('HDEL', KEYS[1], 'h:' .. ARGV[1])
if was_online and not live_until(KEYS[1], now) then
  redis.call('HSET', KEYS[1], 'seen', string.format('%d', now))
  redis.call('PUBLISH', KEYS[1], '')
end
return 'ok'
