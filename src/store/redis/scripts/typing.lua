-- A chat's typing set now. (Follows clock.lua and typing_state.lua.)
-- KEYS[1] chat:{id}:typing
-- Replies {now, {user, until, user, until, ...}}, typists in start order.
local now = now_ms()
local typists = {}
for _, typist in ipairs(live_typists(KEYS[1], now)) do
  typists[#typists + 1] = typist[1]
  typists[#typists + 1] = typist[3]
end
return {now, typists}
