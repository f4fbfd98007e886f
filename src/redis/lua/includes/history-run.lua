--- @include "history-keys"
-- Runs a history script: a bad() becomes a BSDATA reply; a WRONGTYPE names the key of the wrong
-- type (the reads fail with it before anything is written).
local KEY_TYPES = {'list', 'list', 'hash', 'zset'}
local function run(main)
  local ok, result = pcall(main)
  if ok then return result end
  if type(result) == 'table' and result.bsdata then return redis.error_reply('BSDATA ' .. result.bsdata) end
  local text = type(result) == 'table' and result.err or result
  if type(text) == 'string' and string.find(text, 'WRONGTYPE', 1, true) then
    for k, want in ipairs(KEY_TYPES) do
      local t = redis.call('TYPE', KEYS[k])['ok']
      if t ~= 'none' and t ~= want then return redis.error_reply('BSDATA `' .. KEYS[k] .. '` holds a ' .. t .. ', not a ' .. want) end
    end
  end
  error(result)
end
