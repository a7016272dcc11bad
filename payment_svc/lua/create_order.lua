-- Creates an order once per (account, request_id); a retry with the same params gets it back.
-- KEYS[1] order hash. ARGV[1] request fingerprint, ARGV[2] now_ms, ARGV[3..] field, value pairs.
-- Reply: {'outcome', 'created' | 'existed' | 'request_id_reused', order field, value...}.
local order_key = KEYS[1]
local fingerprint, now = ARGV[1], whole(ARGV[2], 'now_ms')
if #ARGV % 2 ~= 0 then
  error('ARGV after now_ms must be field, value pairs')
end

local existing = redis.call('HGET', order_key, 'fingerprint')
if existing then
  if existing ~= fingerprint then
    return {'outcome', 'request_id_reused'}
  end
  return reply_with_hash('existed', order_key)
end
redis.call('HSET', order_key, 'fingerprint', fingerprint, 'status', 'PENDING', 'create_ms', now,
  'update_ms', now, 'history', 'PENDING:' .. now, unpack(ARGV, 3))
return reply_with_hash('created', order_key)
