-- The sender turns a message into a tombstone and appends MessageDeleted.
-- (Follows append_event.lua and message_state.lua.)
-- KEYS[4] chat:{id}:members   KEYS[5] chat:{id}:messages   KEYS[6] chat:{id}:changes
-- KEYS[7] chat:{id}:deleted   KEYS[8] chat:{id}:reactions:{message}
-- ARGV[3] chat id   ARGV[4] who deletes   ARGV[5] message id
-- A tombstone keeps its stream entry (id, sender, reply); its body becomes
-- '', its reactions go, and it joins the deleted index that unread counts
-- subtract. Deleting a tombstone is 'unchanged'.
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
local edited, deleted = message_change(KEYS[6], ARGV[5])
if deleted ~= '' then
  return message_reply('unchanged', KEYS[5], KEYS[6], ARGV[5])
end
local id = append_event({'type', 'MessageDeleted', 'chat', ARGV[3], 'msg', ARGV[5]})
redis.call('HSET', KEYS[6], ARGV[5], edited .. '|' .. id_ms(id) .. '|')
redis.call('ZADD', KEYS[7], message_ordinal(KEYS[5], ARGV[5], fields), ARGV[5])
for _, emoji in ipairs(redis.call('ZRANGE', KEYS[8], 0, -1)) do
  redis.call('DEL', KEYS[8] .. ':' .. emoji)
end
redis.call('DEL', KEYS[8])
return message_reply('ok', KEYS[5], KEYS[6], ARGV[5])
