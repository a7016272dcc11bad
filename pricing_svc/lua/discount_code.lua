-- Every operation on one discount code, so its caps stay exact: create, disable, reserve, confirm,
-- release (each one call of this script, idempotent by request_id) and read (no writes). One file
-- because they share the rules below; every key is the code's own (one hash tag, one Cluster slot).
-- KEYS: 1 code hash {def (JSON, never changes), disabled, redeemed}
--       2 orders hash {order_id -> reservation JSON {account_id, product_id, status, expire_ms}}
--       3 live zset {order_id scored by expire_ms}: RESERVED and not yet purged
--       4 accounts hash {account_id -> live reservations + confirmed redemptions}
--       5 requests hash {request_id -> JSON {f = fingerprint, r = first reply}}
-- ARGV: 1 op, 2 now_ms, 3 request_id, 4 fingerprint, 5... the op's arguments (see each op)
-- Returns {'OK', JSON} or {reason, ''} where reason is an ErrorInfo reason name.
local code_key, orders_key, live_key, accounts_key, requests_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local op, now, request_id, fingerprint = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]

-- A reservation lapses at expire_ms; expired ones are purged lazily by whichever write comes
-- next, so capacity comes back without a cron. Reads count around the unpurged ones instead.
local function purge_expired()
  local expired = redis.call('ZRANGEBYSCORE', live_key, '-inf', now)
  for _, order_id in ipairs(expired) do
    local r = cjson.decode(redis.call('HGET', orders_key, order_id))
    r.status = 'EXPIRED'
    redis.call('HSET', orders_key, order_id, cjson.encode(r))
    redis.call('HINCRBY', accounts_key, r.account_id, -1)
  end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', live_key, '-inf', now) end
end

local function live_count()
  return redis.call('ZCOUNT', live_key, '(' .. now, '+inf')
end

local function held_by(account_id)
  local held = tonumber(redis.call('HGET', accounts_key, account_id) or '0')
  for _, order_id in ipairs(redis.call('ZRANGEBYSCORE', live_key, '-inf', now)) do
    if cjson.decode(redis.call('HGET', orders_key, order_id)).account_id == account_id then held = held - 1 end
  end
  return held
end

local function applies(def, product_id, currency, mode_price)
  if #def.product_ids > 0 then
    local listed = false
    for _, id in ipairs(def.product_ids) do listed = listed or id == product_id end
    if not listed then return false end
  end
  if def.kind == 'FIXED' and def.currency ~= currency then return false end
  return mode_price >= def.min_price_minor
end

-- Why the code cannot be used now for this product and account, or nil; the order is the
-- documented precedence. An empty account_id skips the per-account limit (quotes without one).
local function refusal(def, account_id, product_id, currency, mode_price)
  local disabled, redeemed = unpack(redis.call('HMGET', code_key, 'disabled', 'redeemed'))
  if disabled == '1' then return 'DISCOUNT_CODE_DISABLED' end
  if def.start_ms ~= 0 and now < def.start_ms then return 'DISCOUNT_CODE_NOT_YET_VALID' end
  if def.end_ms ~= 0 and now >= def.end_ms then return 'DISCOUNT_CODE_EXPIRED' end
  if not applies(def, product_id, currency, mode_price) then return 'DISCOUNT_CODE_NOT_APPLICABLE' end
  if def.max_redemptions > 0 and live_count() + tonumber(redeemed) >= def.max_redemptions then
    return 'DISCOUNT_CODE_EXHAUSTED'
  end
  if def.max_per_account > 0 and account_id ~= '' and held_by(account_id) >= def.max_per_account then
    return 'DISCOUNT_CODE_ACCOUNT_LIMIT_REACHED'
  end
  return nil
end

local function code_state()
  local def, disabled, redeemed = unpack(redis.call('HMGET', code_key, 'def', 'disabled', 'redeemed'))
  return {def = def, disabled = disabled == '1', redeemed = tonumber(redeemed), reserved = live_count()}
end

-- The order's reservation of this code, current as of now, or nil.
local function reservation_of(order_id)
  purge_expired()
  local raw = redis.call('HGET', orders_key, order_id)
  return raw and cjson.decode(raw)
end

local function reservation_reply(order_id, r)
  return {order_id = order_id, account_id = r.account_id, status = r.status, expire_ms = r.expire_ms}
end

-- Records the reply under the request id, so a retry gets it back unchanged.
local function done(reply)
  local encoded = cjson.encode(reply)
  redis.call('HSET', requests_key, request_id, cjson.encode({f = fingerprint, r = encoded}))
  return {'OK', encoded}
end

local ops = {}

-- ARGV 5 account_id ('' for none), 6 product_id ('' skips the checks), 7 currency, 8 mode price.
function ops.read()
  local state = code_state()
  if ARGV[6] ~= '' then
    state.refusal = refusal(cjson.decode(state.def), ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])) or ''
  end
  return {'OK', cjson.encode(state)}
end

-- ARGV 5 definition JSON.
function ops.create()
  if redis.call('EXISTS', code_key) == 1 then return {'DISCOUNT_CODE_ALREADY_EXISTS', ''} end
  redis.call('HSET', code_key, 'def', ARGV[5], 'disabled', '0', 'redeemed', '0')
  return done(code_state())
end

function ops.disable()
  redis.call('HSET', code_key, 'disabled', '1')
  return done(code_state())
end

-- ARGV 5 order_id, 6 account_id, 7 product_id, 8 product currency, 9 mode price, 10 ttl_ms.
function ops.reserve()
  local order_id, account_id, product_id = ARGV[5], ARGV[6], ARGV[7]
  local held = reservation_of(order_id)
  if held then
    if held.account_id ~= account_id or held.product_id ~= product_id then return {'RESERVATION_CONFLICT', ''} end
    -- The same checkout asking again gets its reservation; a released or expired one is replaced.
    if held.status == 'RESERVED' or held.status == 'CONFIRMED' then return done(reservation_reply(order_id, held)) end
  end
  local reason = refusal(cjson.decode(redis.call('HGET', code_key, 'def')), account_id, product_id, ARGV[8],
    tonumber(ARGV[9]))
  if reason then return {reason, ''} end
  local r = {account_id = account_id, product_id = product_id, status = 'RESERVED',
    expire_ms = now + tonumber(ARGV[10])}
  redis.call('HSET', orders_key, order_id, cjson.encode(r))
  redis.call('ZADD', live_key, r.expire_ms, order_id)
  redis.call('HINCRBY', accounts_key, account_id, 1)
  return done(reservation_reply(order_id, r))
end

-- ARGV 5 order_id.
function ops.confirm()
  local order_id = ARGV[5]
  local r = reservation_of(order_id)
  if not r then return {'RESERVATION_NOT_FOUND', ''} end
  if r.status == 'RELEASED' then return {'RESERVATION_RELEASED', ''} end
  if r.status == 'EXPIRED' then return {'RESERVATION_EXPIRED', ''} end
  if r.status == 'RESERVED' then
    r.status = 'CONFIRMED'
    redis.call('HSET', orders_key, order_id, cjson.encode(r))
    redis.call('ZREM', live_key, order_id)
    redis.call('HINCRBY', code_key, 'redeemed', 1)
  end
  return done(reservation_reply(order_id, r))
end

-- ARGV 5 order_id. An expired reservation already gave its capacity back: it only changes name.
function ops.release()
  local order_id = ARGV[5]
  local r = reservation_of(order_id)
  if not r then return {'RESERVATION_NOT_FOUND', ''} end
  if r.status == 'CONFIRMED' then return {'RESERVATION_CONFIRMED', ''} end
  if r.status == 'RESERVED' then
    redis.call('ZREM', live_key, order_id)
    redis.call('HINCRBY', accounts_key, r.account_id, -1)
  end
  if r.status ~= 'RELEASED' then
    r.status = 'RELEASED'
    redis.call('HSET', orders_key, order_id, cjson.encode(r))
  end
  return done(reservation_reply(order_id, r))
end

if op ~= 'read' then
  local seen = redis.call('HGET', requests_key, request_id)
  if seen then
    local entry = cjson.decode(seen)
    if entry.f ~= fingerprint then return {'REQUEST_ID_REUSED', ''} end
    return {'OK', entry.r}
  end
end
if op ~= 'create' and redis.call('EXISTS', code_key) == 0 then return {'DISCOUNT_CODE_NOT_FOUND', ''} end
return ops[op]()
