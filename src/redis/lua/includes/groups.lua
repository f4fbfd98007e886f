--- @include "state"
-- The `group` option on the server (its TypeScript twin: src/history/groups.ts, class Groups).
-- The client reads each message's links at push time (RedisHistory#measure in
-- src/redis/redis-history.ts) and sends them as JSON `[calls, results, withNext]`. The state hash
-- keeps, for every call id a held message made, the sequence number of that message (field
-- `c:<id>`), for every held message that made calls their ids (`k:<seq>`, a JSON array), for
-- every held message that answered calls their ids (`r:<seq>`, a JSON array), the calls in flight
-- (`op`, a JSON object: the id of every held call no held message answers yet -> the sequence
-- number of its message; a history stored by an earlier version has none until its next reset,
-- clear or restore), and whether the newest message goes with the next (`wn`). A message tied to the one before it
-- (flag TIED, bit 3) cannot start a window: it follows a `withNext` message, or lies between a
-- call and a result of that call. Flag CALLS (bit 4, Redis only) marks a message that made calls,
-- flag ANSWERS (bit 5, Redis only) one that answered calls.
-- Changes go to an overlay that flushCalls() writes, so a script that fails first writes nothing.
local TIED, CALLS, ANSWERS = 4, 8, 16
local function answers(f) return math.floor(f / 16) % 2 == 1 end
-- The calls overlay; `cleared`: the content is being replaced (every stored call is gone).
local function newCalls(cleared)
  return {cleared = cleared, c = {}, k = {}, r = {}}
end
-- The calls in flight (id -> sequence number), read once.
local function openCalls(g)
  if g.open == nil then
    g.open = {}
    local got = not g.cleared and redis.call('HGET', stateKey, 'op')
    if got then
      local ok, o = pcall(cjson.decode, got)
      if not ok or type(o) ~= 'table' then bad('its calls in flight are `' .. got .. '`') end
      for id, seq in pairs(o) do g.open[id] = num(tostring(seq), 'call in flight') end
    end
  end
  return g.open
end
-- The sequence number of the oldest message that makes a call in flight, or nil (the start of
-- Groups#oldestOpen in src/history/groups.ts).
local function oldestOpenSeq(g)
  local at
  for _, seq in pairs(openCalls(g)) do
    if at == nil or seq < at then at = seq end
  end
  return at
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
  local open = openCalls(g)
  for _, id in ipairs(ids) do
    g.c[id] = seq
    open[id] = seq
  end
  g.k[seq] = ids
  g.openDirty = true
end
-- The message at `seq` answered these calls: they are no longer in flight (Groups#tie).
local function rememberResults(g, seq, ids)
  local open = openCalls(g)
  for _, id in ipairs(ids) do open[id] = nil end
  g.r[seq] = ids
  g.openDirty = true
end
local function resultsOf(g, seq)
  local v = g.r[seq]
  if v ~= nil then return v or nil end
  if g.cleared then return nil end
  local got = redis.call('HGET', stateKey, 'r:' .. int(seq))
  if not got then return nil end
  local ok, ids = pcall(cjson.decode, got)
  if not ok or type(ids) ~= 'table' then bad('its results of message ' .. int(seq) .. ' are `' .. got .. '`') end
  return ids
end
-- The message at `seq`, which answered calls, left the history (Groups#forget).
local function forgetResults(g, seq)
  g.r[seq] = false
end
-- The message at `seq` left the history (Groups#forget).
local function forgetCalls(g, seq)
  local ids = callsOf(g, seq)
  if ids == nil then return end
  g.k[seq] = false
  local open = openCalls(g)
  for _, id in ipairs(ids) do
    if callAt(g, id) == seq then g.c[id] = false end
    if open[id] == seq then
      open[id] = nil
      g.openDirty = true
    end
  end
end
local function flushCalls(g)
  if g.cleared then
    for _, field in ipairs(redis.call('HKEYS', stateKey)) do
      local p = string.sub(field, 1, 2)
      if p == 'c:' or p == 'k:' or p == 'r:' then redis.call('HDEL', stateKey, field) end
    end
  end
  for id, v in pairs(g.c) do
    if v then redis.call('HSET', stateKey, 'c:' .. id, int(v)) elseif not g.cleared then redis.call('HDEL', stateKey, 'c:' .. id) end
  end
  for seq, v in pairs(g.k) do
    if v then redis.call('HSET', stateKey, 'k:' .. int(seq), cjson.encode(v)) elseif not g.cleared then redis.call('HDEL', stateKey, 'k:' .. int(seq)) end
  end
  for seq, v in pairs(g.r) do
    if v then redis.call('HSET', stateKey, 'r:' .. int(seq), cjson.encode(v)) elseif not g.cleared then redis.call('HDEL', stateKey, 'r:' .. int(seq)) end
  end
  if g.openDirty or (g.cleared and g.open == nil) then
    local o, any = {}, false
    for id, seq in pairs(g.open or {}) do
      o[id] = int(seq)
      any = true
    end
    if any then redis.call('HSET', stateKey, 'op', cjson.encode(o)) else redis.call('HDEL', stateKey, 'op') end
  end
end
