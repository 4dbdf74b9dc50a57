-- Moves a member's read position forward to a message and appends ChatRead.
-- (Follows append_event.lua and message_state.lua.)
-- KEYS[4] chat:{id}   KEYS[5] chat:{id}:members   KEYS[6] chat:{id}:messages
-- KEYS[7] chat:{id}:reads
-- ARGV[3] chat id   ARGV[4] user   ARGV[5] message id
-- Replies with the chat's hash: 'ok', or 'unchanged' when the message is at
-- or before the position; 'not_a_message' when the chat has no such one.
-- A member without a stored position (written before positions existed)
-- counts as having read everything sent so far.
if not redis.call('ZSCORE', KEYS[5], ARGV[4]) then
  return not_found()
end
local fields = message_fields(KEYS[6], ARGV[5])
if not fields then
  return {'not_a_message', '', {}}
end
local ordinal = message_ordinal(KEYS[6], ARGV[5], fields)
local position = redis.call('HGET', KEYS[7], ARGV[4])
local current
if position then
  current = read_ordinal(position)
else
  current = message_count(KEYS[4], KEYS[6])
end
local chat = redis.call('HGETALL', KEYS[4])
if ordinal <= current then
  return {'unchanged', '', chat}
end
local id = append_event({'type', 'ChatRead', 'chat', ARGV[3], 'user', ARGV[4], 'msg', ARGV[5]})
redis.call('HSET', KEYS[7], ARGV[4], read_position(ordinal, ARGV[5], id_ms(id)))
return {'ok', id, chat}
