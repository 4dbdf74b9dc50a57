-- A member's unread count and read position, without reading messages.
-- Writes nothing. (Follows message_state.lua.)
-- KEYS[1] chat:{id}   KEYS[2] chat:{id}:reads   KEYS[3] chat:{id}:deleted
-- KEYS[4] chat:{id}:messages
-- ARGV[1] the member
-- Unread = messages sent after the position (the counter less the
-- position's ordinal) less the deleted ones after it (ZCOUNT on the deleted
-- index): three O(1) or O(log n) look-ups, however long the history.
-- Replies {unread, message id, at}, the last two '' before a message.
-- A non-member (or a member from before positions existed) has read all.
local position = redis.call('HGET', KEYS[2], ARGV[1])
if not position then
  return {0, '', ''}
end
local ordinal, message, at = string.match(position, '^(%d+)|([^|]*)|(%d*)$')
local after = message_count(KEYS[1], KEYS[4]) - tonumber(ordinal)
local deleted = redis.call('ZCOUNT', KEYS[3], '(' .. ordinal, '+inf')
return {after - deleted, message, at}
