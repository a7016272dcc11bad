-- Stores an account's automatic top-up settings once per request_id; a retry gets the first answer.
-- Turning it on again clears a self-disable.
-- KEYS[1] settings hash, KEYS[2] spend zset, KEYS[3] the request_id's record (fingerprint|settings JSON).
-- ARGV[1] now_ms, ARGV[2] default period (s), ARGV[3] request fingerprint, ARGV[4] record ttl (s),
-- ARGV[5] enabled ('1' | '0'), ARGV[6] threshold_minor, ARGV[7] blocks, ARGV[8] max_spend_minor,
-- ARGV[9] period_seconds.
-- Reply: {'outcome', 'configured' | 'replayed' | 'request_id_reused', setting, value...}.
local settings_key, spend_key, request_key = KEYS[1], KEYS[2], KEYS[3]
local now, default_period_s = whole(ARGV[1], 'now_ms'), whole(ARGV[2], 'default_period_s')
local fingerprint, ttl_s = ARGV[3], whole(ARGV[4], 'ttl_s')
local enabled = one_of(ARGV[5], 'enabled', {'0', '1'})
local threshold, blocks = whole(ARGV[6], 'threshold_minor'), whole(ARGV[7], 'blocks')
local max_spend, period = whole(ARGV[8], 'max_spend_minor'), whole(ARGV[9], 'period_seconds')

local seen = redis.call('GET', request_key)
if seen then
  local seen_fingerprint, record = string.match(seen, '^([^|]*)|(.*)$')
  if seen_fingerprint ~= fingerprint then
    return {'outcome', 'request_id_reused'}
  end
  return reply_with_table('replayed', cjson.decode(record))
end
redis.call('HSET', settings_key, 'enabled', enabled, 'threshold_minor', threshold, 'blocks', blocks,
  'max_spend_minor', max_spend, 'period_seconds', period, 'update_ms', now)
if enabled == '1' then
  redis.call('HSET', settings_key, 'consecutive_failures', '0', 'disabled_reason', '')
end
local settings = auto_settings(settings_key, spend_key, now, default_period_s)
redis.call('SET', request_key, fingerprint .. '|' .. cjson.encode(settings), 'EX', ttl_s)
return reply_with_table('configured', settings)
