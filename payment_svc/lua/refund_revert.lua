-- A refund failed after Stripe reported it: Stripe's refunded total fell back to ARGV[1]. What we
-- claimed above it is given back once: first out of the shortfall (never taken), the rest re-credited.
-- A new generation of refund steps starts, so later totals never meet the steps of failed refunds.
-- KEYS[1] order hash. ARGV[1] Stripe's refunded total now (minor), ARGV[2] now_ms.
-- Reply: {'outcome', 'reverted' | 'pending' | 'nothing' | 'unknown_order', 'generation', g,
--         'give_back_minor', n}: 'pending' is a revert recorded earlier whose credit is not yet done.
local order_key = KEYS[1]
local total, now = whole(ARGV[1], 'stripe_refunded_minor'), whole(ARGV[2], 'now_ms')

if redis.call('EXISTS', order_key) == 0 then
  return {'outcome', 'unknown_order', 'generation', '0', 'give_back_minor', '0'}
end
local generation = tonumber(redis.call('HGET', order_key, 'refund_generation') or '0')
local last = redis.call('HGET', order_key, 'refund_revert:' .. generation)
if last and string.sub(last, -2) == ':0' then
  return {'outcome', 'pending', 'generation', tostring(generation), 'give_back_minor', string.sub(last, 1, -3)}
end
local claimed = tonumber(redis.call('HGET', order_key, 'refunded_minor') or '0')
if total >= claimed then
  return {'outcome', 'nothing', 'generation', tostring(generation), 'give_back_minor', '0'}
end

local delta = claimed - total
local shortfall = tonumber(redis.call('HGET', order_key, 'refund_shortfall_minor') or '0')
local absorbed = math.min(delta, shortfall)
local give_back = delta - absorbed
generation = generation + 1
redis.call('HSET', order_key, 'refunded_minor', total, 'refund_shortfall_minor', shortfall - absorbed,
  'refund_generation', generation, 'refund_revert:' .. generation, give_back .. ':0', 'update_ms', now)
if total == 0 and redis.call('HGET', order_key, 'status') == 'REFUNDED' then
  move_order(order_key, 'FULFILLED', now)
end
return with_moves({'outcome', 'reverted', 'generation', tostring(generation), 'give_back_minor', tostring(give_back)}, order_key)
