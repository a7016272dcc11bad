-- Reads a code's definition and counts, and how many redemptions one account holds ('' for none).
local code_key, live_key, held_key, redeemed_by_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, account_id = tonumber(ARGV[1]), ARGV[2]
if not now then return redis.error_reply('ERR read_code: malformed arguments') end

if redis.call('EXISTS', code_key) == 0 then return refuse('DISCOUNT_CODE_NOT_FOUND') end
local state = code_state(code_key, live_key, now)
if account_id ~= '' then
  table.insert(state, 'held_by_account')
  table.insert(state, held_by(held_key, redeemed_by_key, account_id, now))
end
return state
