--- @include "state"
-- Checkpoints {position, line}, by RingBufferHistory's rule (its TypeScript twin:
-- src/history/checkpoints.ts): a checkpoint stays valid until the history goes back to a point
-- before it, or clear/reset/restore.
-- The rollbacks that still matter, {line, position} ascending in both: a checkpoint {p, L} was
-- withdrawn when one made at line L or later went back to a position below p. Parsed only by the
-- scripts that check or change it.
local function rollbacks(s)
  if s.rb then return s.rb end
  local parts = {}
  s.rb = {}
  for g, p in string.gmatch(s.rbText, '(%d+):(%d+)') do
    s.rb[#s.rb + 1] = {tonumber(g), tonumber(p)}
    parts[#parts + 1] = g .. ':' .. p
  end
  if table.concat(parts, ';') ~= s.rbText then bad('its rollback list is `' .. s.rbText .. '`') end
  return s.rb
end
-- The history goes back to `pos` (-1: clear, reset, restore: every checkpoint) and a new line
-- starts. Only the rollbacks with the smallest positions matter to later checks; MAX_ROLLBACKS
-- are kept, and past that the oldest line's checkpoints are withdrawn (floor).
local MAX_ROLLBACKS = 1024
local function rewind(s, pos)
  if pos < 0 then
    s.rb = {}
    s.floor = s.gen + 1
  else
    local rb = rollbacks(s)
    while #rb > 0 and rb[#rb][2] >= pos do table.remove(rb) end
    rb[#rb + 1] = {s.gen, pos}
    if #rb > MAX_ROLLBACKS then s.floor = table.remove(rb, 1)[1] + 1 end
  end
  s.gen = s.gen + 1
end
