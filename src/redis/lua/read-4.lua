--[[
  Reads of a history; the window is chosen here, so only it is sent back. Refreshes the expiry.

  Input:
    KEYS[1] messages, KEYS[2] info, KEYS[3] state, KEYS[4] applied (see push-4.lua)

    ARGV[1] mode: 'all', 'window', 'snapshot' or 'stats'
    ARGV[2] idleTtlMs
    ARGV[3] fencing token ('' = none): a reader with an older token than the session's newest gets
            its window but does not move the shared stable cut
    for 'window':
    ARGV[4] maxMessages, ARGV[5] maxBytes, ARGV[6] maxTokens ('' = none)
    ARGV[7] rules: 1 (startOn) + 2 (group), as a number
    ARGV[8] trimTo (below 1: a cache-stable window, whose cut is kept in the state field `cut`)

  Output:
    'all', 'window': the payloads
    'snapshot': {trimmed, payloads, flags, correction, readings, margin} ('' each when not stored)
    'stats': {length, bytes, tokens (as estimated), trimmed, position, line, token correction,
              budget factor (the correction with the safety margin; 1 when never calibrated)}
    'window' takes maxTokens in provider tokens: divided here by the budget factor
]]
--- @include "includes/errors"
--- @include "includes/time"
--- @include "includes/info"
--- @include "includes/state"
--- @include "includes/refresh"
--- @include "includes/tail-reader"
--- @include "includes/history-run"

local mode, ttl, fenceToken = ARGV[1], tonumber(ARGV[2]), ARGV[3]

return run(function()
  local s = loadState()
  -- A reader under a lost lease (an older token) may read, not move the shared cut.
  local mayWrite = fenceToken == '' or tonumber(fenceToken) >= s.fence
  local reply
  if mode == 'stats' then
    reply = {s.n, s.b, s.t, s.ev, s.seq, s.gen, string.format('%.17g', s.corr), string.format('%.17g', s.budgetCorr)}
  elseif mode == 'all' then
    reply = redis.call('LRANGE', messagesKey, 0, -1)
  elseif mode == 'snapshot' then
    local flags = {}
    for x, e in ipairs(redis.call('LRANGE', infoKey, 0, -1)) do
      local _, _, _, f = parseInfo(e)
      flags[x] = f
    end
    local c = redis.call('HMGET', stateKey, 'corr', 'crd', 'cmg')
    reply = {s.ev, redis.call('LRANGE', messagesKey, 0, -1), flags, c[1] or '', c[2] or '', c[3] or ''}
  else
    local function lim(v) if v == '' then return math.huge end return tonumber(v) end
    local maxM, maxB, maxT, rules, trimTo = lim(ARGV[4]), lim(ARGV[5]), lim(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
    local startOn, grouped = rules % 2 == 1, math.floor(rules / 2) % 2 == 1
    -- In estimated tokens (calibratedBudget in src/history/calibration.ts).
    if maxT ~= math.huge then maxT = math.floor(maxT / s.budgetCorr) end
    -- The window, by RingBufferHistory.window's rules (its TypeScript twin: src/history/window.ts,
    -- the walk back and the stable cut).
    reply = {}
    if s.n > 0 then
      local infoAt = tailReader(s.n)
      local prot, newest = s.prot, s.n - 1
      -- The cut (first index) of the window under these limits. With an anchor (a sequence
      -- number), the window that starts at that message, or nil when it is gone or what follows
      -- it no longer fits. The second result is true when the window had to be cut and no message
      -- it holds may start it (inside the newest group: left out, the cut is then s.n; with
      -- startOn, no turn start: the newest message on its own).
      local function windowFor(mM, mB, mT, anchor)
        local k = #prot
        local newestProtected = k >= 1 and prot[k][1] == newest
        if newestProtected then k = k - 1 end
        local count, bytes, tokens = #prot, s.pb, s.pt
        local newestSeq, nb, nt = infoAt(newest)
        if not newestProtected then count, bytes, tokens = count + 1, bytes + nb, tokens + nt end
        local cut = newest
        local found = anchor >= 0 and newestSeq == anchor
        local i = newest - 1
        while i >= 0 and not found do
          local seq, b, t = infoAt(i)
          if anchor >= 0 and seq < anchor then return nil end
          if k >= 1 and prot[k][1] == i then
            k = k - 1
            cut = i
          else
            if count + 1 > mM or bytes + b > mB or tokens + t > mT then
              if anchor >= 0 then return nil end
              break
            end
            count, bytes, tokens, cut = count + 1, bytes + b, tokens + t, i
          end
          if anchor >= 0 and seq == anchor then found = true end
          i = i - 1
        end
        if anchor >= 0 and not found then return nil end
        -- A window never starts inside a group (the remembered cut may have been tied since).
        if anchor >= 0 and isTied(select(4, infoAt(cut))) then return nil end
        if anchor < 0 and (startOn or grouped) and (cut - k > 0 or isTied(select(4, infoAt(cut)))) then
          local j = k + 1
          while cut < newest do
            if j <= #prot and prot[j][1] == cut then
              j, cut = j + 1, cut + 1
            else
              local _, _, _, f = infoAt(cut)
              if (not startOn or startsTurn(f)) and not isTied(f) then break end
              cut = cut + 1
            end
          end
          local _, _, _, f = infoAt(cut)
          local noStart = cut == newest and ((startOn and not startsTurn(f)) or isTied(f))
          -- Inside the newest group, which the budget cannot hold whole: the window leaves it out
          -- (fewer messages, never a result without its call).
          if isTied(f) then cut = s.n end
          return cut, noStart
        end
        return cut, false
      end
      local cut
      if trimTo >= 1 then
        cut = windowFor(maxM, maxB, maxT, -1)
      else
        if s.cut > 0 then cut = windowFor(maxM, maxB, maxT, s.cut - 1) end
        -- No cut yet, or the history trimmed it: the whole history if it fits, else a step.
        if cut == nil then cut = windowFor(maxM, maxB, maxT, (infoAt(0))) end
        local first = cut
        if cut == nil then
          local noStart
          cut, noStart = windowFor(math.floor(trimTo * maxM), math.floor(trimTo * maxB), math.floor(trimTo * maxT), -1)
          -- With group, the target is only a target: when meeting it would leave out the newest
          -- group, or (with startOn) start after the newest turn's start, the window is cut under
          -- the budget (windowOf in src/history/window.ts).
          if grouped and noStart then cut = windowFor(maxM, maxB, maxT, -1) end
          -- The window's first message, as sent: the protected messages right before the cut are
          -- in it too, and stay in it when a newer pin displaces them.
          first = cut
          if cut < s.n then
            local j = 0
            while j < #prot and prot[j + 1][1] < cut do j = j + 1 end
            while j > 0 and prot[j][1] == first - 1 do
              j = j - 1
              first = first - 1
            end
          end
        end
        -- A window that leaves out everything but the pinned messages remembers no cut.
        local cutSeq = first < s.n and infoAt(first) + 1 or 0
        if cutSeq ~= s.cut and mayWrite then
          s.cut = cutSeq
          redis.call('HSET', stateKey, 'cut', int(s.cut))
        end
      end
      for _, p in ipairs(prot) do
        if p[1] >= cut then break end
        reply[#reply + 1] = redis.call('LINDEX', messagesKey, p[1])
      end
      for _, m in ipairs(redis.call('LRANGE', messagesKey, cut, -1)) do reply[#reply + 1] = m end
    end
  end
  if s.n > 0 or redis.call('EXISTS', stateKey) == 1 then refresh(ttl, s, false) end
  return reply
end)
