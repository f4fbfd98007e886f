--- @include "errors"
-- The registry's keys, in the order of RedisSessionRegistry's key list (registryKeys() in
-- src/redis/keys.ts). Lease deadlines are on the server's clock, so workers' clocks need not agree.
local activeKey, tokenKey, departuresKey, leasesKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local time = redis.call('TIME')
local clock = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local function checkType(key, want)
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= want then bad('`' .. key .. '` holds a ' .. t .. ', not a ' .. want) end
end
local counter
-- Run first, inside run()'s pcall: a bad key fails the script before it reads anything else.
local function checkKeys()
  checkType(activeKey, 'zset')
  checkType(tokenKey, 'string')
  checkType(departuresKey, 'stream')
  checkType(leasesKey, 'hash')
  counter = redis.call('GET', tokenKey)
  if counter and not string.match(counter, '^%d+$') then bad('`' .. tokenKey .. '` is `' .. counter .. '`, not a token count') end
end
-- The lease's token while it is held, else nil (an expired entry is left for the next write to
-- replace, or for the session's departure to remove).
local function holder(id)
  local v = redis.call('HGET', leasesKey, id)
  if not v then return nil end
  local token, deadline = string.match(v, '^(%d+):(%d+)$')
  if token == nil then bad('the lease of `' .. id .. '` is `' .. v .. '`') end
  if tonumber(deadline) > clock then return tonumber(token) end
  return nil
end
-- Runs a registry script after checkKeys(); a bad() becomes a BSDATA reply.
local function run(main)
  local ok, result = pcall(function()
    checkKeys()
    return main()
  end)
  if ok then return result end
  if type(result) == 'table' and result.bsdata then return redis.error_reply('BSDATA ' .. result.bsdata) end
  error(result)
end
