-- Marks one effect of a dispute as done: 'taken' (the debit; records the shortfall), 'returned' (the
-- credit after a win) or 'published' (order.disputed on the order events stream).
-- KEYS[1] order hash. ARGV[1] dispute_id, ARGV[2] effect, ARGV[3] now_ms.
-- Reply: {'outcome', 'marked' | 'other_dispute', fields...} (the order's fields follow).
local order_key = KEYS[1]
local dispute_id, effect, now = ARGV[1], ARGV[2], ARGV[3]

if redis.call('HGET', order_key, 'dispute_id') ~= dispute_id then
  return {'outcome', 'other_dispute', unpack(redis.call('HGETALL', order_key))}
end
if effect ~= 'taken' and effect ~= 'returned' and effect ~= 'published' then
  return redis.error_reply('effect must be taken, returned or published')
end
if effect == 'taken' and redis.call('HGET', order_key, 'dispute_taken') ~= '1' then
  local disputed = tonumber(redis.call('HGET', order_key, 'disputed_minor'))
  local take = tonumber(redis.call('HGET', order_key, 'dispute_take_minor') or '0')
  redis.call('HSET', order_key, 'dispute_shortfall_minor', disputed - take)
end
redis.call('HSET', order_key, 'dispute_' .. effect, '1', 'update_ms', now)
return {'outcome', 'marked', unpack(redis.call('HGETALL', order_key))}
