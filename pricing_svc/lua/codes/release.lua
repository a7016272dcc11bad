-- ReleaseDiscountCode: gives an order's reservation back; idempotent by request id and per order. A
-- lapsed reservation already gave its capacity back: releasing it only changes its name.
local code_key, live_key, held_key, order_key, request_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local code, order_id, fingerprint, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local request_ttl_ms, retention_ms = tonumber(ARGV[5]), tonumber(ARGV[6])
if code == '' or order_id == '' or not (now and request_ttl_ms and retention_ms) then
  return redis.error_reply('ERR release_code: malformed arguments')
end

local early, r = order_step(code_key, order_key, request_key, code, fingerprint, now)
if early then return early end
if r.status == 'CONFIRMED' then return refuse('RESERVATION_CONFIRMED') end
if r.status ~= 'RELEASED' then
  end_live(live_key, held_key, live_member(r.account_id, r.expire_ms, order_id))
  r.status = 'RELEASED'
  save_order(order_key, r, now, retention_ms)
end
return recorded(request_key, fingerprint, request_ttl_ms, reservation_reply(order_id, r))
