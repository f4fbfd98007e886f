--[[
  rollback: removes the messages pushed after a checkpoint that are still held, as
  RingBufferHistory.rollback does; protection is recomputed from what is left.

  Input:
    KEYS[1] messages, KEYS[2] info, KEYS[3] state, KEYS[4] applied (see push-4.lua)

    ARGV[1] fencing token ('' = none)
    ARGV[2] idleTtlMs
    ARGV[3] the checkpoint's position
    ARGV[4] the checkpoint's line
    ARGV[5] maxPinned

  Output:
    {0, removed}
    {2, newest token}  fenced out; nothing changed
    {3}                the checkpoint is not valid here; nothing changed
]]
--- @include "includes/errors"
--- @include "includes/time"
--- @include "includes/info"
--- @include "includes/state"
--- @include "includes/checkpoints"
--- @include "includes/refresh"
--- @include "includes/fence"
--- @include "includes/tail-reader"
--- @include "includes/groups"
--- @include "includes/history-run"

local fenceToken, ttl, pos, line, maxP = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])

return run(function()
  local s = loadState()
  if not fenced(s, fenceToken) then return {2, s.fence} end
  if line > s.gen or pos > s.seq or line < s.floor then return {3} end
  for _, r in ipairs(rollbacks(s)) do
    if r[1] >= line and pos > r[2] then return {3} end
  end
  -- Read first (the entries popped and those protection is recomputed from), then write.
  local infoAt = tailReader(s.n)
  local removed = 0
  -- The calls the removed messages made are forgotten, and those they answered are in flight
  -- again when still held (Groups#forgetFrom in src/history/groups.ts).
  local g = newCalls(false)
  local answered = {}
  while removed < s.n do
    local seq, b, t, f = infoAt(s.n - 1 - removed)
    if seq < pos then break end
    if makesCalls(f) then forgetCalls(g, seq) end
    if answers(f) then
      for _, id in ipairs(resultsOf(g, seq) or {}) do answered[#answered + 1] = id end
      forgetResults(g, seq)
    end
    s.b, s.t, removed = s.b - b, s.t - t, removed + 1
  end
  if #answered > 0 then
    local open = openCalls(g)
    for _, id in ipairs(answered) do
      local call = callAt(g, id)
      if call ~= nil then open[id] = call end
    end
    g.openDirty = true
  end
  local kept = s.n - removed
  if removed > 0 then
    local prot, pb, pt = {}, 0, 0
    for i = kept - 1, 0, -1 do
      if #prot >= maxP then break end
      local _, b, t, f = infoAt(i)
      if isPinned(f) then
        table.insert(prot, 1, {i, b, t})
        pb, pt = pb + b, pt + t
      end
    end
    s.prot, s.pb, s.pt = prot, pb, pt
    if kept == 0 then
      redis.call('DEL', messagesKey, infoKey)
    else
      redis.call('LTRIM', messagesKey, 0, kept - 1)
      redis.call('LTRIM', infoKey, 0, kept - 1)
    end
    s.n = kept
  end
  -- The history goes back to pos: checkpoints after it are withdrawn (rb), the next push takes
  -- that position again (positions do not count rolled-back pushes), and a stable-window cut on a
  -- message rolled back is gone (its sequence number will be given to another).
  rewind(s, pos)
  s.seq, s.wn = pos, 0
  flushCalls(g)
  if s.cut > 0 and s.cut - 1 >= pos then s.cut = 0 end
  save(s)
  refresh(ttl, s, true)
  return {0, removed}
end)
