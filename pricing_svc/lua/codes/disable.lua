-- DisableDiscountCode: stops new reservations; open ones stay confirmable. Idempotent by request id.
local code_key, live_key, request_key = KEYS[1], KEYS[2], KEYS[3]
local fingerprint, now, request_ttl_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if not (now and request_ttl_ms) then return redis.error_reply('ERR disable_code: malformed arguments') end

local replay = replayed(request_key, fingerprint)
if replay then return replay end
if redis.call('EXISTS', code_key) == 0 then return refuse('DISCOUNT_CODE_NOT_FOUND') end
redis.call('HSET', code_key, 'disabled', '1')
return recorded(request_key, fingerprint, request_ttl_ms, code_state(code_key, live_key, now))
