-- Renews the expires_at the next Checkout Session of an order is opened with, once per attempt:
-- concurrent retries that saw the same old value all get the one new value (and so one Stripe key).
-- KEYS[1] order hash. ARGV[1] the value the caller saw, ARGV[2] the value it proposes.
-- Reply: {'outcome', 'renewed' | 'kept' | 'unknown_order', 'session_expires_at_s', value}.
local order_key = KEYS[1]
local seen, proposed = whole(ARGV[1], 'seen_s'), whole(ARGV[2], 'proposed_s')
local current = redis.call('HGET', order_key, 'session_expires_at_s')
if not current then
  return {'outcome', 'unknown_order', 'session_expires_at_s', '0'}
end
if tonumber(current) ~= seen then
  return {'outcome', 'kept', 'session_expires_at_s', current}
end
redis.call('HSET', order_key, 'session_expires_at_s', proposed)
return {'outcome', 'renewed', 'session_expires_at_s', proposed}
