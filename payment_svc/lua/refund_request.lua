-- Remembers a RefundOrder request on its order so a retry reuses its amount and Stripe refund.
-- KEYS[1] order hash. ARGV[1] request_id, ARGV[2] request fingerprint, ARGV[3] amount to refund.
-- Reply: {'outcome', 'recorded', 'fingerprint', fp, 'amount_minor', n, 'stripe_refund_id', id or ''}
-- as first recorded, or {'outcome', 'unknown_order'}.
local order_key = KEYS[1]
local request_id, fingerprint, amount = ARGV[1], ARGV[2], whole(ARGV[3], 'amount')

if redis.call('EXISTS', order_key) == 0 then
  return {'outcome', 'unknown_order'}
end
local field = 'refund_request:' .. request_id
local seen = redis.call('HGET', order_key, field)
if not seen then
  seen = fingerprint .. '|' .. amount .. '|'
  redis.call('HSET', order_key, field, seen)
end
local seen_fingerprint, seen_amount, refund_id = string.match(seen, '^([^|]*)|([^|]*)|(.*)$')
return {'outcome', 'recorded', 'fingerprint', seen_fingerprint, 'amount_minor', seen_amount,
  'stripe_refund_id', refund_id}
