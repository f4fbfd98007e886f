import { Script } from './client.js'

// The Lua scripts of RedisSessionRegistry. KEYS: 1 active (ZSET id → last activity), 2 token
// counter, 3 departures (STREAM), 4 leases (HASH id → "token:deadline"). Lease deadlines are on
// the server's clock (TIME), so workers' clocks need not agree; activity is on ARGV's clock when
// one is given (tests), else the server's too. A script that removes sessions takes one token
// for them from the counter and returns it, and the client deletes their history under it.
// Every script reads and checks all it needs before its first write (Redis does not roll a script
// back): departures are collected by depart() and written by finish().

const PRELUDE = `
local function bad(what) error({bsdata = what}) end
local function int(x) return string.format('%d', x) end
local time = redis.call('TIME')
local clock = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local function checkType(key, want)
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= want then bad('\`' .. key .. '\` holds a ' .. t .. ', not a ' .. want) end
end
local counter
-- Run first, inside run()'s pcall: a bad key fails the script before it reads anything else.
local function checkKeys()
  checkType(KEYS[1], 'zset')
  checkType(KEYS[2], 'string')
  checkType(KEYS[3], 'stream')
  checkType(KEYS[4], 'hash')
  counter = redis.call('GET', KEYS[2])
  if counter and not string.match(counter, '^%d+$') then bad('\`' .. KEYS[2] .. '\` is \`' .. counter .. '\`, not a token count') end
end
-- the lease's token while it is held, else nil (an expired entry is left for the next write to
-- replace, or for the session's departure to remove)
local function holder(id)
  local v = redis.call('HGET', KEYS[4], id)
  if not v then return nil end
  local token, deadline = string.match(v, '^(%d+):(%d+)$')
  if token == nil then bad('the lease of \`' .. id .. '\` is \`' .. v .. '\`') end
  if tonumber(deadline) > clock then return tonumber(token) end
  return nil
end
local departed, departing, reasons = {}, {}, {}
local function depart(id, reason)
  if departing[id] then return end
  departing[id] = true
  departed[#departed + 1] = id
  reasons[#reasons + 1] = reason
end
local function registered(id)
  return redis.call('ZSCORE', KEYS[1], id) ~= false and not departing[id]
end
-- sessions idle for idleTtl or longer that no lease holds, at most limit of them
local function expireIdle(now, idle, limit)
  if idle <= 0 then return end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', int(now - idle), 'LIMIT', 0, limit)) do
    if not holder(id) then depart(id, 'idle') end
  end
end
-- Writes the departures, then {status or token, token for the departed (0: none), departed…}
local function finish(status, maxLen)
  local deleteToken = 0
  for i, id in ipairs(departed) do
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[4], id)
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', maxLen, '*', 'id', id, 'reason', reasons[i])
  end
  if #departed > 0 then deleteToken = redis.call('INCR', KEYS[2]) end
  if status == 'token' then status = redis.call('INCR', KEYS[2]) end
  local reply = {status, deleteToken}
  for _, id in ipairs(departed) do reply[#reply + 1] = id end
  return reply
end
local function run(main)
  local ok, result = pcall(function()
    checkKeys()
    return main()
  end)
  if ok then return result end
  if type(result) == 'table' and result.bsdata then return redis.error_reply('BSDATA ' .. result.bsdata) end
  error(result)
end
`

/**
 * acquire. ARGV: 1 id, 2 lease ttl (ms), 3 maxSessions, 4 reject ('1'/'0'), 5 now ('' = server
 * clock), 6 idleTtlMs (0 = none), 7 departures MAXLEN.
 * Reply: finish(token) | finish(0) (leased elsewhere) | finish(-1) (the fleet is full).
 */
export const acquireScript = new Script(`${PRELUDE}
return run(function()
  local id, ttl, maxSessions, reject = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
  local now = ARGV[5] == '' and clock or tonumber(ARGV[5])
  local idle, maxLen = tonumber(ARGV[6]), ARGV[7]
  if holder(id) then return finish(0, maxLen) end
  expireIdle(now, idle, 16)
  if not registered(id) and redis.call('ZCARD', KEYS[1]) - #departed >= maxSessions then
    if reject then return finish(-1, maxLen) end
    local victim, start = nil, 0
    while not victim do
      local batch = redis.call('ZRANGE', KEYS[1], start, start + 31)
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
  redis.call('HSET', KEYS[4], id, int(reply[1]) .. ':' .. int(clock + ttl))
  redis.call('ZADD', KEYS[1], now, id)
  return reply
end)
`)

/**
 * renew. ARGV: triples of id, token, ttl (ms). Reply: 1 or 0 per lease (0: it was lost).
 */
export const renewScript = new Script(`${PRELUDE}
return run(function()
  local reply = {}
  for i = 1, #ARGV, 3 do
    reply[#reply + 1] = holder(ARGV[i]) == tonumber(ARGV[i + 1]) and 1 or 0
  end
  for i = 1, #ARGV, 3 do
    if reply[(i + 2) / 3] == 1 then
      redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1] .. ':' .. int(clock + tonumber(ARGV[i + 2])))
    end
  end
  return reply
end)
`)

/**
 * release. ARGV: 1 id, 2 token, 3 now ('' = server clock). Reply: 1 when the lease was held.
 */
export const releaseScript = new Script(`${PRELUDE}
return run(function()
  local now = ARGV[3] == '' and clock or tonumber(ARGV[3])
  if holder(ARGV[1]) ~= tonumber(ARGV[2]) then return 0 end
  redis.call('HDEL', KEYS[4], ARGV[1])
  redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
  return 1
end)
`)

/**
 * touch, delete and sweep. ARGV: 1 'touch' | 'delete' | 'sweep', 2 id ('' for sweep), 3 now
 * ('' = server clock), 4 idleTtlMs, 5 departures MAXLEN.
 * Reply: finish(1 or 0: whether the session was registered).
 */
export const sessionScript = new Script(`${PRELUDE}
return run(function()
  local op, id = ARGV[1], ARGV[2]
  local now = ARGV[3] == '' and clock or tonumber(ARGV[3])
  local idle, maxLen = tonumber(ARGV[4]), ARGV[5]
  expireIdle(now, idle, op == 'sweep' and 256 or 16)
  if op == 'sweep' then return finish(#departed, maxLen) end
  local known = registered(id) and 1 or 0
  if op == 'delete' and known == 1 then depart(id, 'delete') end
  local reply = finish(known, maxLen)
  if op == 'touch' and known == 1 then redis.call('ZADD', KEYS[1], 'XX', now, id) end
  return reply
end)
`)

/**
 * retoken: a lease whose token the session had already seen (the counter was lost: evicted,
 * deleted, restored from an older backup) takes a new one above it. ARGV: 1 id, 2 the lease's
 * token, 3 the session's newest token. Reply: the new token, or 0 when the lease is no longer held.
 */
export const retokenScript = new Script(`${PRELUDE}
return run(function()
  local id, token, seen = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
  if holder(id) ~= token then return 0 end
  local deadline = string.match(redis.call('HGET', KEYS[4], id), ':(%d+)$')
  if tonumber(counter or '0') < seen then redis.call('SET', KEYS[2], int(seen)) end
  local fresh = redis.call('INCR', KEYS[2])
  redis.call('HSET', KEYS[4], id, int(fresh) .. ':' .. deadline)
  return fresh
end)
`)
