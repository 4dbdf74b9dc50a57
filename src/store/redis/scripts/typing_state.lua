-- A chat's typing set: a hash of member id -> '<started>|<until>' (ms).
-- (Follows clock.lua.)

-- The typists still typing at `now`, in start order, as {user, started,
-- until}. Lapsed entries are deleted on the way.
local function live_typists(key, now)
  local flat = redis.call('HGETALL', key)
  local live = {}
  for i = 1, #flat, 2 do
    local started, deadline = string.match(flat[i + 1], '^(%d+)|(%d+)$')
    started, deadline = tonumber(started), tonumber(deadline)
    if deadline > now then
      live[#live + 1] = {flat[i], started, deadline}
    else
      redis.call('HDEL', key, flat[i])
    end
  end
  table.sort(live, function(a, b)
    return a[2] < b[2] or (a[2] == b[2] and a[1] < b[1])
  end)
  return live
end

