-- The sender replaces a message's body and appends MessageEdited.
-- (Follows append_event.lua and message_state.lua, whose conventions for
-- scripts that change one message it uses.)
-- ARGV[6] the new body
-- Checks in the contract's order: membership and existence (not_found),
-- then the sender (forbidden), then a tombstone (deleted). The same body
-- again is 'unchanged' and writes nothing.
local fields, refusal = own_message()
if refusal then
  return refusal
end
local _, deleted, body = message_change(KEYS[7], ARGV[5])
if deleted ~= '' then
  return refuse('deleted')
end
if (body or fields['body']) == ARGV[6] then
  return changed('unchanged')
end
local id = append_event({'type', 'MessageEdited', 'chat', ARGV[3], 'msg', ARGV[5]})
redis.call('HSET', KEYS[7], ARGV[5], id_ms(id) .. '||' .. ARGV[6])
return changed('ok')
