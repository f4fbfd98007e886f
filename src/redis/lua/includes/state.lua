--- @include "errors"
--- @include "history-keys"
-- The state hash. Fields: b, t (totals), seq (position: messages appended, not counting those
-- rolled back), ev (trimmed), prot ("index:bytes:tokens;…", the protected messages, ascending),
-- fence (newest fencing token), fx (server time in ms until which the fence must be kept: a lease
-- it guards may live until then), gen (checkpoint line), rb ("line:position;…", the rollbacks
-- that still matter), floor (the oldest line whose checkpoints are still checked), cut (the
-- stable window's first message, as sequence number + 1; 0: none), wn (1: the newest message goes
-- with the next, for `group`), corr, crd, cho, cmg (the token correction, its readings, the outlier
-- it set aside and the budget's margin: calibrate-4.lua), and the fields of includes/groups.lua (`c:<id>`, `k:<seq>`,
-- `r:<seq>`, `op`).
local function missing(key)
  bad('`' .. key .. '` is missing (evicted, or deleted by something else); clear() or reset() starts the history again')
end
-- With `replacing` (clear, reset, restore) the content is about to be replaced, so a part of it
-- that is missing or inconsistent is no error: only the fence and the checkpoint fields are read.
-- The smallest and largest safety margin of a calibrated token budget (field cmg, written by
-- calibrate-4.lua; missing: the smallest): MARGIN_MIN and MARGIN_MAX in src/history/calibration.ts.
local MARGIN_MIN, MARGIN_MAX = 0.03, 0.25

local function loadState(replacing)
  -- A key of another type fails these reads with WRONGTYPE before anything is written (run()
  -- names the key).
  local h = redis.call('HMGET', stateKey, 'b', 't', 'seq', 'ev', 'prot', 'fence', 'gen', 'rb', 'floor', 'cut', 'fx', 'wn', 'corr', 'cmg')
  local s = {b = num(h[1], 'bytes'), t = num(h[2], 'tokens'), seq = num(h[3], 'seq'), ev = num(h[4], 'trimmed count'),
    fence = num(h[6], 'fencing token'), gen = num(h[7], 'line'), floor = num(h[9], 'floor'), cut = num(h[10], 'window cut'),
    fx = num(h[11], 'fence expiry'), wn = num(h[12], 'withNext flag'), corr = tonumber(h[13] or '1'), prot = {}, pb = 0, pt = 0, rbText = h[8] or ''}
  if s.corr == nil or s.corr < 0.5 or s.corr > 4 then
    -- Replacing the content starts again from no correction.
    if not replacing then bad('its token correction is `' .. tostring(h[13]) .. '`') end
    s.corr, s.dropCorr = 1, true
  end
  local margin = tonumber(h[14] or '0.03')
  if not s.dropCorr and (margin == nil or margin < MARGIN_MIN or margin > MARGIN_MAX) then
    if not replacing then bad('its token margin is `' .. tostring(h[14]) .. '`') end
    s.corr, s.dropCorr = 1, true
  end
  -- What a token budget is divided by: the correction with the safety margin once calibrated
  -- (budgetFactor in src/history/calibration.ts), 1 before.
  s.budgetCorr = (h[13] and not s.dropCorr) and s.corr * (1 + margin) or 1
  s.n = redis.call('LLEN', messagesKey)
  if replacing then return s end
  local infoLength = redis.call('LLEN', infoKey)
  if infoLength ~= s.n then
    if s.n == 0 then missing(messagesKey) end
    if infoLength == 0 then missing(infoKey) end
    bad('its message and info lists differ in length')
  end
  if s.n > 0 and not h[3] then missing(stateKey) end
  if s.n == 0 and (s.b > 0 or s.t > 0) then missing(messagesKey) end
  local parts = {}
  for i, b, t in string.gmatch(h[5] or '', '(%d+):(%d+):(%d+)') do
    i, b, t = tonumber(i), tonumber(b), tonumber(t)
    local last = s.prot[#s.prot]
    if i >= s.n or (last and last[1] >= i) then bad('its protected index ' .. i .. ' is out of order') end
    s.prot[#s.prot + 1] = {i, b, t}
    s.pb = s.pb + b
    s.pt = s.pt + t
    parts[#parts + 1] = int(i) .. ':' .. int(b) .. ':' .. int(t)
  end
  if table.concat(parts, ';') ~= (h[5] or '') then bad('its protected list is `' .. tostring(h[5]) .. '`') end
  return s
end
local function save(s)
  local prot, rb = {}, {}
  for _, p in ipairs(s.prot) do prot[#prot + 1] = int(p[1]) .. ':' .. int(p[2]) .. ':' .. int(p[3]) end
  if s.rb then
    for _, r in ipairs(s.rb) do rb[#rb + 1] = int(r[1]) .. ':' .. int(r[2]) end
  else
    rb = {s.rbText}
  end
  redis.call('HSET', stateKey, 'b', int(s.b), 't', int(s.t), 'seq', int(s.seq), 'ev', int(s.ev),
    'prot', table.concat(prot, ';'), 'fence', int(s.fence), 'gen', int(s.gen), 'rb', table.concat(rb, ';'),
    'floor', int(s.floor), 'cut', int(s.cut), 'fx', int(s.fx), 'wn', int(s.wn))
  -- The ids of the latest pushes, kept here before 0.2 (now in appliedKey).
  redis.call('HDEL', stateKey, 'ids')
  if s.dropCorr then redis.call('HDEL', stateKey, 'corr', 'crd', 'cho', 'cmg') end
end
