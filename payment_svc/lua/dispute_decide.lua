-- Decides how much of a disputed top-up the balance gives back: the first decision, or a lower one
-- after a debit was refused because the balance was spent meanwhile; never once it was taken.
-- KEYS[1] order hash. ARGV[1] dispute_id, ARGV[2] amount to take (minor).
-- Reply: {'outcome', 'decided' | 'kept' | 'other_dispute', fields...} (the order's fields follow).
local order_key = KEYS[1]
local dispute_id, wanted = ARGV[1], tonumber(ARGV[2])

if redis.call('HGET', order_key, 'dispute_id') ~= dispute_id then
  return {'outcome', 'other_dispute', unpack(redis.call('HGETALL', order_key))}
end
local take = tonumber(redis.call('HGET', order_key, 'dispute_take_minor') or '-1')
if redis.call('HGET', order_key, 'dispute_taken') == '1' or (take ~= -1 and take <= wanted) then
  return {'outcome', 'kept', unpack(redis.call('HGETALL', order_key))}
end
redis.call('HSET', order_key, 'dispute_take_minor', wanted)
return {'outcome', 'decided', unpack(redis.call('HGETALL', order_key))}
