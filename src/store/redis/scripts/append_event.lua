-- Shared prelude of every script that appends an event to the log.
--
-- Conventions of those scripts:
--   KEYS[1] the events stream   KEYS[2] the epoch   KEYS[3] the trimmed marker
--   ARGV[1] retention (>= 1)    ARGV[2] a fresh epoch, used only when none exists
-- Script-specific keys start at KEYS[4], arguments at ARGV[3].
--
-- Replies are always {status, id, fields}: a status word, an id (or ''), and
-- a flat field/value array (possibly empty).

-- Appends one event (a flat field/value array) and returns its id.
--
-- A Redis that lost its data has no epoch: the first append starts a new one,
-- so cursors from the lost log are recognised as such.
--
-- Trimming is exact and done here rather than with XADD MAXLEN: Redis does not
-- record what MAXLEN trims, and readers need the newest trimmed id to tell an
-- expired position (some event after it is gone) from a merely old one.
local function append_event(fields)
  if redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('SET', KEYS[2], ARGV[2])
  end
  local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
  local retention = tonumber(ARGV[1])
  local excess = redis.call('XLEN', KEYS[1]) - retention
  if excess > 0 then
    local gone = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
    redis.call('SET', KEYS[3], gone[#gone][1])
    redis.call('XTRIM', KEYS[1], 'MAXLEN', retention)
  end
  return id
end

-- The millisecond part of a stream id: the event's time.
local function id_ms(id)
  return string.match(id, '^(%d+)-')
end

local function not_found()
  return {'not_found', '', {}}
end

