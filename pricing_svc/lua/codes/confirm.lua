-- ConfirmDiscountCode: makes an order's live reservation a redemption; idempotent by request id and
-- per order.
local code_key, live_key, held_key, redeemed_by_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local order_key, request_key = KEYS[5], KEYS[6]
local code, order_id, fingerprint, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local request_ttl_ms, retention_ms = tonumber(ARGV[5]), tonumber(ARGV[6])
if code == '' or order_id == '' or not (now and request_ttl_ms and retention_ms) then
  return redis.error_reply('ERR confirm_code: malformed arguments')
end

local early, r = order_step(code_key, order_key, request_key, code, fingerprint, now)
if early then return early end
if r.status == 'RELEASED' then return refuse('RESERVATION_RELEASED') end
if r.status == 'EXPIRED' then return refuse('RESERVATION_EXPIRED') end
if r.status == 'RESERVED' then
  end_live(live_key, held_key, live_member(r.account_id, r.expire_ms, order_id))
  redis.call('HINCRBY', code_key, 'redeemed', 1)
  if cjson.decode(redis.call('HGET', code_key, 'def')).max_per_account > 0 then
    redis.call('HINCRBY', redeemed_by_key, r.account_id, 1)
  end
  r.status = 'CONFIRMED'
  save_order(order_key, r, now, retention_ms)
end
return recorded(request_key, fingerprint, request_ttl_ms, reservation_reply(order_id, r))
