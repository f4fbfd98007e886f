import { describe, expect, it } from 'vitest'
import { CACHE_TTL_MS, cacheShare, meanContextTokens, PromptCacheMeter, totalsBetween } from './prompt-cache.js'

const msg = (role: 'user' | 'assistant', chars: number, tag: string) => ({ role, content: tag.padEnd(chars, '.') })

describe('prompt-cache meter', () => {
  it('bills the prefix shared with the previous call as cache reads (0.1×) and the rest as writes (1.25×)', () => {
    const meter = new PromptCacheMeter()
    const framing = msg('user', 400, 'framing')
    const a = msg('user', 800, 'a')
    const reply = msg('assistant', 40, 'r')
    const b = msg('user', 1200, 'b')
    expect(meter.record(1, [framing, a])).toEqual({ inputTokens: 300, cacheReadTokens: 0, cacheWriteTokens: 300, contextLost: false })
    // Equal content counts as equal, whatever the object: a rebuilt framing prompt still hits.
    const call = meter.record(1, [{ ...framing }, a, reply, b])
    expect(call).toEqual({ inputTokens: 610, cacheReadTokens: 300, cacheWriteTokens: 310, contextLost: false })
    const totals = meter.totals()
    expect(totals.cost).toBeCloseTo(300 * 1.25 + 300 * 0.1 + 310 * 1.25)
    expect(totals.uncachedCost).toBe(910)
    expect(cacheShare(totals)).toBeCloseTo(300 / 910)
    expect(meanContextTokens(totals)).toBe(455)
    expect(totals.peakContextTokens).toBe(610)
  })

  it('a prompt whose head changed (a sliding window) reads only up to the first difference', () => {
    const meter = new PromptCacheMeter()
    const framing = msg('user', 400, 'framing')
    const turns = Array.from({ length: 6 }, (_, i) => msg(i % 2 === 0 ? 'user' : 'assistant', 400, `t${i}`))
    meter.record(1, [framing, ...turns.slice(0, 4)])
    const slid = meter.record(1, [framing, ...turns.slice(2, 6)])
    expect(slid.cacheReadTokens).toBe(100) // the framing prompt only
    expect(slid.contextLost).toBe(false) // the previous newest message is still there
  })

  it('counts a call that lost the previous newest message as a lost context', () => {
    const meter = new PromptCacheMeter()
    const framing = msg('user', 400, 'framing')
    meter.record(7, [framing, msg('user', 400, 'x'), msg('assistant', 40, 'y'), msg('user', 400, 'z')])
    expect(meter.record(7, [framing, msg('user', 400, 'w')]).contextLost).toBe(true)
    expect(meter.record(8, [framing]).contextLost).toBe(false) // another conversation's first call
    expect(meter.totals().contextLost).toBe(1)
  })

  it('reads nothing once the cached prefix has not been used for the cache lifetime', () => {
    const meter = new PromptCacheMeter()
    const prompt = [msg('user', 400, 'framing'), msg('user', 400, 'a')]
    meter.record(1, prompt, 0)
    expect(meter.record(1, prompt, CACHE_TTL_MS).cacheReadTokens).toBe(200) // used at the limit: still there
    expect(meter.record(1, prompt, 2 * CACHE_TTL_MS + 1).cacheReadTokens).toBe(0)
    // Conversations are cached apart.
    expect(meter.record(2, prompt, 2 * CACHE_TTL_MS + 2).cacheReadTokens).toBe(0)
  })

  it('totalsBetween gives the figures of a stretch of calls', () => {
    const meter = new PromptCacheMeter()
    const framing = msg('user', 400, 'framing')
    meter.record(1, [framing])
    const before = meter.totals()
    meter.record(1, [framing, msg('user', 400, 'a')])
    expect(totalsBetween(before, meter.totals())).toMatchObject({ calls: 1, inputTokens: 200, cacheReadTokens: 100, cacheWriteTokens: 100 })
  })
})
