-- Shared prelude of the scripts that read or change sent messages.
-- (Loaded after append_event.lua where both are used.)
--
-- A message is its entry in the chat's messages stream (which never
-- changes) read through its entry in the chat's changes hash:
-- '<edited at>|<deleted at>|<body now>', the times empty when never.

-- The fields of message `id` in `stream` as a table, or nil when the chat
-- has no such message.
local function message_fields(stream, id)
  local found = redis.call('XRANGE', stream, id, id)
  if #found == 0 then
    return nil
  end
  local fields = {}
  local flat = found[1][2]
  for i = 1, #flat, 2 do
    fields[flat[i]] = flat[i + 1]
  end
  return fields
end

-- What changed in message `id`: edited at, deleted at (both '' for never)
-- and the body now (nil when never edited or deleted).
local function message_change(changes, id)
  local change = redis.call('HGET', changes, id)
  if not change then
    return '', '', nil
  end
  return string.match(change, '^(%d*)|(%d*)|(.*)$')
end

-- The number of messages the chat has had: its counter, or for a chat
-- written before the counter existed, its stream's length (messages are
-- never removed from the stream).
local function message_count(chat, stream)
  local count = redis.call('HGET', chat, 'msg_count')
  if count then
    return tonumber(count)
  end
  return redis.call('XLEN', stream)
end

-- A message's ordinal (its number in the chat, from 1): stored with it, or
-- for a message written before ordinals existed, counted.
local function message_ordinal(stream, id, fields)
  if fields['n'] then
    return tonumber(fields['n'])
  end
  return #redis.call('XRANGE', stream, '-', id)
end

-- The reply every message-changing script gives: a status, the message's
-- id, its stream fields and its change (false when none).
local function message_reply(status, stream, changes, id)
  local found = redis.call('XRANGE', stream, id, id)
  return {status, id, found[1][2], redis.call('HGET', changes, id)}
end

-- A read position as stored in the reads hash.
local function read_position(ordinal, message, at)
  return ordinal .. '|' .. message .. '|' .. at
end

-- The ordinal of a stored read position.
local function read_ordinal(position)
  return tonumber(string.match(position, '^(%d+)|'))
end

-- The reply of a message-changing script that refuses (writing nothing).
local function refuse(status)
  return {status, '', {}, false, false}
end

-- The scripts that change one message (edit_message, delete_message,
-- add_reaction, remove_reaction) share their keys and first arguments,
-- after append_event.lua's:
--   KEYS[4] chat:{id}   KEYS[5] chat:{id}:members   KEYS[6] chat:{id}:messages
--   KEYS[7] chat:{id}:changes   KEYS[8] chat:{id}:deleted
--   KEYS[9] chat:{id}:reactions:{message}
--   ARGV[3] chat id   ARGV[4] the user acting   ARGV[5] message id
-- and reply {status, id, fields, change, epoch} (changed or refuse).

-- The fields of the message a change names, when the user acting is a
-- member and the chat has that message; nil otherwise (NOT_FOUND: a
-- non-member may not learn whether it exists).
local function visible_message()
  if not redis.call('ZSCORE', KEYS[5], ARGV[4]) then
    return nil
  end
  return message_fields(KEYS[6], ARGV[5])
end

-- As visible_message, and the refusal to return instead when the user
-- acting is not the sender (permission comes before the message's state).
local function own_message()
  local fields = visible_message()
  if not fields then
    return nil, refuse('not_found')
  end
  if fields['sender'] ~= ARGV[4] then
    return nil, refuse('forbidden')
  end
  return fields, nil
end

-- The reply for the message the change names, as it is now, with the
-- log's epoch (KEYS[2]), so the caller prints cursors without asking again.
local function changed(status)
  local reply = message_reply(status, KEYS[6], KEYS[7], ARGV[5])
  reply[5] = redis.call('GET', KEYS[2])
  return reply
end
