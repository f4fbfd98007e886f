-- The server's clock in ms (scripts replicate by effects, so reading it before a write is allowed).
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
