-- Sets a user's password hash and ends every session of the user, in one
-- step. (Follows session_state.lua.)
-- KEYS[1] user:{user}   KEYS[2] user:{user}:sessions   KEYS[3] sessions:ended
-- ARGV[1] the new hash   ARGV[2] until when the sessions' tokens are refused
-- ARGV[3] now (ms)   ARGV[4] key prefix   ARGV[5] sessions channel
-- Replies {'ok', endings} (each {id, until}), or {'not_found', {}}.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'not_found', {}}
end
redis.call('HSET', KEYS[1], 'password_hash', ARGV[1])
forget_lapsed(KEYS[3], ARGV[3])
return {'ok', end_all(ARGV[4], KEYS[2], KEYS[3], ARGV[5], ARGV[2])}
