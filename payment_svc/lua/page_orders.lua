-- One page of an account's orders, newest first, after the order named by the page token.
-- KEYS[1] the account's order index (score = create_ms). ARGV[1] last order id of the previous
-- page ('' for the first page), ARGV[2] how many to return.
-- Reply: {'outcome', 'listed', 'order_ids', {id...}} or {'outcome', 'unknown_token'} when the token's
-- order is not in the index.
local index_key = KEYS[1]
local after, size = ARGV[1], whole(ARGV[2], 'size')

local start = 0
if after ~= '' then
  local rank = redis.call('ZREVRANK', index_key, after)
  if not rank then
    return {'outcome', 'unknown_token'}
  end
  start = rank + 1
end
return {'outcome', 'listed', 'order_ids', redis.call('ZREVRANGE', index_key, start, start + size - 1)}
