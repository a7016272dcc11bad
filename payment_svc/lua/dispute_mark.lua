-- Marks one effect of a dispute as done: 'taken' (the debit; records the shortfall), 'returned' (the
-- credit after a win) or 'published' (order.disputed on the order events stream).
-- KEYS[1] order hash. ARGV[1] dispute_id, ARGV[2] effect, ARGV[3] now_ms.
-- Reply: {'outcome', 'marked' | 'other_dispute', order field, value...}.
local order_key = KEYS[1]
local dispute_id, now = ARGV[1], whole(ARGV[3], 'now_ms')
local effect = one_of(ARGV[2], 'effect', {'taken', 'returned', 'published'})

if redis.call('HGET', order_key, 'dispute_id') ~= dispute_id then
  return reply_with_hash('other_dispute', order_key)
end
if effect == 'taken' and redis.call('HGET', order_key, 'dispute_taken') ~= '1' then
  local disputed = tonumber(redis.call('HGET', order_key, 'disputed_minor'))
  local take = tonumber(redis.call('HGET', order_key, 'dispute_take_minor') or '0')
  redis.call('HSET', order_key, 'dispute_shortfall_minor', disputed - take)
end
redis.call('HSET', order_key, 'dispute_' .. effect, '1', 'update_ms', now)
return reply_with_hash('marked', order_key)
