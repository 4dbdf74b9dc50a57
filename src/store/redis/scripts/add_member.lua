-- Adds a member on behalf of another and appends MemberJoined.
-- (Follows append_event.lua and message_state.lua.)
-- KEYS[4] chat:{id}   KEYS[5] chat:{id}:members   KEYS[6] user:{user}:chats (of the chat's partition)
-- KEYS[7] chat:{id}:reads   KEYS[8] chat:{id}:messages
-- ARGV[3] chat id   ARGV[4] by   ARGV[5] user
-- The caller has checked that the user exists. Replies with the chat's
-- hash; 'unchanged' (no event) when already a member. The new member's
-- read position starts at the join: earlier messages are not unread.
if not redis.call('ZSCORE', KEYS[5], ARGV[4]) then
  return not_found()
end
local chat = redis.call('HGETALL', KEYS[4])
if redis.call('ZSCORE', KEYS[5], ARGV[5]) then
  return {'unchanged', '', chat}
end
local id = append_event({'type', 'MemberJoined', 'chat', ARGV[3], 'user', ARGV[5], 'by', ARGV[4]})
local seq = redis.call('HINCRBY', KEYS[4], 'join_seq', 1)
redis.call('ZADD', KEYS[5], seq, ARGV[5])
redis.call('SADD', KEYS[6], ARGV[3])
redis.call('HSET', KEYS[7], ARGV[5], read_position(message_count(KEYS[4], KEYS[8]), '', ''))
return {'ok', id, chat}
