-- Removes a reaction and appends ReactionRemoved.
-- (Follows append_event.lua and message_state.lua, whose conventions for
-- scripts that change one message it uses.)
-- ARGV[6] emoji
-- A reaction not made (a tombstone has none) is 'unchanged'. An emptied
-- group goes; a group that lost its earliest reactor is re-scored by the
-- next one, so groups stay ordered by their earliest current reaction.
if not visible_message() then
  return refuse('not_found')
end
local group = KEYS[9] .. ':' .. ARGV[6]
if redis.call('ZREM', group, ARGV[4]) == 0 then
  return changed('unchanged')
end
local first = redis.call('ZRANGE', group, 0, 0, 'WITHSCORES')
if #first == 0 then
  redis.call('ZREM', KEYS[9], ARGV[6])
else
  redis.call('ZADD', KEYS[9], 'XX', first[2], ARGV[6])
end
append_event({'type', 'ReactionRemoved', 'chat', ARGV[3], 'msg', ARGV[5], 'emoji', ARGV[6], 'user', ARGV[4]})
return changed('ok')
