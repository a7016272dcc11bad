-- Moves an order along the state machine by compare-and-set, fills fields that are still unset and
-- optionally freezes the order as the first response of the RPC that created it.
-- KEYS[1] order hash.
-- ARGV: to ('' = no move), now_ms, receipt ('1' = freeze once), n_from, from..., n_set,
--       set field, value... (written only when the move happens), then fill field, value... (HSETNX).
-- Returns {1 | 0, fields...}: 1 when the move happened; {-1} for an unknown order.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return {-1}
end
local to, now = ARGV[1], ARGV[2]
local n_from = tonumber(ARGV[4])
local i = 5
local allowed = false
for j = i, i + n_from - 1 do
  if ARGV[j] == status then
    allowed = true
  end
end
i = i + n_from
local n_set = tonumber(ARGV[i])
i = i + 1
local moved = 0
if to ~= '' and allowed then
  local history = redis.call('HGET', KEYS[1], 'history') .. ',' .. to .. ':' .. now
  redis.call('HSET', KEYS[1], 'status', to, 'update_ms', now, 'history', history)
  for j = i, i + 2 * n_set - 1, 2 do
    redis.call('HSET', KEYS[1], ARGV[j], ARGV[j + 1])
  end
  moved = 1
end
for j = i + 2 * n_set, #ARGV, 2 do
  redis.call('HSETNX', KEYS[1], ARGV[j], ARGV[j + 1])
end
if ARGV[3] == '1' and redis.call('HEXISTS', KEYS[1], 'receipt') == 0 then
  local flat = redis.call('HGETALL', KEYS[1])
  local snapshot = {}
  for j = 1, #flat, 2 do
    snapshot[flat[j]] = flat[j + 1]
  end
  snapshot['fingerprint'] = nil
  redis.call('HSET', KEYS[1], 'receipt', cjson.encode(snapshot))
end
return {moved, redis.call('HGETALL', KEYS[1])}
