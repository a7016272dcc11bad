-- Records what Stripe says of an order's dispute. The first record moves the order to DISPUTED;
-- 'won' and 'lost' are final, and 'won' moves the order back to the status it had before.
-- KEYS[1] order hash. ARGV[1] dispute_id, ARGV[2] disputed amount (minor), ARGV[3] 'open' | 'won' |
-- 'lost', ARGV[4] now_ms.
-- Reply: {'outcome', 'recorded' | 'unknown_order' | 'other_dispute' | 'not_disputable', fields...}:
-- the order's fields as name/value pairs follow the outcome.
local order_key = KEYS[1]
local dispute_id, amount, stripe_status, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local function move(to)
  local history = redis.call('HGET', order_key, 'history') .. ',' .. to .. ':' .. now
  redis.call('HSET', order_key, 'status', to, 'history', history, 'update_ms', now)
end

local status = redis.call('HGET', order_key, 'status')
if not status then
  return {'outcome', 'unknown_order'}
end
local recorded = redis.call('HGET', order_key, 'dispute_id')
if recorded and recorded ~= dispute_id then
  return {'outcome', 'other_dispute', unpack(redis.call('HGETALL', order_key))}
end
if not recorded and status ~= 'FULFILLED' and status ~= 'REFUNDED' then
  return {'outcome', 'not_disputable', unpack(redis.call('HGETALL', order_key))}
end
if stripe_status ~= 'open' and stripe_status ~= 'won' and stripe_status ~= 'lost' then
  return redis.error_reply('dispute status must be open, won or lost')
end

if not recorded then
  redis.call('HSET', order_key, 'dispute_id', dispute_id, 'disputed_minor', amount,
    'dispute_status', 'open', 'status_before_dispute', status)
  move('DISPUTED')
end
if redis.call('HGET', order_key, 'dispute_status') == 'open' and stripe_status ~= 'open' then
  redis.call('HSET', order_key, 'dispute_status', stripe_status, 'update_ms', now)
  if stripe_status == 'won' then
    move(redis.call('HGET', order_key, 'status_before_dispute'))
  end
end
return {'outcome', 'recorded', unpack(redis.call('HGETALL', order_key))}
