--[[
  renew: extends held leases. All are checked before any is written.

  Input:
    KEYS[1] active      ZSET session id -> last activity (ms)
    KEYS[2] token       STRING, the fencing-token counter
    KEYS[3] departures  STREAM of departures: fields id, reason
    KEYS[4] leases      HASH session id -> "token:deadline" (server ms)

    ARGV    triples of session id, token, ttl (ms)

  Output: 1 or 0 per lease (0: it was lost)
]]
--- @include "includes/registry-keys"

return run(function()
  local reply = {}
  for i = 1, #ARGV, 3 do
    reply[#reply + 1] = holder(ARGV[i]) == tonumber(ARGV[i + 1]) and 1 or 0
  end
  for i = 1, #ARGV, 3 do
    if reply[(i + 2) / 3] == 1 then
      redis.call('HSET', leasesKey, ARGV[i], ARGV[i + 1] .. ':' .. int(clock + tonumber(ARGV[i + 2])))
    end
  end
  return reply
end)
