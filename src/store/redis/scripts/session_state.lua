-- Shared prelude of the scripts that start and end sessions.
--
-- A session is the hash session:{id} (user, refresh: the hash of its
-- current refresh token, expires) expiring with that token, the set
-- session:{id}:used of the refresh hashes it used up, and its id in the
-- user's set user:{id}:sessions. An ended session is in the sorted set
-- sessions:ended, scored by the time until which its access tokens could
-- still be presented, and is announced on the sessions channel as
-- '<id> <until>'. Session keys are built here from the key prefix, as the
-- set of a user's sessions names them only by id.

-- Ends session `id` of the user whose sessions set is `user_sessions`:
-- forgets it, records it as ended until `refused_until` (never earlier than an
-- ending already recorded) and announces it. Returns {id, until}. (`until` is a Lua keyword.)
local function end_session(prefix, user_sessions, ended, channel, id, refused_until)
  local key = prefix .. 'session:' .. id
  redis.call('DEL', key, key .. ':used')
  redis.call('SREM', user_sessions, id)
  redis.call('ZADD', ended, 'GT', refused_until, id)
  local recorded = redis.call('ZSCORE', ended, id)
  redis.call('PUBLISH', channel, id .. ' ' .. recorded)
  return {id, recorded}
end

-- Ends every session in `user_sessions`; returns the list of endings.
local function end_all(prefix, user_sessions, ended, channel, refused_until)
  local endings = {}
  for _, id in ipairs(redis.call('SMEMBERS', user_sessions)) do
    endings[#endings + 1] = end_session(prefix, user_sessions, ended, channel, id, refused_until)
  end
  return endings
end

-- Drops endings whose tokens have all lapsed.
local function forget_lapsed(ended, now)
  redis.call('ZREMRANGEBYSCORE', ended, '-inf', now)
end
