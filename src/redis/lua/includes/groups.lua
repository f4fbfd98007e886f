--- @include "state"
-- The `group` option on the server (its TypeScript twin: src/history/groups.ts, class Groups).
-- The client reads each message's links at push time (RedisHistory#measure in
-- src/redis/redis-history.ts) and sends them as JSON `[calls, results, withNext]`. The state hash
-- keeps, for every call id a held message made, the sequence number of that message (field
-- `c:<id>`), for every held message that made calls their ids (`k:<seq>`, a JSON array), and
-- whether the newest message goes with the next (`wn`). A message tied to the one before it
-- (flag TIED, bit 3) cannot start a window: it follows a `withNext` message, or lies between a
-- call and a result of that call. Flag CALLS (bit 4, Redis only) marks a message that made calls.
-- Changes go to an overlay that flushCalls() writes, so a script that fails first writes nothing.
local TIED, CALLS = 4, 8
-- The calls overlay; `cleared`: the content is being replaced (every stored call is gone).
local function newCalls(cleared)
  return {cleared = cleared, c = {}, k = {}}
end
local function callAt(g, id)
  local v = g.c[id]
  if v ~= nil then return v or nil end
  if g.cleared then return nil end
  local got = redis.call('HGET', stateKey, 'c:' .. id)
  if not got then return nil end
  return num(got, 'call position')
end
local function callsOf(g, seq)
  local v = g.k[seq]
  if v ~= nil then return v or nil end
  if g.cleared then return nil end
  local got = redis.call('HGET', stateKey, 'k:' .. int(seq))
  if not got then return nil end
  local ok, ids = pcall(cjson.decode, got)
  if not ok or type(ids) ~= 'table' then bad('its calls of message ' .. int(seq) .. ' are `' .. got .. '`') end
  return ids
end
-- The message at `seq` made these calls (Groups#tie).
local function rememberCalls(g, seq, ids)
  for _, id in ipairs(ids) do g.c[id] = seq end
  g.k[seq] = ids
end
-- The message at `seq` left the history (Groups#forget).
local function forgetCalls(g, seq)
  local ids = callsOf(g, seq)
  if ids == nil then return end
  g.k[seq] = false
  for _, id in ipairs(ids) do
    if callAt(g, id) == seq then g.c[id] = false end
  end
end
local function flushCalls(g)
  if g.cleared then
    for _, field in ipairs(redis.call('HKEYS', stateKey)) do
      local p = string.sub(field, 1, 2)
      if p == 'c:' or p == 'k:' then redis.call('HDEL', stateKey, field) end
    end
  end
  for id, v in pairs(g.c) do
    if v then redis.call('HSET', stateKey, 'c:' .. id, int(v)) elseif not g.cleared then redis.call('HDEL', stateKey, 'c:' .. id) end
  end
  for seq, v in pairs(g.k) do
    if v then redis.call('HSET', stateKey, 'k:' .. int(seq), cjson.encode(v)) elseif not g.cleared then redis.call('HDEL', stateKey, 'k:' .. int(seq)) end
  end
end
