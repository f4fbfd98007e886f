--[[
  touch, delete and sweep.

  Input:
    KEYS[1] active      ZSET session id -> last activity (ms)
    KEYS[2] token       STRING, the fencing-token counter
    KEYS[3] departures  STREAM of departures: fields id, reason
    KEYS[4] leases      HASH session id -> "token:deadline" (server ms)

    ARGV[1] 'touch' | 'delete' | 'sweep'
    ARGV[2] session id ('' for sweep)
    ARGV[3] now ('' = the server's clock)
    ARGV[4] idleTtlMs
    ARGV[5] departures MAXLEN

  Output: finish(1 or 0: whether the session was registered; for sweep, how many expired)
]]
--- @include "includes/registry-departures"

local op, id = ARGV[1], ARGV[2]
local idle, maxLen = tonumber(ARGV[4]), ARGV[5]

return run(function()
  local now = ARGV[3] == '' and clock or tonumber(ARGV[3])
  expireIdle(now, idle, op == 'sweep' and 256 or 16)
  if op == 'sweep' then return finish(#departed, maxLen) end
  local known = registered(id) and 1 or 0
  if op == 'delete' and known == 1 then depart(id, 'delete') end
  local reply = finish(known, maxLen)
  if op == 'touch' and known == 1 then redis.call('ZADD', activeKey, 'XX', now, id) end
  return reply
end)
