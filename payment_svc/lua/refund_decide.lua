-- Decides how much of a refund step the balance gives back: the first decision, or a lower one after a
-- debit was refused because the balance was spent meanwhile; never once the step is applied.
-- KEYS[1] order hash. ARGV[1] cumulative refunded total naming the step, ARGV[2] the amount to take.
-- Reply: {'outcome', 'step', 'delta_minor', d, 'take_minor', t, 'applied', '0' | '1'} or
-- {'outcome', 'superseded'} when no such step exists.
local order_key = KEYS[1]
local total, wanted = whole(ARGV[1], 'total_minor'), whole(ARGV[2], 'take_minor')

local field, step = find_refund_step(order_key, total)
if not step then
  return {'outcome', 'superseded'}
end
local delta, take, applied = parse_refund_step(step)
if applied == '0' and (take == -1 or wanted < take) then
  step = delta .. ':' .. wanted .. ':0'
  redis.call('HSET', order_key, field, step)
end
return refund_step_reply('step', step)
