-- Reads an account's automatic top-up settings and what it spent in the current period.
-- KEYS[1] settings hash, KEYS[2] spend zset. ARGV[1] now_ms, ARGV[2] default period (s).
-- Reply: {'outcome', 'read', setting, value..., 'spent_in_period_minor', n}.
local settings_key, spend_key = KEYS[1], KEYS[2]
local now, default_period_s = whole(ARGV[1], 'now_ms'), whole(ARGV[2], 'default_period_s')

return reply_with_table('read', auto_settings(settings_key, spend_key, now, default_period_s))
