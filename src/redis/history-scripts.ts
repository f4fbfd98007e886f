import { Script } from './client.js'

// The Lua scripts of RedisHistory. Every script checks the session's keys before it writes
// anything (Redis does not roll a script back), so a bad key fails it with nothing changed.
// Messages are opaque strings here: their sizes, tokens and flags come from the client.
//
// KEYS: 1 messages (LIST), 2 info (LIST of "seq,bytes,tokens,flags"), 3 state (HASH), 4 applied
// pushes (ZSET push id → server time in ms). State fields: b, t (totals), seq (messages ever
// appended), ev (trimmed), prot ("index:bytes:tokens;…", the protected messages, ascending), fence
// (newest fencing token), fx (server time in ms until which the fence must be kept: a lease it
// guards may live until then), gen (checkpoint line), rb ("line:position;…", the rollbacks that
// still matter), floor (the oldest line whose checkpoints are still checked: older ones are
// withdrawn), cut (the stable window's first message, as sequence number + 1; 0: none).

const PRELUDE = `
local function bad(what) error({bsdata = what}) end
local function int(x) return string.format('%d', x) end
local function num(v, what)
  if not v then return 0 end
  local n = tonumber(v)
  if n == nil or n < 0 or n ~= math.floor(n) then bad('its ' .. what .. ' is \`' .. tostring(v) .. '\`') end
  return n
end
local function parseInfo(s)
  local seq, b, t, f = string.match(s or '', '^(%d+),(%d+),(%d+),(%d+)$')
  if seq == nil then bad('an entry of \`' .. KEYS[2] .. '\` is \`' .. tostring(s) .. '\`') end
  return tonumber(seq), tonumber(b), tonumber(t), tonumber(f)
end
local function isPinned(f) return f % 2 == 1 end
local function startsTurn(f) return math.floor(f / 2) % 2 == 1 end
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function missing(k) bad('\`' .. KEYS[k] .. '\` is missing (evicted, or deleted by something else); clear() or reset() starts the history again') end
-- The state. With \`replacing\` (clear, reset, restore) the content is about to be replaced, so a
-- part of it that is missing or inconsistent is no error: only the fence and the checkpoint
-- fields are read.
local function loadState(replacing)
  -- A key of another type fails these reads with WRONGTYPE before anything is written (run()
  -- names the key).
  local h = redis.call('HMGET', KEYS[3], 'b', 't', 'seq', 'ev', 'prot', 'fence', 'gen', 'rb', 'floor', 'cut', 'fx')
  local s = {b = num(h[1], 'bytes'), t = num(h[2], 'tokens'), seq = num(h[3], 'seq'), ev = num(h[4], 'trimmed count'),
    fence = num(h[6], 'fencing token'), gen = num(h[7], 'line'), floor = num(h[9], 'floor'), cut = num(h[10], 'window cut'), fx = num(h[11], 'fence expiry'), prot = {}, pb = 0, pt = 0}
  s.n = redis.call('LLEN', KEYS[1])
  local infoLength = redis.call('LLEN', KEYS[2])
  if not replacing then
    if infoLength ~= s.n then
      if s.n == 0 then missing(1) end
      if infoLength == 0 then missing(2) end
      bad('its message and info lists differ in length')
    end
    if s.n > 0 and not h[3] then missing(3) end
    if s.n == 0 and (s.b > 0 or s.t > 0) then missing(1) end
  end
  local parts = {}
  if not replacing then
    for i, b, t in string.gmatch(h[5] or '', '(%d+):(%d+):(%d+)') do
      i, b, t = tonumber(i), tonumber(b), tonumber(t)
      local last = s.prot[#s.prot]
      if i >= s.n or (last and last[1] >= i) then bad('its protected index ' .. i .. ' is out of order') end
      s.prot[#s.prot + 1] = {i, b, t}
      s.pb = s.pb + b
      s.pt = s.pt + t
      parts[#parts + 1] = int(i) .. ':' .. int(b) .. ':' .. int(t)
    end
    if table.concat(parts, ';') ~= (h[5] or '') then bad('its protected list is \`' .. tostring(h[5]) .. '\`') end
  end
  s.rbText = h[8] or ''
  return s
end
-- The rollbacks that still matter, {line, position} ascending in both: a checkpoint {p, L} was
-- withdrawn when one made at line L or later went back to a position below p. Read only by the
-- scripts that check or change it.
local function rollbacks(s)
  if s.rb then return s.rb end
  local parts = {}
  s.rb = {}
  for g, p in string.gmatch(s.rbText, '(%d+):(%d+)') do
    s.rb[#s.rb + 1] = {tonumber(g), tonumber(p)}
    parts[#parts + 1] = g .. ':' .. p
  end
  if table.concat(parts, ';') ~= s.rbText then bad('its rollback list is \`' .. s.rbText .. '\`') end
  return s.rb
end
-- Rules of RingBufferHistory's checkpoints (TypeScript: the history's checkpoint lines): the
-- history goes back to \`pos\` (-1: clear, reset, restore) and a new line starts. Only the
-- rollbacks with the smallest positions matter to later checks; MAX_ROLLBACKS are kept, and past
-- that the oldest line's checkpoints are withdrawn (floor).
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
local function save(s)
  local prot, rb = {}, {}
  for _, p in ipairs(s.prot) do prot[#prot + 1] = int(p[1]) .. ':' .. int(p[2]) .. ':' .. int(p[3]) end
  if s.rb then
    for _, r in ipairs(s.rb) do rb[#rb + 1] = int(r[1]) .. ':' .. int(r[2]) end
  else
    rb = {s.rbText}
  end
  redis.call('HSET', KEYS[3], 'b', int(s.b), 't', int(s.t), 'seq', int(s.seq), 'ev', int(s.ev),
    'prot', table.concat(prot, ';'), 'fence', int(s.fence), 'gen', int(s.gen), 'rb', table.concat(rb, ';'), 'floor', int(s.floor), 'cut', int(s.cut), 'fx', int(s.fx))
  redis.call('HDEL', KEYS[3], 'ids')
end
-- The expiry of the history's keys after a use: idleTtlMs from now (0: none), but never before
-- the fence's own deadline, so a fence outlives every lease it guards. A write with idleTtlMs 0
-- keeps the keys (the host asked); a read with 0 leaves the expiry as it is.
local function refresh(ttl, s, writing)
  if ttl <= 0 then
    if writing then
      for k = 1, 3 do redis.call('PERSIST', KEYS[k]) end
    end
    return
  end
  local keep = math.max(ttl, s.fx - nowMs())
  for k = 1, 3 do redis.call('PEXPIRE', KEYS[k], keep) end
end
-- returns whether the write may go on; raises the token seen
local function fenced(s, token)
  if token == '' then return true end
  token = tonumber(token)
  if token < s.fence then return false end
  s.fence = token
  return true
end
-- Info entries read from the tail in growing chunks and kept, for the scripts that walk back.
local function tailReader(n)
  local cache, from, chunk = {}, n, 32
  return function(i)
    if i < from then
      local lo = math.max(0, math.min(i, from - chunk))
      local got = redis.call('LRANGE', KEYS[2], lo, from - 1)
      for x = 1, #got do cache[lo + x - 1] = got[x] end
      from = lo
      chunk = chunk * 2
    end
    return parseInfo(cache[i])
  end
end
local KEY_TYPES = {'list', 'list', 'hash', 'zset'}
local function run(main)
  local ok, result = pcall(main)
  if ok then return result end
  if type(result) == 'table' and result.bsdata then return redis.error_reply('BSDATA ' .. result.bsdata) end
  local text = type(result) == 'table' and result.err or result
  if type(text) == 'string' and string.find(text, 'WRONGTYPE', 1, true) then
    for k, want in ipairs(KEY_TYPES) do
      local t = redis.call('TYPE', KEYS[k])['ok']
      if t ~= 'none' and t ~= want then return redis.error_reply('BSDATA \`' .. KEYS[k] .. '\` holds a ' .. t .. ', not a ' .. want) end
    end
  end
  error(result)
end
`

/**
 * push / reset. ARGV: 1 push id ('' = none), 2 fencing token ('' = none), 3 idleTtlMs (0 = no
 * expiry), 4 maxMessages, 5 maxBytes (0 = none), 6 maxTokens (0 = none), 7 maxPinned, 8 trimTo,
 * 9 startOn ('1'/'0'), 10 mode ('' = push; 'reset' = replace the content; a number = replace the
 * content and set the trimmed count to it, for a restore), 11 idempotency window (ms: how long
 * the push id is remembered), 12 count, then per message: bytes, tokens, flags, payload.
 * Reply: {0, length, trimmed} | {1, index, budget, limit, needed, other bytes, other tokens}
 * (a message does not fit; nothing changed) | {2, newest token} (fenced out; nothing changed).
 */
export const pushScript = new Script(`${PRELUDE}
return run(function()
  local s = loadState(ARGV[10] ~= '')
  local pushId, window, now = ARGV[1], tonumber(ARGV[11]), nowMs()
  -- A push id seen within the window was applied: this is a resend (a reconnect, a retry).
  if pushId ~= '' then
    local at = redis.call('ZSCORE', KEYS[4], pushId)
    if at and tonumber(at) > now - window then return {0, s.n, 0} end
  end
  if not fenced(s, ARGV[2]) then return {2, s.fence} end
  local ttl, maxM, maxB, maxT = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
  local maxP, trimTo, startOn, reset, count = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9] == '1', ARGV[10] ~= '', tonumber(ARGV[12])
  local trimmedCount = 0
  -- Every message is checked against what will be protected beside it before anything changes.
  local queue, head, pb, pt = {}, 1, 0, 0
  if not reset then
    for _, p in ipairs(s.prot) do queue[#queue + 1] = {p[2], p[3]} end
    pb, pt = s.pb, s.pt
  end
  for j = 1, count do
    local at = 12 + (j - 1) * 4
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
  -- (and parsed) first, from the head, into \`front\`; the list is then
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
  if reset and ARGV[10] ~= 'reset' then s.ev = tonumber(ARGV[10]) end
  local function entryAt(i)
    while i >= #front and read < oldCount do
      local hi = math.min(math.max(read + chunk, i + 1), oldCount) - 1
      local infos = redis.call('LRANGE', KEYS[2], read, hi)
      local msgs = redis.call('LRANGE', KEYS[1], read, hi)
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
  local tgtM, tgtB, tgtT = math.floor(trimTo * maxM), math.floor(trimTo * maxB), math.floor(trimTo * maxT)
  for j = 1, count do
    local at = 12 + (j - 1) * 4
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
    redis.call('DEL', KEYS[1], KEYS[2])
  elseif read > 0 then
    redis.call('LTRIM', KEYS[1], read, -1)
    redis.call('LTRIM', KEYS[2], read, -1)
  end
  local function put(command, entries, from, to, step)
    local infos, msgs = {}, {}
    for x = from, to, step do
      infos[#infos + 1] = entries[x].info
      msgs[#msgs + 1] = entries[x].msg
      if #infos == 256 or x == to then
        redis.call(command, KEYS[2], unpack(infos))
        redis.call(command, KEYS[1], unpack(msgs))
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
    redis.call('ZADD', KEYS[4], now, pushId)
    redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
    redis.call('PEXPIRE', KEYS[4], window)
  end
  save(s)
  refresh(ttl, s, true)
  return {0, s.n, trimmedCount}
end)
`)

/**
 * Reads. ARGV: 1 mode ('all', 'window', 'snapshot', 'stats'), 2 idleTtlMs, 3 fencing token ('' =
 * none); for 'window': 4 maxMessages, 5 maxBytes, 6 maxTokens ('' = none), 7 startOn ('1'/'0'),
 * 8 trimTo (below 1: a cache-stable window, whose cut is kept in the state field `cut`, as
 * sequence number + 1; a reader whose token is older than the session's newest gets the window
 * but does not move the shared cut).
 * Reply: 'all' and 'window': the payloads; 'snapshot': {trimmed, payloads, flags};
 * 'stats': {length, bytes, tokens, trimmed, seq, line}.
 */
export const readScript = new Script(`${PRELUDE}
return run(function()
  local s = loadState()
  local mode, ttl = ARGV[1], tonumber(ARGV[2])
  local mayWrite = ARGV[3] == '' or tonumber(ARGV[3]) >= s.fence
  local reply
  if mode == 'stats' then
    reply = {s.n, s.b, s.t, s.ev, s.seq, s.gen}
  elseif mode == 'all' then
    reply = redis.call('LRANGE', KEYS[1], 0, -1)
  elseif mode == 'snapshot' then
    local flags = {}
    for x, e in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
      local _, _, _, f = parseInfo(e)
      flags[x] = f
    end
    reply = {s.ev, redis.call('LRANGE', KEYS[1], 0, -1), flags}
  else
    local function lim(v) if v == '' then return math.huge end return tonumber(v) end
    local maxM, maxB, maxT, startOn, trimTo = lim(ARGV[4]), lim(ARGV[5]), lim(ARGV[6]), ARGV[7] == '1', tonumber(ARGV[8])
    reply = {}
    if s.n > 0 then
      local infoAt = tailReader(s.n)
      local prot, newest = s.prot, s.n - 1
      -- The cut (first index) of the window under these limits. With an anchor (a sequence
      -- number), the window that starts at that message, or nil when it is gone or what follows
      -- it no longer fits.
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
        if anchor < 0 and cut - k > 0 and startOn then
          local j = k + 1
          while cut < newest do
            if j <= #prot and prot[j][1] == cut then
              j, cut = j + 1, cut + 1
            else
              local _, _, _, f = infoAt(cut)
              if startsTurn(f) then break end
              cut = cut + 1
            end
          end
        end
        return cut
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
          cut = windowFor(math.floor(trimTo * maxM), math.floor(trimTo * maxB), math.floor(trimTo * maxT), -1)
          -- The window's first message, as sent: the protected messages right before the cut are
          -- in it too, and stay in it when a newer pin displaces them.
          first = cut
          local j = 0
          while j < #prot and prot[j + 1][1] < cut do j = j + 1 end
          while j > 0 and prot[j][1] == first - 1 do
            j = j - 1
            first = first - 1
          end
        end
        local cutSeq = infoAt(first) + 1
        if cutSeq ~= s.cut and mayWrite then
          s.cut = cutSeq
          redis.call('HSET', KEYS[3], 'cut', int(s.cut))
        end
      end
      for _, p in ipairs(prot) do
        if p[1] >= cut then break end
        reply[#reply + 1] = redis.call('LINDEX', KEYS[1], p[1])
      end
      for _, m in ipairs(redis.call('LRANGE', KEYS[1], cut, -1)) do reply[#reply + 1] = m end
    end
  end
  if s.n > 0 or redis.call('EXISTS', KEYS[3]) == 1 then refresh(ttl, s, false) end
  return reply
end)
`)

/**
 * rollback. ARGV: 1 fencing token ('' = none), 2 idleTtlMs, 3 position, 4 line, 5 maxPinned.
 * Reply: {0, removed} | {2, newest token} | {3} (the checkpoint is not valid here).
 */
export const rollbackScript = new Script(`${PRELUDE}
return run(function()
  local s = loadState()
  if not fenced(s, ARGV[1]) then return {2, s.fence} end
  local ttl, pos, line, maxP = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
  if line > s.gen or pos > s.seq or line < s.floor then return {3} end
  for _, r in ipairs(rollbacks(s)) do
    if r[1] >= line and pos > r[2] then return {3} end
  end
  -- Read first (the entries popped and those protection is recomputed from), then write.
  local infoAt = tailReader(s.n)
  local removed = 0
  while removed < s.n do
    local seq, b, t = infoAt(s.n - 1 - removed)
    if seq < pos then break end
    s.b, s.t, removed = s.b - b, s.t - t, removed + 1
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
      redis.call('DEL', KEYS[1], KEYS[2])
    else
      redis.call('LTRIM', KEYS[1], 0, kept - 1)
      redis.call('LTRIM', KEYS[2], 0, kept - 1)
    end
    s.n = kept
  end
  -- The history goes back to pos: checkpoints after it are withdrawn (rb), the next push takes
  -- that position again (positions do not count rolled-back pushes), and a stable-window cut on a
  -- message rolled back is gone (its sequence number will be given to another).
  rewind(s, pos)
  s.seq = pos
  if s.cut > 0 and s.cut - 1 >= pos then s.cut = 0 end
  save(s)
  refresh(ttl, s, true)
  return {0, removed}
end)
`)

/**
 * The registry's side of a session. ARGV: 1 mode, 2 token, 3 guard (ms, at least 1): how long
 * from now the fence must be kept. Modes: 'fence' raises the session's token (a lease was
 * acquired); 'extend' keeps the fence of the current token longer (the lease was renewed);
 * 'delete' deletes the history and keeps only the token (a tombstone, so a late writer is still
 * refused). Every key of the session then lives at least \`guard\` ms more: a fence outlives the
 * lease it guards, whatever the history's idleTtlMs.
 * Reply: {1} when applied, {0, newest token} when the session has seen a newer token.
 */
export const fenceScript = new Script(`${PRELUDE}
return run(function()
  local mode, token, guard = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
  local current = num(redis.call('HGET', KEYS[3], 'fence'), 'fencing token')
  local fx = num(redis.call('HGET', KEYS[3], 'fx'), 'fence expiry')
  if token < current then return {0, current} end
  local now = nowMs()
  if mode == 'delete' then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
    fx = 0
  end
  local existed = redis.call('EXISTS', KEYS[3]) == 1
  fx = math.max(fx, now + guard)
  redis.call('HSET', KEYS[3], 'fence', int(token), 'fx', int(fx))
  for k = 1, 3 do
    local left = redis.call('PTTL', KEYS[k])
    if (left >= 0 and left < fx - now) or (k == 3 and not existed) then redis.call('PEXPIRE', KEYS[k], fx - now) end
  end
  return {1}
end)
`)
