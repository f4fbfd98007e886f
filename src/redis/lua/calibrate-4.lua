--[[
  calibrate: the session's token correction, shared by every worker (RedisHistory#calibrate in
  src/redis/redis-history.ts). The arithmetic is TokenCalibration's (src/history/calibration.ts),
  run in the client: it reads the correction with the history's token total, and writes the new
  one only if the stored one is still what it read (compare and set; else it reads again).

  Input:
    KEYS[1] messages, KEYS[2] info, KEYS[3] state, KEYS[4] applied (see push-4.lua)

    ARGV[1] 'read' or 'set'
    ARGV[2] fencing token ('' = none)
    ARGV[3] idleTtlMs
    for 'set':
    ARGV[4] '1': compare first; ARGV[5..8] the stored correction, readings, held outlier and
            margin read ('' when none)
    ARGV[9..12] the new correction, readings, held outlier and margin ('' = none)

  Output:
    'read': {tokens, correction, readings, held outlier, margin} ('' each when not stored)
    'set':  {1} written; {0} changed meanwhile, nothing written; {2, newest token} fenced out
]]
--- @include "includes/errors"
--- @include "includes/time"
--- @include "includes/info"
--- @include "includes/state"
--- @include "includes/refresh"
--- @include "includes/fence"
--- @include "includes/history-run"

local mode, fenceToken, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])

return run(function()
  local s = loadState()
  local h = redis.call('HMGET', stateKey, 'corr', 'crd', 'cho', 'cmg')
  local stored = {h[1] or '', h[2] or '', h[3] or '', h[4] or ''}
  if mode == 'read' then
    if s.n > 0 or redis.call('EXISTS', stateKey) == 1 then refresh(ttl, s, false) end
    return {s.t, stored[1], stored[2], stored[3], stored[4]}
  end
  if not fenced(s, fenceToken) then return {2, s.fence} end
  if ARGV[4] == '1' and (stored[1] ~= ARGV[5] or stored[2] ~= ARGV[6] or stored[3] ~= ARGV[7] or stored[4] ~= ARGV[8]) then return {0} end
  redis.call('HSET', stateKey, 'corr', ARGV[9], 'crd', ARGV[10], 'cho', ARGV[11], 'cmg', ARGV[12], 'fence', int(s.fence))
  refresh(ttl, s, true)
  return {1}
end)
