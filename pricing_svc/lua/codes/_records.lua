-- Shared by every discount-code script (prepended by code_store.py): idempotency records, an order's
-- reservation record, and the flat name/value replies. Functions only; each script names its keys.

-- A reply is a flat list of names and values; a refusal is {'refusal', REASON, name, value...}.
local function refuse(reason, ...)
  return {'refusal', reason, ...}
end

-- The first reply to this request id, a refusal if the id came with other parameters, or nil.
local function replayed(request_key, fingerprint)
  local seen = redis.call('GET', request_key)
  if not seen then return nil end
  local entry = cjson.decode(seen)
  if entry.f ~= fingerprint then return refuse('REQUEST_ID_REUSED') end
  return entry.r
end

-- Keeps `reply` under the request id for `ttl_ms`, so a retry gets it back unchanged.
local function recorded(request_key, fingerprint, ttl_ms, reply)
  redis.call('SET', request_key, cjson.encode({f = fingerprint, r = reply}), 'PX', ttl_ms)
  return reply
end

-- The order's reservation record {code, account_id, product_id, status, expire_ms}, or nil. A
-- RESERVED one past its expiry reads as EXPIRED: lapsing needs no write.
local function order_record(order_key, now)
  local raw = redis.call('HGETALL', order_key)
  if #raw == 0 then return nil end
  local r = {}
  for i = 1, #raw, 2 do r[raw[i]] = raw[i + 1] end
  r.expire_ms = tonumber(r.expire_ms)
  if r.status == 'RESERVED' and r.expire_ms <= now then r.status = 'EXPIRED' end
  return r
end

-- Confirm's and release's first steps: a replay of a repeated request, or a refusal if the code or
-- the order's reservation of it is missing; else nil and the reservation record.
local function order_step(code_key, order_key, request_key, code, fingerprint, now)
  local replay = replayed(request_key, fingerprint)
  if replay then return replay end
  if redis.call('EXISTS', code_key) == 0 then return refuse('DISCOUNT_CODE_NOT_FOUND') end
  local r = order_record(order_key, now)
  if not r or r.code ~= code then return refuse('RESERVATION_NOT_FOUND') end
  return nil, r
end

-- Writes the record and keeps it `retention_ms` past its expiry or this change, whichever is later.
-- Expiries are relative (PEXPIRE), so a skew between our clock and Redis' moves none of them earlier.
local function save_order(order_key, r, now, retention_ms)
  redis.call('HSET', order_key, 'code', r.code, 'account_id', r.account_id, 'product_id', r.product_id,
    'status', r.status, 'expire_ms', string.format('%d', r.expire_ms))
  redis.call('PEXPIRE', order_key, string.format('%d', math.max(r.expire_ms - now, 0) + retention_ms))
end

-- A live reservation's member in the code's live and held sets: the account first, so the held set
-- (all scores 0) counts one account's live reservations by lexical range; the expiry next, so that
-- count can skip lapsed ones; then the order.
local function live_member(account_id, expire_ms, order_id)
  return account_id .. ':' .. string.format('%016d', expire_ms) .. ':' .. order_id
end

-- Drops the reservation from the live and held sets: it was confirmed or released.
local function end_live(live_key, held_key, member)
  redis.call('ZREM', live_key, member)
  redis.call('ZREM', held_key, member)
end

local function reservation_reply(order_id, r)
  return {'order_id', order_id, 'account_id', r.account_id, 'status', r.status,
    'expire_ms', string.format('%d', r.expire_ms)}
end

-- The code's definition and counts as the admin API shows them; live reservations are counted
-- around lapsed ones, so the count is exact however far the purge lags.
local function code_state(code_key, live_key, now)
  local def, disabled, redeemed = unpack(redis.call('HMGET', code_key, 'def', 'disabled', 'redeemed'))
  local reserved = redis.call('ZCOUNT', live_key, '(' .. now, '+inf')
  return {'def', def, 'disabled', disabled, 'redeemed', redeemed, 'reserved', reserved}
end

-- How many live or confirmed redemptions of the code `account_id` holds at `now`.
local function held_by(held_key, redeemed_by_key, account_id, now)
  local lapsed_up_to = '(' .. account_id .. ':' .. string.format('%016d', now) .. ':\255'
  local live = redis.call('ZLEXCOUNT', held_key, lapsed_up_to, '(' .. account_id .. ';')
  return live + tonumber(redis.call('HGET', redeemed_by_key, account_id) or '0')
end
