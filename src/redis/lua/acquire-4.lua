--[[
  acquire: a lease on a session, registering it if it is new (which may evict the least recently
  active unleased session, or refuse with whenFull 'reject').

  Input:
    KEYS[1] active      ZSET session id -> last activity (ms)
    KEYS[2] token       STRING, the fencing-token counter
    KEYS[3] departures  STREAM of departures: fields id, reason
    KEYS[4] leases      HASH session id -> "token:deadline" (server ms)

    ARGV[1] session id
    ARGV[2] lease ttl (ms)
    ARGV[3] maxSessions
    ARGV[4] reject ('1' / '0')
    ARGV[5] now ('' = the server's clock)
    ARGV[6] idleTtlMs (0 = none)
    ARGV[7] departures MAXLEN

  Output: finish(token) | finish(0) (leased elsewhere) | finish(-1) (the fleet is full)
]]
--- @include "includes/registry-departures"

local id, ttl, maxSessions, reject = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local idle, maxLen = tonumber(ARGV[6]), ARGV[7]

return run(function()
  local now = ARGV[5] == '' and clock or tonumber(ARGV[5])
  if holder(id) then return finish(0, maxLen) end
  expireIdle(now, idle, 16)
  if not registered(id) and redis.call('ZCARD', activeKey) - #departed >= maxSessions then
    if reject then return finish(-1, maxLen) end
    local victim, start = nil, 0
    while not victim do
      local batch = redis.call('ZRANGE', activeKey, start, start + 31)
      if #batch == 0 then break end
      for _, other in ipairs(batch) do
        if not departing[other] and not holder(other) then
          victim = other
          break
        end
      end
      start = start + 32
    end
    if not victim then return finish(-1, maxLen) end
    depart(victim, 'capacity')
  end
  local reply = finish('token', maxLen)
  redis.call('HSET', leasesKey, id, int(reply[1]) .. ':' .. int(clock + ttl))
  redis.call('ZADD', activeKey, now, id)
  return reply
end)
