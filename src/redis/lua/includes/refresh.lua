--- @include "time"
--- @include "history-keys"
-- The expiry of the history's keys after a use: idleTtlMs from now (0: none), but never before
-- the fence's own deadline (fx), so a fence outlives every lease it guards. A write with
-- idleTtlMs 0 keeps the keys (the host asked); a read with 0 leaves the expiry as it is.
local function refresh(ttl, s, writing)
  local keys = {messagesKey, infoKey, stateKey}
  if ttl <= 0 then
    if writing then
      for _, key in ipairs(keys) do redis.call('PERSIST', key) end
    end
    return
  end
  local keep = math.max(ttl, s.fx - nowMs())
  for _, key in ipairs(keys) do redis.call('PEXPIRE', key, keep) end
end
