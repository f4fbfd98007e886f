--[[
  push / reset: appends messages and trims as RingBufferHistory.push does, or replaces the whole
  content (clear, reset, restore), in one step. Nothing is written until the outcome is known.

  Input:
    KEYS[1] messages  LIST of serialised messages, oldest first
    KEYS[2] info      LIST parallel to it: "seq,bytes,tokens,flags"
    KEYS[3] state     HASH (see includes/state.lua)
    KEYS[4] applied   ZSET push id -> server time in ms (the idempotency window)

    ARGV[1]  push id ('' = none): a push whose id was applied within the window is not applied again
    ARGV[2]  fencing token ('' = none)
    ARGV[3]  idleTtlMs (0 = no expiry)
    ARGV[4]  maxMessages
    ARGV[5]  maxBytes (0 = none)
    ARGV[6]  maxTokens (0 = none), in provider tokens: divided here by the session's token correction
             with the safety margin (calibrate-4.lua), as calibratedConfig in src/history/calibration.ts does
    ARGV[7]  maxPinned
    ARGV[8]  trimTo
    ARGV[9]  rules: 1 (startOn) + 2 (group), as a number
    ARGV[10] mode: '' = push; 'reset' = replace the content; a number = replace the content and
             set the trimmed count to it (restore)
    ARGV[11] idempotency window (ms)
    ARGV[12] count, then per message: bytes, tokens, flags (pinned, starts a turn), links ('' or
             JSON [calls, results, withNext], for group: see includes/groups.lua), payload

  Output:
    {0, length, trimmed}
    {1, index, budget, limit, needed, other bytes, other tokens, budget factor}  a message does not
                      fit (tokens as estimated; the factor: the correction with the safety margin,
                      1 when never calibrated); nothing changed
    {2, newest token}                                             fenced out; nothing changed
    {4, call id}      a result answers a call the history does not hold; nothing changed
]]
--- @include "includes/errors"
--- @include "includes/time"
--- @include "includes/info"
--- @include "includes/state"
--- @include "includes/checkpoints"
--- @include "includes/refresh"
--- @include "includes/fence"
--- @include "includes/groups"
--- @include "includes/history-run"

local pushId, fenceToken, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local maxM, maxB, maxT, maxP = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local trimTo, rules, mode = tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10]
local startOn, grouped = rules % 2 == 1, math.floor(rules / 2) % 2 == 1
local window, count = tonumber(ARGV[11]), tonumber(ARGV[12])
local reset = mode ~= ''
local FIRST_MESSAGE, STRIDE = 12, 5

return run(function()
  local s = loadState(mode ~= '')
  local now = nowMs()
  local hasT = maxT > 0
  if hasT then maxT = math.floor(maxT / s.budgetCorr) end
  local corrText = string.format('%.17g', s.budgetCorr)
  -- A push id seen within the window was applied: this is a resend (a reconnect, a retry).
  if pushId ~= '' then
    local at = redis.call('ZSCORE', appliedKey, pushId)
    if at and tonumber(at) > now - window then return {0, s.n, 0} end
  end
  if not fenced(s, fenceToken) then return {2, s.fence} end
  -- Every result answers a call the history holds or an earlier message of this push makes
  -- (Groups#read in src/history/groups.ts, which throws OrphanResultError). A restored snapshot
  -- may start with the results of a group cut at its start: they are taken as they were held, up
  -- to the first message that is not only results.
  local links = {}
  if grouped then
    local made, leading = {}, reset and mode ~= 'reset'
    for j = 1, count do
      local arg = ARGV[FIRST_MESSAGE + (j - 1) * STRIDE + 4]
      local l = arg ~= '' and cjson.decode(arg) or nil
      if leading and not (l and #l[2] > 0 and #l[1] == 0) then leading = false end
      if l then
        links[j] = l
        for _, id in ipairs(l[2]) do
          if not leading and not made[id] and (reset or redis.call('HEXISTS', stateKey, 'c:' .. id) == 0) then return {4, id} end
        end
        for _, id in ipairs(l[1]) do made[id] = true end
      end
    end
  end
  local trimmedCount = 0
  -- Every message is checked against what will be protected beside it before anything changes
  -- (its TypeScript twin: the fit check in src/history/trim.ts, which throws MessageTooLargeError).
  local queue, head, pb, pt = {}, 1, 0, 0
  if not reset then
    for _, p in ipairs(s.prot) do queue[#queue + 1] = {p[2], p[3]} end
    pb, pt = s.pb, s.pt
  end
  for j = 1, count do
    local at = FIRST_MESSAGE + (j - 1) * STRIDE
    local size, tok, flags = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
    local needB, needT = pb + size, pt + tok
    if isPinned(flags) and maxP > 0 then
      if #queue - head + 1 == maxP then
        local d = queue[head]
        head = head + 1
        pb, pt, needB, needT = pb - d[1], pt - d[2], needB - d[1], needT - d[2]
      end
      queue[#queue + 1] = {size, tok}
      pb, pt = pb + size, pt + tok
    end
    if maxB > 0 and needB > maxB then return {1, j - 1, 'bytes', maxB, needB, needB - size, needT - tok, corrText} end
    if hasT and needT > maxT then return {1, j - 1, 'tokens', maxT, needT, needB - size, needT - tok, corrText} end
  end
  -- Nothing is written until the outcome is known: the stored entries the trims reach are read
  -- (and parsed) first, from the head, into `front`; the list is then
  -- front ++ (old entries not read) ++ tail, where new messages go to the tail while old entries
  -- are left unread, and to the front once none are.
  local oldCount = reset and 0 or s.n
  -- Read in chunks of 1, 2, 4, …: a push usually trims one message, and what is read is written back.
  local front, tail, read, chunk = {}, {}, 0, 1
  local g = newCalls(reset)
  if reset then
    s.n, s.b, s.t, s.prot, s.pb, s.pt, s.cut, s.wn = 0, 0, 0, {}, 0, 0, 0, 0
    -- clear(), reset() and restore() withdraw every checkpoint, as RingBufferHistory's do.
    rewind(s, -1)
  end
  if reset and mode ~= 'reset' then s.ev = tonumber(mode) end
  -- The new info of old entries not read (by their index in the stored list), tied by a result.
  local patches = {}
  local function entryAt(i)
    while i >= #front and read < oldCount do
      local hi = math.min(math.max(read + chunk, i + 1), oldCount) - 1
      local infos = redis.call('LRANGE', infoKey, read, hi)
      local msgs = redis.call('LRANGE', messagesKey, read, hi)
      if #infos ~= hi - read + 1 or #msgs ~= #infos then bad('its lists changed length') end
      for x = 1, #infos do
        local info = patches[read + x - 1] or infos[x]
        patches[read + x - 1] = nil
        local seq, b, t, f = parseInfo(info)
        front[#front + 1] = {info = info, msg = msgs[x], seq = seq, b = b, t = t, f = f}
      end
      read = hi + 1
      chunk = chunk * 2
      if read == oldCount then
        for _, e in ipairs(tail) do front[#front + 1] = e end
        tail = {}
      end
    end
    if i < #front then return front[i + 1] end
    return tail[i - #front - (oldCount - read) + 1]
  end
  local function removeAt(i)
    local e = entryAt(i)
    if i < #front then table.remove(front, i + 1) else table.remove(tail, i - #front - (oldCount - read) + 1) end
    if makesCalls(e.f) then forgetCalls(g, e.seq) end
    if answers(e.f) then forgetResults(g, e.seq) end
    s.n, s.b, s.t, s.ev, trimmedCount = s.n - 1, s.b - e.b, s.t - e.t, s.ev + 1, trimmedCount + 1
    for _, p in ipairs(s.prot) do
      if p[1] > i then p[1] = p[1] - 1 end
    end
  end
  local function firstUnprotected()
    local i = 0
    for _, p in ipairs(s.prot) do
      if p[1] ~= i then break end
      i = i + 1
    end
    return i
  end
  -- The sequence number and flags at index i, without reading the entries before it.
  local function peek(i)
    if i < #front then return front[i + 1].seq, front[i + 1].f end
    local middle = oldCount - read
    if i >= #front + middle then
      local e = tail[i - #front - middle + 1]
      return e.seq, e.f
    end
    local at = read + i - #front
    local seq, _, _, f = parseInfo(patches[at] or redis.call('LINDEX', infoKey, at))
    return seq, f
  end
  -- A result came: every held message after its call (callSeq; -1: the call was trimmed by this
  -- push) is tied to the one before it (Groups#tie).
  local function tieAfter(callSeq)
    for i = s.n - 1, 0, -1 do
      local middle = oldCount - read
      if i < #front or i >= #front + middle then
        local e = i < #front and front[i + 1] or tail[i - #front - middle + 1]
        if e.seq <= callSeq then return end
        if not isTied(e.f) then
          e.f = e.f + TIED
          e.info = infoOf(e.seq, e.b, e.t, e.f)
        end
      else
        local at = read + i - #front
        local seq, b, t, f = parseInfo(patches[at] or redis.call('LINDEX', infoKey, at))
        if seq <= callSeq then return end
        if not isTied(f) then patches[at] = infoOf(seq, b, t, f + TIED) end
      end
    end
  end
  -- Trims on to a message that may start a window: one that starts a turn (with startOn) and is
  -- not tied to the one before it (with group); never the newest. Never past `groupFrom` (the
  -- group the incoming message is tied to), nor, but for a tied message, past `keepFrom`
  -- (Trimmer#trimOn in src/history/trim.ts).
  local function trimOn(keepFrom, groupFrom)
    keepFrom, groupFrom = keepFrom or math.huge, groupFrom or math.huge
    while true do
      local i = firstUnprotected()
      if i >= s.n - 1 or i >= groupFrom then break end
      local f = entryAt(i).f
      if not isTied(f) and (i >= keepFrom or not startOn or startsTurn(f)) then break end
      removeAt(i)
      keepFrom, groupFrom = keepFrom - 1, groupFrom - 1
    end
  end
  -- With group, where trimming to the target stops while the hard budgets hold (the twins:
  -- Trimmer#tiedStart, Trimmer#keepFrom and Groups#oldestOpen in src/history/). The newest
  -- message is in (index s.n - 1); `len` is the count of those before it.
  local function tiedStart()
    local i = s.n - 2
    while i > 0 and isTied(select(2, peek(i))) do i = i - 1 end
    return math.max(i, 0)
  end
  local function oldestOpen(len)
    local at = oldestOpenSeq(g)
    if at == nil then return len end
    local i = len - 1
    while i > 0 and peek(i - 1) >= at do i = i - 1 end
    return i
  end
  local function keepFromOf(groupFrom)
    local len = s.n - 1
    local i = math.min(oldestOpen(len), groupFrom)
    if not startOn then
      if i >= len then return math.huge end
      return i
    end
    local j = math.min(i, len - 1)
    while j >= 0 do
      local _, f = peek(j)
      if startsTurn(f) and not isTied(f) then break end
      j = j - 1
    end
    if j >= 0 then return j end
    if i >= len then return math.huge end
    return i
  end
  local function withinHard()
    return s.n <= maxM and (maxB == 0 or s.b <= maxB) and (not hasT or s.t <= maxT)
  end
  -- Trimming, by RingBufferHistory's rules (its TypeScript twin: src/history/trim.ts,
  -- Trimmer#trim): past a bound, drop the oldest unprotected messages down to trimTo of every
  -- bound that was passed, never the newest; then, with startOn, on to a turn's start. With
  -- group, the target never cuts into the newest group: trimming to it stops at keepFrom (the
  -- oldest call in flight, or the start of the group the new message is tied to; with startOn,
  -- that one's turn) while the hard budgets hold; a group that alone exceeds one is cut at its
  -- start.
  local tgtM, tgtB, tgtT = math.floor(trimTo * maxM), math.floor(trimTo * maxB), math.floor(trimTo * maxT)
  for j = 1, count do
    local at = FIRST_MESSAGE + (j - 1) * STRIDE
    local size, tok, flags = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
    if grouped then
      -- Ties first, so that the trim this message makes sees its group (Groups#tie).
      local l = links[j]
      if s.wn == 1 then flags = flags + TIED end
      s.wn = (l and l[3]) and 1 or 0
      if l then
        for _, id in ipairs(l[2]) do
          if not isTied(flags) then flags = flags + TIED end
          tieAfter(callAt(g, id) or -1)
        end
        if #l[2] > 0 then
          rememberResults(g, s.seq, l[2])
          flags = flags + ANSWERS
        end
        if #l[1] > 0 then
          rememberCalls(g, s.seq, l[1])
          flags = flags + CALLS
        end
      end
    end
    if isPinned(flags) and maxP > 0 then
      if #s.prot == maxP then
        local d = table.remove(s.prot, 1)
        s.pb, s.pt = s.pb - d[2], s.pt - d[3]
      end
      s.prot[#s.prot + 1] = {s.n, size, tok}
      s.pb, s.pt = s.pb + size, s.pt + tok
    end
    local e = {info = infoOf(s.seq, size, tok, flags), msg = ARGV[at + 5], seq = s.seq, b = size, t = tok, f = flags}
    if read == oldCount then front[#front + 1] = e else tail[#tail + 1] = e end
    s.seq, s.n, s.b, s.t = s.seq + 1, s.n + 1, s.b + size, s.t + tok
    local overM, overB, overT = s.n > maxM, maxB > 0 and s.b > maxB, hasT and s.t > maxT
    if overM or overB or overT then
      local groupFrom, keepFrom, passed, reason = math.huge, math.huge, false, false
      if grouped then
        if isTied(flags) then groupFrom = tiedStart() end
        keepFrom = keepFromOf(groupFrom)
      end
      while (overM and s.n > tgtM) or (overB and s.b > tgtB) or (overT and s.t > tgtT) do
        reason = true
        local i = firstUnprotected()
        if i >= s.n - 1 then break end
        if i >= keepFrom then
          if withinHard() then break end
          -- A hard budget needs more: trimming goes on until it holds, then on to a start.
          passed = true
        end
        -- The group alone exceeds a hard budget: it is cut, from its start.
        if i >= groupFrom then keepFrom, groupFrom = math.huge, math.huge end
        removeAt(i)
        keepFrom, groupFrom = keepFrom - 1, groupFrom - 1
      end
      if reason and (startOn or grouped) then
        if passed then keepFrom = math.huge end
        trimOn(keepFrom, groupFrom)
      end
    elseif grouped and not isTied(flags) then
      -- What is left of a group whose start a trim cut goes once a message starts another.
      local i = firstUnprotected()
      if i < s.n - 1 and isTied(select(2, peek(i))) then trimOn() end
    end
  end
  -- Now write: the entries read are replaced by what is left of them, the new ones appended.
  for at, info in pairs(patches) do redis.call('LSET', infoKey, at, info) end
  if reset then
    redis.call('DEL', messagesKey, infoKey)
  elseif read > 0 then
    redis.call('LTRIM', messagesKey, read, -1)
    redis.call('LTRIM', infoKey, read, -1)
  end
  local function put(command, entries, from, to, step)
    local infos, msgs = {}, {}
    for x = from, to, step do
      infos[#infos + 1] = entries[x].info
      msgs[#msgs + 1] = entries[x].msg
      if #infos == 256 or x == to then
        redis.call(command, infoKey, unpack(infos))
        redis.call(command, messagesKey, unpack(msgs))
        infos, msgs = {}, {}
      end
    end
  end
  if read < oldCount or reset then
    put('LPUSH', front, #front, 1, -1)
  else
    put('RPUSH', front, 1, #front, 1)
  end
  put('RPUSH', tail, 1, #tail, 1)
  if pushId ~= '' then
    redis.call('ZADD', appliedKey, now, pushId)
    redis.call('ZREMRANGEBYSCORE', appliedKey, '-inf', now - window)
    redis.call('PEXPIRE', appliedKey, window)
  end
  flushCalls(g)
  save(s)
  refresh(ttl, s, true)
  return {0, s.n, trimmedCount}
end)
