-- A chat's typing set: a hash of member id -> '<order>|<until>', where
-- order numbers the typists as they started (from the field '#', a counter
-- that lives as long as the hash) and until is a deadline in ms. The hash
-- expires with its last typist. (Follows clock.lua.)

-- The typists still typing at `now`, in the order they started, as
-- {user, order, until}. Lapsed entries are deleted on the way.
local function live_typists(key, now)
  local flat = redis.call('HGETALL', key)
  local live = {}
  for i = 1, #flat, 2 do
    if flat[i] ~= '#' then
      local order, deadline = string.match(flat[i + 1], '^(%d+)|(%d+)$')
      order, deadline = tonumber(order), tonumber(deadline)
      if deadline > now then
        live[#live + 1] = {flat[i], order, deadline}
      else
        redis.call('HDEL', key, flat[i])
      end
    end
  end
  table.sort(live, function(a, b) return a[2] < b[2] end)
  return live
end

