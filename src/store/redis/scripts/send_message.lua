-- Appends a message and its MessageCreated event, and moves the sender's
-- read position to it. (Follows append_event.lua and message_state.lua.)
-- KEYS[4] chat:{id}   KEYS[5] chat:{id}:members   KEYS[6] chat:{id}:messages
-- KEYS[7] chat:{id}:reads   KEYS[8] chat:{id}:changes   KEYS[9] chat:{id}:typing
-- KEYS[10] idem:{chat}:{sender}:{cmid} (only with a client message id)
-- ARGV[3] chat id   ARGV[4] sender   ARGV[5] body   ARGV[6] idempotency TTL (ms)
-- ARGV[7] id of the message it replies to ('' for none)
-- ARGV[8] client message id (optional)
-- Sending ends the sender's typing in the chat, announced (when it was
-- typing) on the channel named like the typing key.
-- Replies 'created' with the new id, or 'duplicate' with the first message's
-- id, fields and change (nothing written), or 'lost' when the key names a
-- message that no longer exists; each with the log's epoch as a fifth
-- element, so the caller can print the cursor without another round trip.
if not redis.call('ZSCORE', KEYS[5], ARGV[4]) then
  return {'not_found', '', {}, false, ''}
end
local cmid = ARGV[8]
if cmid then
  local first = redis.call('GET', KEYS[10])
  if first then
    local found = redis.call('XRANGE', KEYS[6], first, first)
    if #found == 0 then
      return {'lost', first, {}, false, ''}
    end
    return {'duplicate', first, found[1][2], redis.call('HGET', KEYS[8], first), redis.call('GET', KEYS[2])}
  end
end
local reply_to = ARGV[7]
if reply_to ~= '' and #redis.call('XRANGE', KEYS[6], reply_to, reply_to) == 0 then
  return {'not_found', '', {}, false, ''}
end
local ordinal = message_count(KEYS[4], KEYS[6]) + 1
local message = {'sender', ARGV[4], 'body', ARGV[5], 'n', ordinal}
if reply_to ~= '' then
  message[#message + 1] = 're'
  message[#message + 1] = reply_to
end
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
redis.call('HSET', KEYS[4], 'last_activity', id_ms(id), 'msg_count', ordinal)
redis.call('HSET', KEYS[7], ARGV[4], read_position(ordinal, id, id_ms(id)))
if cmid then
  redis.call('SET', KEYS[10], id, 'PX', ARGV[6])
end
if redis.call('HDEL', KEYS[9], ARGV[4]) == 1 then
  redis.call('PUBLISH', KEYS[9], '')
end
return {'created', id, {}, false, redis.call('GET', KEYS[2])}
