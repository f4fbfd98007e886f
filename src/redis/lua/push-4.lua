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
    ARGV[6]  maxTokens (0 = none)
    ARGV[7]  maxPinned
    ARGV[8]  trimTo
    ARGV[9]  startOn ('1' / '0')
    ARGV[10] mode: '' = push; 'reset' = replace the content; a number = replace the content and
             set the trimmed count to it (restore)
    ARGV[11] idempotency window (ms)
    ARGV[12] count, then per message: bytes, tokens, flags, payload

  Output:
    {0, length, trimmed}
    {1, index, budget, limit, needed, other bytes, other tokens}  a message does not fit; nothing changed
    {2, newest token}                                             fenced out; nothing changed
]]
--- @include "includes/errors"
--- @include "includes/time"
--- @include "includes/info"
--- @include "includes/state"
--- @include "includes/checkpoints"
--- @include "includes/refresh"
--- @include "includes/fence"
--- @include "includes/history-run"

local pushId, fenceToken, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local maxM, maxB, maxT, maxP = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local trimTo, startOn, mode = tonumber(ARGV[8]), ARGV[9] == '1', ARGV[10]
local window, count = tonumber(ARGV[11]), tonumber(ARGV[12])
local reset = mode ~= ''
local FIRST_MESSAGE = 12

return run(function()
  local s = loadState(mode ~= '')
  local now = nowMs()
  -- A push id seen within the window was applied: this is a resend (a reconnect, a retry).
  if pushId ~= '' then
    local at = redis.call('ZSCORE', appliedKey, pushId)
    if at and tonumber(at) > now - window then return {0, s.n, 0} end
  end
  if not fenced(s, fenceToken) then return {2, s.fence} end
  local trimmedCount = 0
  -- Every message is checked against what will be protected beside it before anything changes
  -- (its TypeScript twin: the fit check in src/history/trim.ts, which throws MessageTooLargeError).
  local queue, head, pb, pt = {}, 1, 0, 0
  if not reset then
    for _, p in ipairs(s.prot) do queue[#queue + 1] = {p[2], p[3]} end
    pb, pt = s.pb, s.pt
  end
  for j = 1, count do
    local at = FIRST_MESSAGE + (j - 1) * 4
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
    if maxB > 0 and needB > maxB then return {1, j - 1, 'bytes', maxB, needB, needB - size, needT - tok} end
    if maxT > 0 and needT > maxT then return {1, j - 1, 'tokens', maxT, needT, needB - size, needT - tok} end
  end
  -- Nothing is written until the outcome is known: the stored entries the trims reach are read
  -- (and parsed) first, from the head, into `front`; the list is then
  -- front ++ (old entries not read) ++ tail, where new messages go to the tail while old entries
  -- are left unread, and to the front once none are.
  local oldCount = reset and 0 or s.n
  -- Read in chunks of 1, 2, 4, …: a push usually trims one message, and what is read is written back.
  local front, tail, read, chunk = {}, {}, 0, 1
  if reset then
    s.n, s.b, s.t, s.prot, s.pb, s.pt, s.cut = 0, 0, 0, {}, 0, 0, 0
    -- clear(), reset() and restore() withdraw every checkpoint, as RingBufferHistory's do.
    rewind(s, -1)
  end
  if reset and mode ~= 'reset' then s.ev = tonumber(mode) end
  local function entryAt(i)
    while i >= #front and read < oldCount do
      local hi = math.min(math.max(read + chunk, i + 1), oldCount) - 1
      local infos = redis.call('LRANGE', infoKey, read, hi)
      local msgs = redis.call('LRANGE', messagesKey, read, hi)
      if #infos ~= hi - read + 1 or #msgs ~= #infos then bad('its lists changed length') end
      for x = 1, #infos do
        local seq, b, t, f = parseInfo(infos[x])
        front[#front + 1] = {info = infos[x], msg = msgs[x], b = b, t = t, f = f}
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
  -- Trimming, by RingBufferHistory's rules (its TypeScript twin: src/history/trim.ts): past a
  -- bound, drop the oldest unprotected messages down to trimTo
  -- of every bound that was passed, never the newest; then, with startOn, on to a turn's start.
  local tgtM, tgtB, tgtT = math.floor(trimTo * maxM), math.floor(trimTo * maxB), math.floor(trimTo * maxT)
  for j = 1, count do
    local at = FIRST_MESSAGE + (j - 1) * 4
    local size, tok, flags = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
    if isPinned(flags) and maxP > 0 then
      if #s.prot == maxP then
        local d = table.remove(s.prot, 1)
        s.pb, s.pt = s.pb - d[2], s.pt - d[3]
      end
      s.prot[#s.prot + 1] = {s.n, size, tok}
      s.pb, s.pt = s.pb + size, s.pt + tok
    end
    local e = {info = int(s.seq) .. ',' .. int(size) .. ',' .. int(tok) .. ',' .. int(flags), msg = ARGV[at + 4], b = size, t = tok, f = flags}
    if read == oldCount then front[#front + 1] = e else tail[#tail + 1] = e end
    s.seq, s.n, s.b, s.t = s.seq + 1, s.n + 1, s.b + size, s.t + tok
    local overM, overB, overT = s.n > maxM, maxB > 0 and s.b > maxB, maxT > 0 and s.t > maxT
    if overM or overB or overT then
      local removed = 0
      while (overM and s.n > tgtM) or (overB and s.b > tgtB) or (overT and s.t > tgtT) do
        local i = firstUnprotected()
        if i >= s.n - 1 then break end
        removeAt(i)
        removed = removed + 1
      end
      if removed > 0 and startOn then
        while true do
          local i = firstUnprotected()
          if i >= s.n - 1 or startsTurn(entryAt(i).f) then break end
          removeAt(i)
        end
      end
    end
  end
  -- Now write: the entries read are replaced by what is left of them, the new ones appended.
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
  save(s)
  refresh(ttl, s, true)
  return {0, s.n, trimmedCount}
end)
