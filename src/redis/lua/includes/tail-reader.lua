--- @include "info"
-- Info entries read from the tail in growing chunks and kept, for the scripts that walk back.
local function tailReader(n)
  local cache, from, chunk = {}, n, 32
  return function(i)
    if i < from then
      local lo = math.max(0, math.min(i, from - chunk))
      local got = redis.call('LRANGE', infoKey, lo, from - 1)
      for x = 1, #got do cache[lo + x - 1] = got[x] end
      from = lo
      chunk = chunk * 2
    end
    return parseInfo(cache[i])
  end
end
