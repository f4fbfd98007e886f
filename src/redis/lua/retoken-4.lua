--[[
  retoken: a lease whose token the session had already seen (the counter was lost: evicted,
  deleted, restored from an older backup) takes a new one above it.

  Input:
    KEYS[1] active      ZSET session id -> last activity (ms)
    KEYS[2] token       STRING, the fencing-token counter
    KEYS[3] departures  STREAM of departures: fields id, reason
    KEYS[4] leases      HASH session id -> "token:deadline" (server ms)

    ARGV[1] session id
    ARGV[2] the lease's token
    ARGV[3] the session's newest token

  Output: the new token, or 0 when the lease is no longer held
]]
--- @include "includes/registry-keys"

local id, token, seen = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

return run(function()
  if holder(id) ~= token then return 0 end
  local deadline = string.match(redis.call('HGET', leasesKey, id), ':(%d+)$')
  if tonumber(counter or '0') < seen then redis.call('SET', tokenKey, int(seen)) end
  local fresh = redis.call('INCR', tokenKey)
  redis.call('HSET', leasesKey, id, int(fresh) .. ':' .. deadline)
  return fresh
end)
