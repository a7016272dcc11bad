-- Claims the refund step Stripe's cumulative refunded total names: recorded once if the total is new and
-- larger than what was claimed, so its delta is taken back once even when events repeat, cross or are
-- retried after a crash. Moves FULFILLED to REFUNDED.
-- KEYS[1] order hash. ARGV[1] cumulative refunded total (minor), ARGV[2] now_ms, ARGV[3] '1' when
-- nothing is to be taken back (the step is applied at once), else '0'.
-- Reply: {'outcome', 'step', 'delta_minor', d, 'take_minor', t (-1 undecided), 'applied', '0' | '1'},
-- or {'outcome', 'superseded' | 'not_refundable'}.
local order_key = KEYS[1]
local total, now = whole(ARGV[1], 'total_minor'), whole(ARGV[2], 'now_ms')
local applied_at_once = one_of(ARGV[3], 'applied_at_once', {'0', '1'})

local status = redis.call('HGET', order_key, 'status')
if status ~= 'FULFILLED' and status ~= 'REFUNDED' then
  return {'outcome', 'not_refundable'}
end
local field, step = find_refund_step(order_key, total)
if not step then
  local claimed = tonumber(redis.call('HGET', order_key, 'refunded_minor') or '0')
  if total <= claimed then
    return {'outcome', 'superseded'}
  end
  local delta = total - claimed
  if applied_at_once == '1' then
    step = delta .. ':0:1'
  else
    step = delta .. ':-1:0'
  end
  redis.call('HSET', order_key, field, step, 'refunded_minor', total, 'update_ms', now)
  if status == 'FULFILLED' then
    move_order(order_key, 'REFUNDED', now)
  end
end
return with_moves(refund_step_reply('step', step), order_key)
