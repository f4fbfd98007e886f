--- @include "errors"
--- @include "history-keys"
-- One entry of the info list: "seq,bytes,tokens,flags". The flags are set in TypeScript at push
-- time (RedisHistory#measure in src/redis/redis-history.ts): bit 1 pinned, bit 2 starts a turn;
-- bits 3 (tied), 4 (made calls) and 5 (answered calls) by the push script, for `group`
-- (includes/groups.lua).
local function parseInfo(s)
  local seq, b, t, f = string.match(s or '', '^(%d+),(%d+),(%d+),(%d+)$')
  if seq == nil then bad('an entry of `' .. infoKey .. '` is `' .. tostring(s) .. '`') end
  return tonumber(seq), tonumber(b), tonumber(t), tonumber(f)
end
local function isPinned(f) return f % 2 == 1 end
local function startsTurn(f) return math.floor(f / 2) % 2 == 1 end
local function isTied(f) return math.floor(f / 4) % 2 == 1 end
local function makesCalls(f) return math.floor(f / 8) % 2 == 1 end
local function infoOf(seq, b, t, f) return int(seq) .. ',' .. int(b) .. ',' .. int(t) .. ',' .. int(f) end
