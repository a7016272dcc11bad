-- One page of an account's orders, newest first, after the order named by the page token.
-- KEYS[1] the account's order index (score = create_ms). ARGV[1] last order id of the previous
-- page ('' for the first page), ARGV[2] how many to return.
-- Returns the order ids, or -1 when the token's order is not in the index.
local start = 0
if ARGV[1] ~= '' then
  local rank = redis.call('ZREVRANK', KEYS[1], ARGV[1])
  if not rank then
    return -1
  end
  start = rank + 1
end
return redis.call('ZREVRANGE', KEYS[1], start, start + tonumber(ARGV[2]) - 1)
