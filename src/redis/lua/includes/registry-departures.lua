--- @include "registry-keys"
-- Sessions leaving the fleet. Every script reads and checks all it needs before its first write
-- (Redis does not roll a script back): depart() collects, finish() writes. A script that removes
-- sessions takes one token for them and returns it; the client deletes their histories under it
-- (fence-4.lua, 'delete').
local departed, departing, reasons = {}, {}, {}
local function depart(id, reason)
  if departing[id] then return end
  departing[id] = true
  departed[#departed + 1] = id
  reasons[#reasons + 1] = reason
end
local function registered(id)
  return redis.call('ZSCORE', activeKey, id) ~= false and not departing[id]
end
-- Sessions idle for idleTtl or longer that no lease holds, at most limit of them.
local function expireIdle(now, idle, limit)
  if idle <= 0 then return end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', activeKey, '-inf', int(now - idle), 'LIMIT', 0, limit)) do
    if not holder(id) then depart(id, 'idle') end
  end
end
-- Writes the departures, then {status or token, token for the departed (0: none), departed...}.
local function finish(status, maxLen)
  local deleteToken = 0
  for i, id in ipairs(departed) do
    redis.call('ZREM', activeKey, id)
    redis.call('HDEL', leasesKey, id)
    redis.call('XADD', departuresKey, 'MAXLEN', '~', maxLen, '*', 'id', id, 'reason', reasons[i])
  end
  if #departed > 0 then deleteToken = redis.call('INCR', tokenKey) end
  if status == 'token' then status = redis.call('INCR', tokenKey) end
  local reply = {status, deleteToken}
  for _, id in ipairs(departed) do reply[#reply + 1] = id end
  return reply
end
