-- Records which primary serves a partition's slot and returns the
-- partition's epoch, renewed when a failover may have lost entries.
-- KEYS[1] log:primary (the serving primary's replication id)   KEYS[2] log:epoch
-- ARGV[1] the replication id of the primary answering now
-- ARGV[2] a fresh epoch   ARGV[3] '1' when a new primary means possible loss
-- A promoted replica gets a new replication id, and asynchronous
-- replication may have left it without the last entries its predecessor
-- acknowledged: unless writes waited for replicas (ARGV[3] '0'), cursors
-- into the partition then stop being trusted. Several processes may see
-- the change; the first one renews, the others find the id recorded.
local recorded = redis.call('GET', KEYS[1])
if recorded ~= ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1])
  if recorded and ARGV[3] == '1' then
    redis.call('SET', KEYS[2], ARGV[2])
  end
end
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  redis.call('SET', KEYS[2], ARGV[2])
  epoch = ARGV[2]
end
return epoch
