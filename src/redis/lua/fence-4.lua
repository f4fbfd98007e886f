--[[
  The registry's side of a session (RedisSessionRegistry in src/redis/redis-session-registry.ts).
  Every key of the session then lives at least `guard` ms more: a fence outlives the lease it
  guards, whatever the history's idleTtlMs.

  Input:
    KEYS[1] messages, KEYS[2] info, KEYS[3] state, KEYS[4] applied (see push-4.lua)

    ARGV[1] mode: 'fence' raises the session's token (a lease was acquired); 'extend' keeps the
            fence longer (the lease was renewed); 'delete' deletes the history and keeps only the
            token (a tombstone, so a late writer is still refused)
    ARGV[2] token
    ARGV[3] guard (ms, at least 1): how long from now the fence must be kept

  Output:
    {1}                applied
    {0, newest token}  the session has seen a newer token; nothing changed
]]
--- @include "includes/errors"
--- @include "includes/time"
--- @include "includes/history-keys"
--- @include "includes/history-run"

local mode, token, guard = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

return run(function()
  local current = num(redis.call('HGET', stateKey, 'fence'), 'fencing token')
  local fx = num(redis.call('HGET', stateKey, 'fx'), 'fence expiry')
  if token < current then return {0, current} end
  local now = nowMs()
  if mode == 'delete' then
    redis.call('DEL', messagesKey, infoKey, stateKey, appliedKey)
    fx = 0
  end
  local existed = redis.call('EXISTS', stateKey) == 1
  fx = math.max(fx, now + guard)
  redis.call('HSET', stateKey, 'fence', int(token), 'fx', int(fx))
  for _, key in ipairs({messagesKey, infoKey, stateKey}) do
    local left = redis.call('PTTL', key)
    if (left >= 0 and left < fx - now) or (key == stateKey and not existed) then redis.call('PEXPIRE', key, fx - now) end
  end
  return {1}
end)
