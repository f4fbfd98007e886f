--- @include "errors"
--- @include "history-keys"
-- One entry of the info list: "seq,bytes,tokens,flags". The flags are set in TypeScript at push
-- time (RedisHistory#measure in src/redis/redis-history.ts): bit 1 pinned, bit 2 starts a turn.
local function parseInfo(s)
  local seq, b, t, f = string.match(s or '', '^(%d+),(%d+),(%d+),(%d+)$')
  if seq == nil then bad('an entry of `' .. infoKey .. '` is `' .. tostring(s) .. '`') end
  return tonumber(seq), tonumber(b), tonumber(t), tonumber(f)
end
local function isPinned(f) return f % 2 == 1 end
local function startsTurn(f) return math.floor(f / 2) % 2 == 1 end
