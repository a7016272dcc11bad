-- An account's automatic top-up: settings, the rolling spend cap and the failure count.
-- KEYS[1] settings hash, KEYS[2] spend (zset of '<order_id>:<amount>' by charge time in ms),
-- KEYS[3] the request_id record for 'configure', the single-flight lock for 'finish'.
-- ARGV[1] op, ARGV[2] now_ms, ARGV[3] default period in seconds, then per op:
--   read:      -> settings snapshot as JSON (with spent_in_period_minor)
--   configure: fingerprint, ttl_s, enabled, threshold, blocks, max_spend, period_s
--              -> {1 | 0, snapshot} (0: a retry), {-1} when the request_id was used otherwise
--   reserve:   order_id, amount -> 'go' | 'disabled' | 'cap_reached'
--   finish:    order_id, outcome ('ok' | 'failed' | 'skipped' | 'retry'), reason, max_failures -> 'ok'
local op, now = ARGV[1], tonumber(ARGV[2])

local function window_start()
  local period = tonumber(redis.call('HGET', KEYS[1], 'period_seconds') or '0')
  if period == 0 then
    period = tonumber(ARGV[3])
  end
  return now - period * 1000
end

local function spent()
  local total = 0
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. window_start(), '+inf')) do
    total = total + tonumber(string.match(member, ':(%d+)$'))
  end
  return total
end

local function snapshot()
  local flat = redis.call('HGETALL', KEYS[1])
  local out = {}
  for i = 1, #flat, 2 do
    out[flat[i]] = flat[i + 1]
  end
  out['spent_in_period_minor'] = tostring(spent())
  return cjson.encode(out)
end

local function forget(order_id)
  for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if string.sub(member, 1, #order_id + 1) == order_id .. ':' then
      redis.call('ZREM', KEYS[2], member)
    end
  end
end

if op == 'read' then
  return snapshot()
elseif op == 'configure' then
  local seen = redis.call('GET', KEYS[3])
  if seen then
    local fp, snap = string.match(seen, '^([^|]*)|(.*)$')
    if fp ~= ARGV[4] then
      return {-1}
    end
    return {0, snap}
  end
  redis.call('HSET', KEYS[1], 'enabled', ARGV[6], 'threshold_minor', ARGV[7], 'blocks', ARGV[8],
    'max_spend_minor', ARGV[9], 'period_seconds', ARGV[10], 'update_ms', ARGV[2])
  if ARGV[6] == '1' then
    -- Turning it on again clears a self-disable.
    redis.call('HSET', KEYS[1], 'consecutive_failures', '0', 'disabled_reason', '')
  end
  local snap = snapshot()
  redis.call('SET', KEYS[3], ARGV[4] .. '|' .. snap, 'EX', tonumber(ARGV[5]))
  return {1, snap}
elseif op == 'reserve' then
  local order_id, amount = ARGV[4], tonumber(ARGV[5])
  if redis.call('HGET', KEYS[1], 'enabled') ~= '1' then
    return 'disabled'
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', window_start())
  for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if string.sub(member, 1, #order_id + 1) == order_id .. ':' then
      return 'go'  -- a redelivered event resumes its own top-up
    end
  end
  if spent() + amount > tonumber(redis.call('HGET', KEYS[1], 'max_spend_minor')) then
    return 'cap_reached'
  end
  redis.call('ZADD', KEYS[2], now, order_id .. ':' .. amount)
  return 'go'
elseif op == 'finish' then
  local order_id, outcome = ARGV[4], ARGV[5]
  if outcome == 'ok' then
    redis.call('HSET', KEYS[1], 'consecutive_failures', '0')
  elseif outcome == 'failed' or outcome == 'skipped' then
    forget(order_id)  -- nothing was charged
  end
  if outcome == 'failed' then
    local failures = redis.call('HINCRBY', KEYS[1], 'consecutive_failures', 1)
    if failures >= tonumber(ARGV[7]) then
      redis.call('HSET', KEYS[1], 'enabled', '0', 'disabled_reason', ARGV[6], 'update_ms', ARGV[2])
    end
  end
  if redis.call('GET', KEYS[3]) == order_id then
    redis.call('DEL', KEYS[3])
  end
  return 'ok'
end
return redis.error_reply('unknown op ' .. op)
