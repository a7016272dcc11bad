-- The ledger's shared Lua: svckit's register_scripts prepends every `_*.lua` of this folder to each script
-- here when it loads them, so replay, the fingerprint check, hold expiry, the log append and the
-- low-balance signal are written once and each verb stays one EVALSHA. (A Redis FUNCTION library would
-- be server state to load on every node and after every flush; a prepended file travels with its script.)

-- Proto enum numbers (balance.v1 TransactionType and HoldStatus).
local CREDIT, DEBIT, HOLD_CREATED, HOLD_CAPTURED, HOLD_RELEASED = '1', '2', '3', '4', '5'
local NO_REASON = '0'
local PENDING, CAPTURED, RELEASED = '1', '2', '3'
-- A log entry is one string: type, reason, amount, balance after, time ms, request id, hold id, hold
-- expiry ms, reference, joined by the unit separator. Ids are printable ASCII and references refuse
-- control characters, and the reference comes last, so the first eight separators always split the fields.
local SEP = '\31'
local HOLD_FIELDS = {'amount', 'currency', 'status', 'captured', 'ref', 'create_ms', 'expire_ms'}

-- tostring() would print 1e+15; %d prints every integer below 2^53 exactly.
local function int(n)
  return string.format('%d', n)
end

-- An ARGV integer. The store always sends one, so anything else is a bug: fail before any write.
local function whole(value, name)
  local n = tonumber(value)
  if n == nil or n ~= math.floor(n) then
    error('ARGV ' .. name .. ' must be an integer, got ' .. tostring(value))
  end
  return n
end

-- A refusal, decoded by BalanceStore into the error named by `reason` (metadata goes to ErrorInfo).
-- Scripts return one only before their first write: a script has no rollback.
local function refuse(reason, metadata)
  return cjson.encode({refused = reason, metadata = metadata or {}})
end

-- A repeat (a client retry, or redis-py resending after a dropped connection) gets the first response,
-- byte for byte; the same request id with other parameters is refused. nil for a new request.
local function replay(request_key, fingerprint)
  local stored = redis.call('GET', request_key)
  if not stored then
    return nil
  end
  if string.sub(stored, 1, #fingerprint) ~= fingerprint then
    return refuse('REQUEST_ID_REUSED')
  end
  return string.sub(stored, #fingerprint + 1)
end

-- The held amount without holds past their expiry, swept or not, and the ids of those lapsed holds.
local function live_held(held, pending_key, expiry_key, now)
  local lapsed = redis.call('ZRANGEBYSCORE', expiry_key, '-inf', now)
  for _, id in ipairs(lapsed) do
    held = held - tonumber(redis.call('HGET', pending_key, id))
  end
  return held, lapsed
end

local function available(a)
  return a.balance - a.held
end

-- The account as of `now`, for one request. `keys` names account, log, pending, expiry and request;
-- `call_id` names the store's call, which its response records (see commit).
local function open_account(keys, now, request_id, call_id)
  local f = redis.call('HMGET', keys.account, 'balance', 'held', 'currency', 'threshold', 'low_sent', 'seq')
  local a = {keys = keys, now = now, request_id = request_id, call_id = call_id,
             balance = tonumber(f[1] or 0), currency = f[3], threshold = tonumber(f[4] or 0),
             low_sent = f[5] == '1', seq = tonumber(f[6] or 0)}
  a.held, a.lapsed = live_held(tonumber(f[2] or 0), keys.pending, keys.expiry, now)
  -- Back at the threshold re-arms the signal however it got there, a lapsed hold included, which
  -- wrote nothing when it lapsed.
  if available(a) >= a.threshold then
    a.low_sent = false
  end
  return a
end

local function currency_mismatch(a, currency)
  if a.currency and currency ~= '' and currency ~= a.currency then
    return refuse('CURRENCY_MISMATCH', {account_currency = a.currency})
  end
end

local function insufficient_funds(a, amount)
  if amount > available(a) then
    return refuse('INSUFFICIENT_FUNDS', {available_minor = int(available(a))})
  end
end

-- Entry n of the log sits at list index n - 1; entries are never removed.
local function append(a, type, reason, amount, hold_id, expire_ms, reference)
  a.seq = a.seq + 1
  a.entry = table.concat({type, reason, int(amount), int(a.balance), int(a.now), a.request_id, hold_id,
                          expire_ms, reference}, SEP)
  redis.call('RPUSH', a.keys.log, a.entry)
end

-- The hold if it can still be captured or released; else nil and the refusal.
local function resolvable_hold(hold_key, hold_id, now)
  local values = redis.call('HMGET', hold_key, unpack(HOLD_FIELDS))
  if not values[1] then
    return nil, refuse('HOLD_NOT_FOUND')
  end
  local hold = {id = hold_id}
  for i, name in ipairs(HOLD_FIELDS) do
    hold[name] = values[i]
  end
  if hold.status == CAPTURED then
    return nil, refuse('HOLD_ALREADY_CAPTURED')
  elseif hold.status == RELEASED then
    return nil, refuse('HOLD_ALREADY_RELEASED')
  elseif tonumber(hold.expire_ms) <= now then
    return nil, refuse('HOLD_EXPIRED')
  end
  return hold
end

-- Ends a pending hold: it stays readable for `retention` ms, and its amount is no longer held.
local function resolve_hold(a, hold, hold_key, status, captured, retention)
  hold.status, hold.captured = status, int(captured)
  redis.call('HSET', hold_key, 'status', status, 'captured', hold.captured)
  redis.call('PEXPIRE', hold_key, int(retention))
  redis.call('HDEL', a.keys.pending, hold.id)
  redis.call('ZREM', a.keys.expiry, hold.id)
  a.held = a.held - tonumber(hold.amount)
  a.hold = hold
end

-- Accepts the request once every check passed: forgets the lapsed holds, signals a low-balance crossing,
-- stores the account and the response (which replays return), and returns that response. One event per
-- crossing: the first `spent` request that leaves available below the threshold sends it.
local function commit(a, spent, fingerprint, request_ttl)
  for _, id in ipairs(a.lapsed) do
    redis.call('HDEL', a.keys.pending, id)
  end
  if #a.lapsed > 0 then
    redis.call('ZREMRANGEBYSCORE', a.keys.expiry, '-inf', a.now)
  end
  local crossed = false
  if available(a) >= a.threshold then
    a.low_sent = false
  elseif spent and not a.low_sent then
    crossed, a.low_sent = true, true
  end
  local fields = {'balance', int(a.balance), 'held', int(a.held), 'threshold', int(a.threshold),
                  'low_sent', a.low_sent and '1' or '0', 'seq', int(a.seq)}
  if a.currency then
    fields[#fields + 1] = 'currency'
    fields[#fields + 1] = a.currency
  end
  redis.call('HSET', a.keys.account, unpack(fields))
  -- The record's shape is read by BalanceStore and kept as it is: records written by earlier releases
  -- must still replay within their TTL. `c` names the call that committed, so BalanceStore tells that call
  -- (even when a dropped connection made its reply the one to a resend) from repeats: money counts once.
  local record = cjson.encode({
    c = a.call_id,
    e = a.entry,
    seq = int(a.seq),
    h = a.hold,
    b = {balance = int(a.balance), held = int(a.held), currency = a.currency or '', threshold = int(a.threshold)},
    low = crossed and '1' or nil,
  })
  redis.call('SET', a.keys.request, fingerprint .. record, 'PX', request_ttl)
  return record
end
