-- Puts a member in a chat's typing set (renewing its lapse) or takes it
-- out, announcing on the channel when the set's members change; a renewal
-- announces nothing. The channel is named like the typing key. (Follows
-- clock.lua and typing_state.lua.)
-- KEYS[1] chat:{id}:members   KEYS[2] chat:{id}:typing
-- ARGV[1] user   ARGV[2] '1' to type, '0' to stop   ARGV[3] lapse (ms)
-- Replies 'ok', or 'not_found' when the user is not a member.
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 'not_found'
end
local now = now_ms()
local order = nil
for _, typist in ipairs(live_typists(KEYS[2], now)) do
  if typist[1] == ARGV[1] then
    order = typist[2]
  end
end
local was_typing = order ~= nil
if ARGV[2] == '1' then
  local lapse = tonumber(ARGV[3])
  order = order or redis.call('HINCRBY', KEYS[2], '#', 1)
  redis.call('HSET', KEYS[2], ARGV[1], string.format('%d|%d', order, now + lapse))
  -- Every other typist lapses before this one, so the key can go with it.
  redis.call('PEXPIRE', KEYS[2], lapse)
  if not was_typing then
    redis.call('PUBLISH', KEYS[2], '')
  end
elseif was_typing then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('PUBLISH', KEYS[2], '')
end
return 'ok'
