-- Removes a member and appends MemberLeft. (Follows append_event.lua.)
-- KEYS[4] chat:{id}:members   KEYS[5] user:{user}:chats   KEYS[6] chat:{id}:reads
-- KEYS[7] chat:{id}:typing
-- ARGV[3] chat id   ARGV[4] user
-- The read position goes with the membership: a member added again starts
-- at the new join. Leaving ends the member's typing, announced (when it
-- was typing) on the channel named like the typing key.
if not redis.call('ZSCORE', KEYS[4], ARGV[4]) then
  return not_found()
end
local id = append_event({'type', 'MemberLeft', 'chat', ARGV[3], 'user', ARGV[4]})
redis.call('ZREM', KEYS[4], ARGV[4])
redis.call('SREM', KEYS[5], ARGV[3])
redis.call('HDEL', KEYS[6], ARGV[4])
if redis.call('HDEL', KEYS[7], ARGV[4]) == 1 then
  redis.call('PUBLISH', KEYS[7], '')
end
return {'ok', id, {}}
