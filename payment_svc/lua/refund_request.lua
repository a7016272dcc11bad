-- Remembers a RefundOrder request on its order so a retry reuses its amount and Stripe refund.
-- KEYS[1] order hash. ARGV[1] request_id, ARGV[2] request fingerprint, ARGV[3] amount to refund.
-- Returns {fingerprint, amount, refund id or ''} as first recorded, or {} for an unknown order.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
local field = 'refund_request:' .. ARGV[1]
local seen = redis.call('HGET', KEYS[1], field)
if not seen then
  seen = ARGV[2] .. '|' .. ARGV[3] .. '|'
  redis.call('HSET', KEYS[1], field, seen)
end
local fp, amount, refund_id = string.match(seen, '^([^|]*)|([^|]*)|(.*)$')
return {fp, amount, refund_id}
