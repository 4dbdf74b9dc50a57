-- Reads messages as they are now: a page of a chat's stream newest first,
-- each entry with its change (false when none). Writes nothing.
-- (Follows message_state.lua.)
-- KEYS[1] chat:{id}:messages   KEYS[2] chat:{id}:changes
-- ARGV[1] the newest id to include ('+' for the newest; '' reads no page)
-- ARGV[2] how many entries at most
-- ARGV[3] an id: also tell whether any entry is at or after it ('' not to)
-- Replies {entries, 1 or 0}, each entry {id, fields, change}.
local entries = {}
if ARGV[1] ~= '' then
  local found = redis.call('XREVRANGE', KEYS[1], ARGV[1], '-', 'COUNT', ARGV[2])
  for i, entry in ipairs(found) do
    entries[i] = {entry[1], entry[2], redis.call('HGET', KEYS[2], entry[1])}
  end
end
local newer = 0
if ARGV[3] ~= '' and #redis.call('XRANGE', KEYS[1], ARGV[3], '+', 'COUNT', 1) > 0 then
  newer = 1
end
return {entries, newer}
