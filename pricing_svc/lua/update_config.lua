-- Replaces the pricing config if the caller saw the current version, and keeps the audit entry.
-- Idempotent by request_id: a repeat returns the change it first wrote, even after later versions.
-- KEYS: 1 config hash {version, config}, 2 changes hash {version -> PricingConfigChange bytes},
--       3 requests hash {request_id -> "fingerprint:version"}
-- ARGV: 1 request_id, 2 fingerprint, 3 expected_version, 4 PricingConfig bytes, 5 PricingConfigChange
--       bytes (both already carry version expected_version + 1)
-- Returns {'OK', change bytes} | {'CONFIG_VERSION_MISMATCH', current version} | {'REQUEST_ID_REUSED', ''}
local config_key, changes_key, requests_key = KEYS[1], KEYS[2], KEYS[3]
local request_id, fingerprint = ARGV[1], ARGV[2]

local seen = redis.call('HGET', requests_key, request_id)
if seen then
  local seen_fingerprint, seen_version = string.match(seen, '^(.*):(%d+)$')
  if seen_fingerprint ~= fingerprint then return {'REQUEST_ID_REUSED', ''} end
  return {'OK', redis.call('HGET', changes_key, seen_version)}
end

local current = tonumber(redis.call('HGET', config_key, 'version') or '0')
if current ~= tonumber(ARGV[3]) then return {'CONFIG_VERSION_MISMATCH', tostring(current)} end

local version = tostring(current + 1)
redis.call('HSET', config_key, 'version', version, 'config', ARGV[4])
redis.call('HSET', changes_key, version, ARGV[5])
redis.call('HSET', requests_key, request_id, fingerprint .. ':' .. version)
return {'OK', ARGV[5]}
