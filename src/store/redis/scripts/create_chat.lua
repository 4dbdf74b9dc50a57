-- Creates a chat and appends ChatCreated. (Follows append_event.lua.)
-- KEYS[4] chat:{id}   KEYS[5] chat:{id}:members   KEYS[6] chat:{id}:reads
-- then for each member i (creator first): KEYS[6 + i] user:{m}:chats (of the chat's partition)
-- ARGV[3] chat id   ARGV[4] title   ARGV[5..] member ids, creator first
-- The caller has checked that every member exists (accounts are never
-- deleted, and their keys live in another slot). Each member's read
-- position starts at the join (ordinal 0: nothing sent yet).
local members = {}
for i = 5, #ARGV do
  members[#members + 1] = ARGV[i]
end
local id = append_event({'type', 'ChatCreated', 'chat', ARGV[3], 'members', table.concat(members, ',')})
local ms = id_ms(id)
redis.call('HSET', KEYS[4], 'title', ARGV[4], 'created_by', members[1],
  'created_at', ms, 'last_activity', ms, 'join_seq', #members, 'msg_count', 0)
for i = 1, #members do
  redis.call('ZADD', KEYS[5], i, members[i])
  redis.call('HSET', KEYS[6], members[i], read_position(0, '', ''))
  redis.call('SADD', KEYS[6 + i], ARGV[3])
end
return {'ok', id, {}}
