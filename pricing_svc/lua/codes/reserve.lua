-- ReserveDiscountCode: holds one redemption for an order, exact under the caps; idempotent by request
-- id and per order. An order holds one code at a time: while its reservation of one code is live or
-- confirmed, any other code (or account, or product) is a RESERVATION_CONFLICT. The caller judged the
-- code's terms (window, products, would it lower the price): ARGV[11] is its refusal or ''.
local code_key, live_key, held_key, redeemed_by_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local order_key, request_key = KEYS[5], KEYS[6]
local code, order_id, account_id, product_id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ttl_ms, fingerprint, now = tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
local request_ttl_ms, retention_ms, purge_batch = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local terms_refusal = ARGV[11]
local TERMS_REFUSALS = {[''] = true, DISCOUNT_CODE_NOT_YET_VALID = true, DISCOUNT_CODE_EXPIRED = true,
  DISCOUNT_CODE_NOT_APPLICABLE = true}
if code == '' or order_id == '' or account_id == '' or not (ttl_ms and ttl_ms > 0 and now and request_ttl_ms
    and retention_ms and purge_batch and purge_batch > 0 and TERMS_REFUSALS[terms_refusal]) then
  return redis.error_reply('ERR reserve_code: malformed arguments')
end

-- Lapsed reservations are already left out of every count; this only reclaims their memory, a
-- bounded batch per reservation, so each script stays short however many have lapsed.
local function purge_lapsed()
  local lapsed = redis.call('ZRANGEBYSCORE', live_key, '-inf', now, 'LIMIT', 0, purge_batch)
  if #lapsed > 0 then
    redis.call('ZREM', live_key, unpack(lapsed))
    redis.call('ZREM', held_key, unpack(lapsed))
  end
end

-- Keeps `key` until `retention_ms` after its last member lapses, so an idle code's sets go away on
-- their own; the margin keeps clock skew from dropping a set while a member is still live.
local function keep_past(key, lapse_in_ms)
  local keep_ms = lapse_in_ms + retention_ms
  if redis.call('PTTL', key) < keep_ms then redis.call('PEXPIRE', key, string.format('%d', keep_ms)) end
end

local replay = replayed(request_key, fingerprint)
if replay then return replay end
if redis.call('EXISTS', code_key) == 0 then return refuse('DISCOUNT_CODE_NOT_FOUND') end
local held = order_record(order_key, now)
if held and (held.status == 'RESERVED' or held.status == 'CONFIRMED') then
  if held.code ~= code or held.account_id ~= account_id or held.product_id ~= product_id then
    return refuse('RESERVATION_CONFLICT')
  end
  return recorded(request_key, fingerprint, request_ttl_ms, reservation_reply(order_id, held))
end

local def = cjson.decode(redis.call('HGET', code_key, 'def'))
local disabled, redeemed = unpack(redis.call('HMGET', code_key, 'disabled', 'redeemed'))
if disabled == '1' then return refuse('DISCOUNT_CODE_DISABLED') end
if terms_refusal ~= '' then return refuse(terms_refusal) end
local live = redis.call('ZCOUNT', live_key, '(' .. now, '+inf')
if def.max_redemptions > 0 and live + tonumber(redeemed) >= def.max_redemptions then
  return refuse('DISCOUNT_CODE_EXHAUSTED')
end
if def.max_per_account > 0 and held_by(held_key, redeemed_by_key, account_id, now) >= def.max_per_account then
  return refuse('DISCOUNT_CODE_ACCOUNT_LIMIT_REACHED')
end

purge_lapsed()
local r = {code = code, account_id = account_id, product_id = product_id, status = 'RESERVED',
  expire_ms = now + ttl_ms}
save_order(order_key, r, now, retention_ms)
local member = live_member(account_id, r.expire_ms, order_id)
redis.call('ZADD', live_key, string.format('%d', r.expire_ms), member)
keep_past(live_key, ttl_ms)
if def.max_per_account > 0 then
  redis.call('ZADD', held_key, 0, member)
  keep_past(held_key, ttl_ms)
end
return recorded(request_key, fingerprint, request_ttl_ms, reservation_reply(order_id, r))
