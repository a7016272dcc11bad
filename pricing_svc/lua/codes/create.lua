-- CreateDiscountCode: stores a new code's definition and lists it, idempotent by request id.
local code_key, live_key, index_key, request_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local code, definition, fingerprint = ARGV[1], ARGV[2], ARGV[3]
local now, request_ttl_ms = tonumber(ARGV[4]), tonumber(ARGV[5])
if code == '' or not pcall(cjson.decode, definition) or not (now and request_ttl_ms) then
  return redis.error_reply('ERR create_code: malformed arguments')
end

local replay = replayed(request_key, fingerprint)
if replay then return replay end
if redis.call('EXISTS', code_key) == 1 then return refuse('DISCOUNT_CODE_ALREADY_EXISTS') end
redis.call('HSET', code_key, 'def', definition, 'disabled', '0', 'redeemed', '0')
redis.call('ZADD', index_key, 0, code)
return recorded(request_key, fingerprint, request_ttl_ms, code_state(code_key, live_key, now))
