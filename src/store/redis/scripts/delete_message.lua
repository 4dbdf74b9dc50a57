-- The sender turns a message into a tombstone and appends MessageDeleted.
-- (Follows append_event.lua and message_state.lua, whose conventions for
-- scripts that change one message it uses.)
-- A tombstone keeps its stream entry (id, sender, reply); its body becomes
-- '', its reactions go, and it joins the deleted index that unread counts
-- subtract. Deleting a tombstone is 'unchanged'.
local fields, refusal = own_message()
if refusal then
  return refusal
end
local edited, deleted = message_change(KEYS[7], ARGV[5])
if deleted ~= '' then
  return changed('unchanged')
end
local id = append_event({'type', 'MessageDeleted', 'chat', ARGV[3], 'msg', ARGV[5]})
redis.call('HSET', KEYS[7], ARGV[5], edited .. '|' .. id_ms(id) .. '|')
redis.call('ZADD', KEYS[8], message_ordinal(KEYS[6], ARGV[5], fields), ARGV[5])
for _, emoji in ipairs(redis.call('ZRANGE', KEYS[9], 0, -1)) do
  redis.call('DEL', KEYS[9] .. ':' .. emoji)
end
redis.call('DEL', KEYS[9])
return changed('ok')
