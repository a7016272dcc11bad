-- UpdatePricingConfig: replaces the pricing config if the caller saw the current version, and keeps
-- the audit entry. Idempotent by request id: a repeat returns the change it first wrote.
-- Replies {'version', n, 'change', PricingConfigChange bytes} or a refusal {'refusal', REASON, ...}.
local config_key, changes_key, request_key = KEYS[1], KEYS[2], KEYS[3]
local fingerprint, expected_version, config, change = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local request_ttl_ms = tonumber(ARGV[5])
if not (expected_version and expected_version >= 0 and request_ttl_ms) or config == '' or change == '' then
  return redis.error_reply('ERR update_config: malformed arguments')
end

local seen = redis.call('GET', request_key)
if seen then
  local seen_fingerprint, seen_version = string.match(seen, '^(.*):(%d+)$')
  if seen_fingerprint ~= fingerprint then return {'refusal', 'REQUEST_ID_REUSED'} end
  return {'version', seen_version, 'change', redis.call('HGET', changes_key, seen_version)}
end

local current = tonumber(redis.call('HGET', config_key, 'version') or '0')
if current ~= expected_version then
  return {'refusal', 'CONFIG_VERSION_MISMATCH', 'current_version', string.format('%d', current)}
end
local version = string.format('%d', current + 1)
redis.call('HSET', config_key, 'version', version, 'config', config)
redis.call('HSET', changes_key, version, change)
redis.call('SET', request_key, fingerprint .. ':' .. version, 'PX', request_ttl_ms)
return {'version', version, 'change', change}
