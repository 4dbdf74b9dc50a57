-- Exchanges a session's current refresh token for the next one.
-- (Follows session_state.lua.)
-- KEYS[1] session:{id}   KEYS[2] session:{id}:used   KEYS[3] sessions:ended
-- ARGV[1] presented hash   ARGV[2] next hash   ARGV[3] next expiry (ms)
-- ARGV[4] now (ms)   ARGV[5] until when an ended session's tokens are refused
-- ARGV[6] session id   ARGV[7] key prefix   ARGV[8] sessions channel
-- Replies {'rotated', user}, {'reused', ''} (the session ended: a used
-- token came back), or {'refused', ''} (unknown, expired or ended).
local user = redis.call('HGET', KEYS[1], 'user')
if not user then
  return {'refused', ''}
end
local current = redis.call('HGET', KEYS[1], 'refresh')
if current == ARGV[1] and tonumber(redis.call('HGET', KEYS[1], 'expires')) > tonumber(ARGV[4]) then
  redis.call('SADD', KEYS[2], current)
  redis.call('HSET', KEYS[1], 'refresh', ARGV[2], 'expires', ARGV[3])
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
  redis.call('PEXPIREAT', KEYS[2], ARGV[3])
  return {'rotated', user}
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  forget_lapsed(KEYS[3], ARGV[4])
  local user_sessions = ARGV[7] .. 'user:' .. user .. ':sessions'
  end_session(ARGV[7], user_sessions, KEYS[3], ARGV[8], ARGV[6], ARGV[5])
  return {'reused', ''}
end
return {'refused', ''}
