-- The sender replaces a message's body and appends MessageEdited.
-- (Follows append_event.lua and message_state.lua.)
-- KEYS[4] chat:{id}:members   KEYS[5] chat:{id}:messages   KEYS[6] chat:{id}:changes
-- ARGV[3] chat id   ARGV[4] editor   ARGV[5] message id   ARGV[6] new body
-- Checks in the contract's order: membership and existence (not_found),
-- then the sender (forbidden), then a tombstone (deleted). The same body
-- again is 'unchanged' and writes nothing.
if not redis.call('ZSCORE', KEYS[4], ARGV[4]) then
  return refuse('not_found')
end
local fields = message_fields(KEYS[5], ARGV[5])
if not fields then
  return refuse('not_found')
end
if fields['sender'] ~= ARGV[4] then
  return refuse('forbidden')
end
local edited, deleted, body = message_change(KEYS[6], ARGV[5])
if deleted ~= '' then
  return refuse('deleted')
end
if (body or fields['body']) == ARGV[6] then
  return message_reply('unchanged', KEYS[5], KEYS[6], ARGV[5])
end
local id = append_event({'type', 'MessageEdited', 'chat', ARGV[3], 'msg', ARGV[5]})
redis.call('HSET', KEYS[6], ARGV[5], id_ms(id) .. '||' .. ARGV[6])
return message_reply('ok', KEYS[5], KEYS[6], ARGV[5])
