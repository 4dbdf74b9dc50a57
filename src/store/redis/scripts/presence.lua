-- A user's presence now. (Follows clock.lua and presence_state.lua.)
-- KEYS[1] user:{id}:presence
-- Replies {now, the latest live hold's deadline (0: offline), seen (0: never)}.
local now = now_ms()
local live = live_until(KEYS[1], now)
return {now, live or 0, tonumber(redis.call('HGET', KEYS[1], 'seen') or '0')}
