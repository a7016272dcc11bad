-- Marks the credit of a failed refund's revert as done.
-- KEYS[1] order hash. ARGV[1] generation of the revert, ARGV[2] now_ms.
-- Reply: {'outcome', 'done' | 'unknown_revert'}.
local order_key = KEYS[1]
local generation, now = whole(ARGV[1], 'generation'), whole(ARGV[2], 'now_ms')
local field = 'refund_revert:' .. generation
local revert = redis.call('HGET', order_key, field)
if not revert then
  return {'outcome', 'unknown_revert'}
end
redis.call('HSET', order_key, field, string.sub(revert, 1, -3) .. ':1', 'update_ms', now)
return {'outcome', 'done'}
