-- Adds a reaction and appends ReactionAdded.
-- (Follows append_event.lua and message_state.lua, whose conventions for
-- scripts that change one message it uses.)
-- ARGV[6] emoji   ARGV[7] most distinct emoji per message
-- A reaction already made is 'unchanged'; a tombstone is 'deleted'; a new
-- emoji past the limit is 'too_many'. Reactions are numbered by the chat's
-- reaction_seq, which orders users in a group and groups by their first.
if not visible_message() then
  return refuse('not_found')
end
local _, deleted = message_change(KEYS[7], ARGV[5])
if deleted ~= '' then
  return refuse('deleted')
end
local group = KEYS[9] .. ':' .. ARGV[6]
if redis.call('ZSCORE', group, ARGV[4]) then
  return changed('unchanged')
end
local new_group = not redis.call('ZSCORE', KEYS[9], ARGV[6])
if new_group and redis.call('ZCARD', KEYS[9]) >= tonumber(ARGV[7]) then
  return refuse('too_many')
end
local seq = redis.call('HINCRBY', KEYS[4], 'reaction_seq', 1)
redis.call('ZADD', group, seq, ARGV[4])
if new_group then
  redis.call('ZADD', KEYS[9], seq, ARGV[6])
end
append_event({'type', 'ReactionAdded', 'chat', ARGV[3], 'msg', ARGV[5], 'emoji', ARGV[6], 'user', ARGV[4]})
return changed('ok')
