-- Ends one session of a user, or all of them. (Follows session_state.lua.)
-- KEYS[1] user:{user}:sessions   KEYS[2] sessions:ended
-- ARGV[1] until when the sessions' tokens are refused   ARGV[2] now (ms)
-- ARGV[3] key prefix   ARGV[4] sessions channel
-- ARGV[5] the session to end, or '' for every session of the user
-- Replies with the endings, each {id, until}.
forget_lapsed(KEYS[2], ARGV[2])
if ARGV[5] == '' then
  return end_all(ARGV[3], KEYS[1], KEYS[2], ARGV[4], ARGV[1])
elseif redis.call('SISMEMBER', KEYS[1], ARGV[5]) == 1 then
  return {end_session(ARGV[3], KEYS[1], KEYS[2], ARGV[4], ARGV[5], ARGV[1])}
end
return {}
