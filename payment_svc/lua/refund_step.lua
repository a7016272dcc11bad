-- Steps of a refund as Stripe reports it: each cumulative refunded total Stripe reports becomes one
-- step whose delta is taken back once, even when events repeat, cross or are retried after a crash.
-- KEYS[1] order hash. ARGV[1] op, ARGV[2] cumulative refunded total (names the step), ARGV[3] now_ms,
-- ARGV[4] for 'claim': '1' to apply at once (nothing to take back); for 'decide': the amount to take.
--   claim:  records the step if the total is new and larger; moves FULFILLED to REFUNDED.
--   decide: sets the amount to take back (only first time, or lower after a failed attempt).
--   apply:  marks the step done and adds what could not be taken back to the shortfall.
-- Returns {'step', delta, take (-1 undecided), applied} or {'superseded'} or {'not_refundable', status}.
local op, total, now = ARGV[1], ARGV[2], ARGV[3]
-- Steps after a failed refund (refund_revert.lua) belong to a new generation, so totals may repeat.
local generation = redis.call('HGET', KEYS[1], 'refund_generation') or '0'
local field = 'refund:' .. total
if generation ~= '0' then
  field = 'refund:' .. generation .. ':' .. total
end
local step = redis.call('HGET', KEYS[1], field)
local function parse(text)
  local delta, take, applied = string.match(text, '^(%d+):(%-?%d+):(%d)$')
  return tonumber(delta), tonumber(take), tonumber(applied)
end
if op == 'claim' then
  local status = redis.call('HGET', KEYS[1], 'status')
  if status ~= 'FULFILLED' and status ~= 'REFUNDED' then
    return {'not_refundable', status or ''}
  end
  if not step then
    local claimed = tonumber(redis.call('HGET', KEYS[1], 'refunded_minor') or '0')
    if tonumber(total) <= claimed then
      return {'superseded'}
    end
    local delta = tonumber(total) - claimed
    if ARGV[4] == '1' then
      step = delta .. ':0:1'
    else
      step = delta .. ':-1:0'
    end
    redis.call('HSET', KEYS[1], field, step, 'refunded_minor', total, 'update_ms', now)
    if status == 'FULFILLED' then
      local history = redis.call('HGET', KEYS[1], 'history') .. ',REFUNDED:' .. now
      redis.call('HSET', KEYS[1], 'status', 'REFUNDED', 'history', history)
    end
  end
elseif not step then
  return {'superseded'}
else
  local delta, take, applied = parse(step)
  if applied == 0 and op == 'decide' then
    local wanted = tonumber(ARGV[4])
    if take == -1 or wanted < take then
      step = delta .. ':' .. wanted .. ':0'
      redis.call('HSET', KEYS[1], field, step)
    end
  elseif applied == 0 and op == 'apply' then
    step = delta .. ':' .. take .. ':1'
    redis.call('HSET', KEYS[1], field, step, 'update_ms', now)
    redis.call('HINCRBY', KEYS[1], 'refund_shortfall_minor', delta - take)
  end
end
local delta, take, applied = parse(step)
return {'step', delta, take, applied}
