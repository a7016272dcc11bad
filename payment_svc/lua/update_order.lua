-- Moves an order along the state machine by compare-and-set, fills fields that are still unset and
-- optionally freezes the order as the first response of the RPC that created it.
-- KEYS[1] order hash.
-- ARGV: to ('' = no move), now_ms, receipt ('1' = freeze once), n_from, from..., n_set,
--       set field, value... (written only when the move happens), then fill field, value... (HSETNX).
-- Reply: {'outcome', 'moved' | 'kept' | 'unknown_order', order field, value...}.
local order_key = KEYS[1]
local to = one_of(ARGV[1], 'to', {'', 'PENDING', 'PAID', 'FULFILLED', 'EXPIRED', 'FAILED', 'REQUIRES_ACTION',
  'REFUNDED', 'NEEDS_ATTENTION', 'DISPUTED'})
local now = whole(ARGV[2], 'now_ms')
local receipt = one_of(ARGV[3], 'receipt', {'0', '1'})
local n_from = whole(ARGV[4], 'n_from')
local froms = {unpack(ARGV, 5, 4 + n_from)}
local n_set = whole(ARGV[5 + n_from], 'n_set')
local first_set = 6 + n_from
local first_fill = first_set + 2 * n_set
if first_fill - 1 > #ARGV or (#ARGV - first_fill + 1) % 2 ~= 0 then
  error('ARGV sets and fills must be field, value pairs')
end

local status = redis.call('HGET', order_key, 'status')
if not status then
  return {'outcome', 'unknown_order'}
end
local outcome = 'kept'
if to ~= '' then
  for _, from in ipairs(froms) do
    if from == status then
      outcome = 'moved'
    end
  end
end
if outcome == 'moved' then
  move_order(order_key, to, now)
  for j = first_set, first_fill - 1, 2 do
    redis.call('HSET', order_key, ARGV[j], ARGV[j + 1])
  end
end
for j = first_fill, #ARGV, 2 do
  redis.call('HSETNX', order_key, ARGV[j], ARGV[j + 1])
end
if receipt == '1' and redis.call('HEXISTS', order_key, 'receipt') == 0 then
  local flat = redis.call('HGETALL', order_key)
  local snapshot = {}
  for j = 1, #flat, 2 do
    snapshot[flat[j]] = flat[j + 1]
  end
  snapshot['fingerprint'] = nil
  redis.call('HSET', order_key, 'receipt', cjson.encode(snapshot))
end
return reply_with_hash(outcome, order_key)
