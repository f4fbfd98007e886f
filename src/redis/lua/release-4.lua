--[[
  release: frees a lease; the session stays registered, active now.

  Input:
    KEYS[1] active      ZSET session id -> last activity (ms)
    KEYS[2] token       STRING, the fencing-token counter
    KEYS[3] departures  STREAM of departures: fields id, reason
    KEYS[4] leases      HASH session id -> "token:deadline" (server ms)

    ARGV[1] session id
    ARGV[2] token
    ARGV[3] now ('' = the server's clock)

  Output: 1 when the lease was held, else 0
]]
--- @include "includes/registry-keys"

local id, token = ARGV[1], tonumber(ARGV[2])

return run(function()
  local now = ARGV[3] == '' and clock or tonumber(ARGV[3])
  if holder(id) ~= token then return 0 end
  redis.call('HDEL', leasesKey, id)
  redis.call('ZADD', activeKey, 'XX', now, id)
  return 1
end)
