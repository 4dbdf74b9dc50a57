-- A user's presence: a hash of 'h:<process>' -> the time (ms) until which
-- that process holds the user present, renewed by its heartbeats, and
-- 'seen': when the user last went offline. (Follows clock.lua.)

-- The latest deadline of the live holds at `now`, or false when none is.
-- Lapsed holds (their process stopped renewing them: it died) are deleted,
-- and the latest of them becomes 'seen' if newer: the user was last seen
-- when its last hold lapsed.
local function live_until(key, now)
  local flat = redis.call('HGETALL', key)
  local live, lapsed = false, false
  for i = 1, #flat, 2 do
    if string.sub(flat[i], 1, 2) == 'h:' then
      local deadline = tonumber(flat[i + 1])
      if deadline > now then
        if not live or deadline > live then
          live = deadline
        end
      else
        if not lapsed or deadline > lapsed then
          lapsed = deadline
        end
        redis.call('HDEL', key, flat[i])
      end
    end
  end
  if lapsed and lapsed > tonumber(redis.call('HGET', key, 'seen') or '0') then
    redis.call('HSET', key, 'seen', string.format('%d', lapsed))
  end
  return live
end

