-- Starts a session. (Follows session_state.lua.)
-- KEYS[1] session:{id}   KEYS[2] user:{user}:sessions
-- ARGV[1] user   ARGV[2] session id   ARGV[3] refresh hash   ARGV[4] refresh expiry (ms)
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'refresh', ARGV[3], 'expires', ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[2])
return 'ok'
