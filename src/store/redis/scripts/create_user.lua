-- Creates an account unless its name is taken (ignoring case).
-- KEYS[1] username:{canonical}   KEYS[2] user:{id}
-- ARGV[1] id   ARGV[2] username as typed   ARGV[3] password hash   ARGV[4] created_at
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  return {'taken', '', {}}
end
redis.call('HSET', KEYS[2], 'username', ARGV[2], 'password_hash', ARGV[3], 'created_at', ARGV[4])
return {'ok', ARGV[1], {}}
