-- Removes a reaction and appends ReactionRemoved.
-- (Follows append_event.lua and message_state.lua.)
-- KEYS[4] chat:{id}:members   KEYS[5] chat:{id}:messages   KEYS[6] chat:{id}:changes
-- KEYS[7] chat:{id}:reactions:{message}
-- ARGV[3] chat id   ARGV[4] user   ARGV[5] message id   ARGV[6] emoji
-- A reaction not made (a tombstone has none) is 'unchanged'. An emptied
-- group goes; a group that lost its earliest reactor is re-scored by the
-- next one, so groups stay ordered by their earliest current reaction.
if not redis.call('ZSCORE', KEYS[4], ARGV[4]) then
  return refuse('not_found')
end
if not message_fields(KEYS[5], ARGV[5]) then
  return refuse('not_found')
end
local group = KEYS[7] .. ':' .. ARGV[6]
if redis.call('ZREM', group, ARGV[4]) == 0 then
  return message_reply('unchanged', KEYS[5], KEYS[6], ARGV[5])
end
local first = redis.call('ZRANGE', group, 0, 0, 'WITHSCORES')
if #first == 0 then
  redis.call('ZREM', KEYS[7], ARGV[6])
else
  redis.call('ZADD', KEYS[7], 'XX', first[2], ARGV[6])
end
append_event({'type', 'ReactionRemoved', 'chat', ARGV[3], 'msg', ARGV[5], 'emoji', ARGV[6], 'user', ARGV[4]})
return message_reply('ok', KEYS[5], KEYS[6], ARGV[5])
