-- Appends a message and its MessageCreated event. (Follows append_event.lua.)
-- KEYS[4] chat:{id}   KEYS[5] chat:{id}:members   KEYS[6] chat:{id}:messages
-- KEYS[7] idem:{chat}:{sender}:{cmid} (only with a client message id)
-- ARGV[3] chat id   ARGV[4] sender   ARGV[5] body   ARGV[6] idempotency TTL (ms)
-- ARGV[7] client message id (optional)
-- Replies 'created' with the new id, or 'duplicate' with the first message's
-- id and fields (nothing written), or 'lost' when the key names a message
-- that no longer exists; each with the log's epoch as a fourth element, so
-- the caller can print the cursor without another round trip.
if not redis.call('ZSCORE', KEYS[5], ARGV[4]) then
  return {'not_found', '', {}, ''}
end
local cmid = ARGV[7]
if cmid then
  local first = redis.call('GET', KEYS[7])
  if first then
    local found = redis.call('XRANGE', KEYS[6], first, first)
    if #found == 0 then
      return {'lost', first, {}, ''}
    end
    return {'duplicate', first, found[1][2], redis.call('GET', KEYS[2])}
  end
end
local message = {'sender', ARGV[4], 'body', ARGV[5]}
if cmid then
  message[#message + 1] = 'cmid'
  message[#message + 1] = cmid
end
local event = {'type', 'MessageCreated', 'chat', ARGV[3]}
for i = 1, #message do
  event[#event + 1] = message[i]
end
local id = append_event(event)
redis.call('XADD', KEYS[6], id, unpack(message))
redis.call('HSET', KEYS[4], 'last_activity', id_ms(id))
if cmid then
  redis.call('SET', KEYS[7], id, 'PX', ARGV[6])
end
return {'created', id, {}, redis.call('GET', KEYS[2])}
