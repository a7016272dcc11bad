-- Records what Stripe says of an order's dispute. The first record moves the order to DISPUTED;
-- 'won' and 'lost' are final, and 'won' moves the order back to the status it had before.
-- KEYS[1] order hash. ARGV[1] dispute_id, ARGV[2] disputed amount (minor), ARGV[3] 'open' | 'won' |
-- 'lost', ARGV[4] now_ms.
-- Reply: {'outcome', 'recorded' | 'unknown_order' | 'other_dispute' | 'not_disputable', order field,
-- value...}.
local order_key = KEYS[1]
local dispute_id, amount = ARGV[1], whole(ARGV[2], 'amount_minor')
local stripe_status = one_of(ARGV[3], 'status', {'open', 'won', 'lost'})
local now = whole(ARGV[4], 'now_ms')

local status = redis.call('HGET', order_key, 'status')
if not status then
  return {'outcome', 'unknown_order'}
end
local recorded = redis.call('HGET', order_key, 'dispute_id')
if recorded and recorded ~= dispute_id then
  return reply_with_hash('other_dispute', order_key)
end
if not recorded and status ~= 'FULFILLED' and status ~= 'REFUNDED' then
  return reply_with_hash('not_disputable', order_key)
end

if not recorded then
  redis.call('HSET', order_key, 'dispute_id', dispute_id, 'disputed_minor', amount,
    'dispute_status', 'open', 'status_before_dispute', status)
  move_order(order_key, 'DISPUTED', now)
end
if redis.call('HGET', order_key, 'dispute_status') == 'open' and stripe_status ~= 'open' then
  redis.call('HSET', order_key, 'dispute_status', stripe_status, 'update_ms', now)
  if stripe_status == 'won' then
    move_order(order_key, redis.call('HGET', order_key, 'status_before_dispute'), now)
  end
end
return with_moves(reply_with_hash('recorded', order_key), order_key)
