-- Reads a message's reaction groups in order, as one viewer sees them.
-- Writes nothing.
-- KEYS[1] chat:{id}:reactions:{message}
-- ARGV[1] the viewer   ARGV[2] most users to list per group
-- Replies one {emoji, count, 1 if the viewer is in it else 0, users} per
-- group, earliest group first, users earliest first.
local groups = {}
for i, emoji in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = KEYS[1] .. ':' .. emoji
  local mine = 0
  if redis.call('ZSCORE', key, ARGV[1]) then
    mine = 1
  end
  groups[i] = {emoji, redis.call('ZCARD', key), mine,
    redis.call('ZRANGE', key, 0, tonumber(ARGV[2]) - 1)}
end
return groups
