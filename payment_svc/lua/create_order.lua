-- Creates an order once per (account, request_id); a retry with the same params gets it back.
-- KEYS[1] order hash. ARGV[1] request fingerprint, ARGV[2] now_ms, ARGV[3..] field, value pairs.
-- Returns {1, fields...} when created, {0, fields...} when it existed, {-1} for a reused request_id.
local existing = redis.call('HGET', KEYS[1], 'fingerprint')
if existing then
  if existing ~= ARGV[1] then
    return {-1}
  end
  return {0, redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], 'status', 'PENDING', 'create_ms', ARGV[2],
  'update_ms', ARGV[2], 'history', 'PENDING:' .. ARGV[2], unpack(ARGV, 3))
return {1, redis.call('HGETALL', KEYS[1])}
