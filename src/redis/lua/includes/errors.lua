-- Errors and number parsing shared by every script. bad() raises an error that run() turns into
-- a BSDATA reply, which the client turns into RedisDataError (src/redis/client.ts).
local function bad(what) error({bsdata = what}) end
local function int(x) return string.format('%d', x) end
-- A non-negative integer field, 0 when absent.
local function num(v, what)
  if not v then return 0 end
  local n = tonumber(v)
  if n == nil or n < 0 or n ~= math.floor(n) then bad('its ' .. what .. ' is `' .. tostring(v) .. '`') end
  return n
end
