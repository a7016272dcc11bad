-- Decides how much of a disputed top-up the balance gives back: the first decision, or a lower one
-- after a debit was refused because the balance was spent meanwhile; never once it was taken.
-- KEYS[1] order hash. ARGV[1] dispute_id, ARGV[2] amount to take (minor).
-- Reply: {'outcome', 'decided' | 'kept' | 'other_dispute', order field, value...}.
local order_key = KEYS[1]
local dispute_id, wanted = ARGV[1], whole(ARGV[2], 'take_minor')

if redis.call('HGET', order_key, 'dispute_id') ~= dispute_id then
  return reply_with_hash('other_dispute', order_key)
end
local take = tonumber(redis.call('HGET', order_key, 'dispute_take_minor') or '-1')
if redis.call('HGET', order_key, 'dispute_taken') == '1' or (take ~= -1 and take <= wanted) then
  return reply_with_hash('kept', order_key)
end
redis.call('HSET', order_key, 'dispute_take_minor', wanted)
return reply_with_hash('decided', order_key)
