-- Whether a write carrying `token` ('' = none) may go on; raises the token seen. The TypeScript
-- side: LeaseFencedError in src/errors.ts, the fence option of RedisHistory.
local function fenced(s, token)
  if token == '' then return true end
  token = tonumber(token)
  if token < s.fence then return false end
  s.fence = token
  return true
end
