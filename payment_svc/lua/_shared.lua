-- payment_svc's shared Lua: svckit's register_scripts prepends every `_*.lua` of this folder to each
-- script here, so argument checks, reply shapes and the refund-step and spend-window rules are written
-- once and each verb stays one EVALSHA. Replies are flat name/value lists, decoded by name in Python.

-- An ARGV integer. The store always sends one, so anything else is a bug: fail before any write.
local function whole(value, name)
  local n = tonumber(value)
  if n == nil or n ~= math.floor(n) then
    error('ARGV ' .. name .. ' must be an integer, got ' .. tostring(value))
  end
  return n
end

-- An ARGV that must be one of `allowed` (a list of strings); also fails before any write.
local function one_of(value, name, allowed)
  for _, candidate in ipairs(allowed) do
    if value == candidate then
      return value
    end
  end
  error('ARGV ' .. name .. ' must be one of ' .. table.concat(allowed, ', ') .. ', got ' .. tostring(value))
end

-- A reply naming its outcome, then the hash's fields as name/value pairs (none for a missing hash).
local function reply_with_hash(outcome, key)
  return {'outcome', outcome, unpack(redis.call('HGETALL', key))}
end

-- The statuses this call moved orders to, in order: with_moves puts them in the reply.
local moves = {}

-- Moves an order to `to`, appending to its status history.
local function move_order(order_key, to, now)
  local history = redis.call('HGET', order_key, 'history') .. ',' .. to .. ':' .. now
  redis.call('HSET', order_key, 'status', to, 'history', history, 'update_ms', now)
  moves[#moves + 1] = to
end

-- `reply` with 'moved_to' (the statuses entered, comma-separated) and 'moved_kind' appended when this
-- call moved the order, so the caller counts each transition once, replays included (they move nothing).
local function with_moves(reply, order_key)
  if #moves > 0 then
    local kind = redis.call('HGET', order_key, 'kind')
    reply[#reply + 1] = 'moved_to'
    reply[#reply + 1] = table.concat(moves, ',')
    reply[#reply + 1] = 'moved_kind'
    reply[#reply + 1] = kind
  end
  return reply
end

-- The refund step named by Stripe's cumulative refunded total: its order hash field, and its stored
-- value (nil until claimed). Steps after a failed refund (refund_revert.lua) belong to a new generation,
-- so totals may repeat.
local function find_refund_step(order_key, total)
  local generation = redis.call('HGET', order_key, 'refund_generation') or '0'
  local field = 'refund:' .. total
  if generation ~= '0' then
    field = 'refund:' .. generation .. ':' .. total
  end
  return field, redis.call('HGET', order_key, field)
end

-- A refund step is stored as 'delta:take:applied' (take -1 while undecided, applied '0' or '1').
local function parse_refund_step(step)
  local delta, take, applied = string.match(step, '^(%d+):(%-?%d+):([01])$')
  return tonumber(delta), tonumber(take), applied
end

local function refund_step_reply(outcome, step)
  local delta, take, applied = parse_refund_step(step)
  return {'outcome', outcome, 'delta_minor', delta, 'take_minor', take, 'applied', applied}
end

-- Automatic top-up spend: members '<order_id>:<amount>' of the spend zset, scored by charge time (ms),
-- count while younger than the account's period (the default period while none is set).
local function auto_window_start(settings_key, now, default_period_s)
  local period = tonumber(redis.call('HGET', settings_key, 'period_seconds') or '0')
  if period == 0 then
    period = default_period_s
  end
  return now - period * 1000
end

local function auto_spent(settings_key, spend_key, now, default_period_s)
  local total = 0
  local since = '(' .. auto_window_start(settings_key, now, default_period_s)
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', spend_key, since, '+inf')) do
    total = total + tonumber(string.match(member, ':(%d+)$'))
  end
  return total
end

-- The spend members of one top-up (normally one).
local function auto_spend_members(spend_key, order_id)
  local found = {}
  for _, member in ipairs(redis.call('ZRANGE', spend_key, 0, -1)) do
    if string.sub(member, 1, #order_id + 1) == order_id .. ':' then
      table.insert(found, member)
    end
  end
  return found
end

-- The settings hash and what was spent in the period, as one table (encoded into request records).
local function auto_settings(settings_key, spend_key, now, default_period_s)
  local flat = redis.call('HGETALL', settings_key)
  local out = {}
  for i = 1, #flat, 2 do
    out[flat[i]] = flat[i + 1]
  end
  out['spent_in_period_minor'] = tostring(auto_spent(settings_key, spend_key, now, default_period_s))
  return out
end

-- A reply naming its outcome, then the fields of `tbl` as name/value pairs.
local function reply_with_table(outcome, tbl)
  local out = {'outcome', outcome}
  for name, value in pairs(tbl) do
    table.insert(out, name)
    table.insert(out, value)
  end
  return out
end
