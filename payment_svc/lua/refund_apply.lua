-- Marks a refund step done (once) and adds what could not be taken back to the refund shortfall.
-- KEYS[1] order hash. ARGV[1] cumulative refunded total naming the step, ARGV[2] now_ms.
-- Reply: {'outcome', 'step', 'delta_minor', d, 'take_minor', t, 'applied', '1'} or
-- {'outcome', 'superseded'} when no such step exists.
local order_key = KEYS[1]
local total, now = whole(ARGV[1], 'total_minor'), whole(ARGV[2], 'now_ms')

local field, step = find_refund_step(order_key, total)
if not step then
  return {'outcome', 'superseded'}
end
local delta, take, applied = parse_refund_step(step)
if applied == '0' then
  step = delta .. ':' .. take .. ':1'
  redis.call('HSET', order_key, field, step, 'update_ms', now)
  redis.call('HINCRBY', order_key, 'refund_shortfall_minor', delta - take)
end
return refund_step_reply('step', step)
