import { describe, expect, it } from 'vitest'
import {
  ANTHROPIC_1H,
  ANTHROPIC_5M,
  ANTHROPIC_LOW_READ,
  type CachePricing,
  cacheShare,
  meanContextTokens,
  OPENAI_GPT_5_6,
  PRICE_TABLES,
  PromptCacheMeter,
  PromptCacheMeters,
  totalsBetween,
} from './prompt-cache.js'

const MINUTE = 60_000
const msg = (role: 'user' | 'assistant', chars: number, tag: string) => ({ role, content: tag.padEnd(chars, '.') })
// Small messages, so that the arithmetic stays readable: no minimum.
const noMinimum: CachePricing = { ...ANTHROPIC_5M, minCacheableTokens: 0 }

describe('prompt-cache meter', () => {
  it('bills the prefix shared with the previous call as cache reads and the rest as writes, at the table\'s prices', () => {
    const meter = new PromptCacheMeter({ pricing: noMinimum })
    const framing = msg('user', 400, 'framing')
    const a = msg('user', 800, 'a')
    const reply = msg('assistant', 40, 'r')
    const b = msg('user', 1200, 'b')
    expect(meter.record(1, [framing, a])).toEqual({ inputTokens: 300, cacheReadTokens: 0, cacheWriteTokens: 300, plainTokens: 0, contextLost: false })
    // Equal content counts as equal, whatever the object: a rebuilt framing prompt still hits.
    const call = meter.record(1, [{ ...framing }, a, reply, b])
    expect(call).toEqual({ inputTokens: 610, cacheReadTokens: 300, cacheWriteTokens: 310, plainTokens: 0, contextLost: false })
    const totals = meter.totals()
    expect(totals.cost).toBeCloseTo(300 * 1.25 + 300 * 0.1 + 310 * 1.25)
    expect(totals.uncachedCost).toBe(910)
    expect(cacheShare(totals)).toBeCloseTo(300 / 910)
    expect(meanContextTokens(totals)).toBe(455)
    expect(totals.peakContextTokens).toBe(610)
  })

  it('each table bills the same calls at its own prices: 1 h writes at 2×, a low-read model reads at 0.05×', () => {
    const prompt1 = [msg('user', 8_000, 'framing'), msg('user', 8_000, 'a')] // 4,000 tokens
    const prompt2 = [...prompt1, msg('assistant', 400, 'r'), msg('user', 4_000, 'b')] // + 1,100
    const bill = (pricing: CachePricing): number => {
      const meter = new PromptCacheMeter({ pricing })
      meter.record(1, prompt1, 0)
      meter.record(1, prompt2, MINUTE)
      return meter.totals().cost
    }
    expect(bill(ANTHROPIC_5M)).toBeCloseTo(4_000 * 1.25 + 4_000 * 0.1 + 1_100 * 1.25)
    expect(bill(ANTHROPIC_1H)).toBeCloseTo(4_000 * 2 + 4_000 * 0.1 + 1_100 * 2)
    expect(bill(ANTHROPIC_LOW_READ)).toBeCloseTo(4_000 * 1.25 + 4_000 * 0.05 + 1_100 * 1.25)
    expect(bill(OPENAI_GPT_5_6)).toBeCloseTo(4_000 * 1.25 + 4_000 * 0.1 + 1_100 * 1.25)
    expect(PRICE_TABLES.map((t) => t.ttlMs)).toEqual([5 * MINUTE, 60 * MINUTE, 5 * MINUTE, 30 * MINUTE])
    for (const table of PRICE_TABLES) expect(table.source).toMatch(/^https:\/\//)
  })

  it('a prompt under the model\'s minimum is billed at the base price and cached nowhere; a shared prefix under it is not read', () => {
    const meter = new PromptCacheMeter({ pricing: ANTHROPIC_5M }) // 1,024 tokens at least
    const framing = msg('user', 2_000, 'framing') // 500 tokens
    expect(meter.record(1, [framing], 0)).toMatchObject({ cacheReadTokens: 0, cacheWriteTokens: 0, plainTokens: 500 })
    // Nothing was cached, so the next call reads nothing, though it starts with the same message.
    const big = [framing, msg('user', 6_000, 'a')] // 2,000 tokens
    expect(meter.record(1, big, MINUTE)).toMatchObject({ cacheReadTokens: 0, cacheWriteTokens: 2_000, plainTokens: 0 })
    expect(meter.record(1, [...big, msg('user', 400, 'b')], 2 * MINUTE)).toMatchObject({ cacheReadTokens: 2_000, cacheWriteTokens: 100 })
    // A window that kept only the framing prompt shares 500 tokens: under the minimum, not read.
    expect(meter.record(1, [framing, msg('user', 6_000, 'c')], 3 * MINUTE)).toMatchObject({ cacheReadTokens: 0, cacheWriteTokens: 2_000 })
    expect(meter.totals().cost).toBeCloseTo(500 + 2_000 * 1.25 + (2_000 * 0.1 + 100 * 1.25) + 2_000 * 1.25)
  })

  it('a prompt whose head changed (a sliding window) reads only up to the first difference', () => {
    const meter = new PromptCacheMeter({ pricing: noMinimum })
    const framing = msg('user', 400, 'framing')
    const turns = Array.from({ length: 6 }, (_, i) => msg(i % 2 === 0 ? 'user' : 'assistant', 400, `t${i}`))
    meter.record(1, [framing, ...turns.slice(0, 4)])
    const slid = meter.record(1, [framing, ...turns.slice(2, 6)])
    expect(slid.cacheReadTokens).toBe(100) // the framing prompt only
    expect(slid.contextLost).toBe(false) // the previous newest message is still there
  })

  it('counts a call that lost the previous newest message as a lost context', () => {
    const meter = new PromptCacheMeter({ pricing: noMinimum })
    const framing = msg('user', 400, 'framing')
    meter.record(7, [framing, msg('user', 400, 'x'), msg('assistant', 40, 'y'), msg('user', 400, 'z')])
    expect(meter.record(7, [framing, msg('user', 400, 'w')]).contextLost).toBe(true)
    expect(meter.record(8, [framing]).contextLost).toBe(false) // another conversation's first call
    expect(meter.totals().contextLost).toBe(1)
  })

  it('reads nothing after more than the TTL without a use; every hit refreshes it', () => {
    for (const pricing of PRICE_TABLES) {
      const meter = new PromptCacheMeter({ pricing })
      const prompt = [msg('user', 4_000, 'framing'), msg('user', 4_000, 'a')] // 2,000 tokens
      const ttl = pricing.ttlMs
      meter.record(1, prompt, 0)
      expect(meter.record(1, prompt, ttl).cacheReadTokens).toBe(2_000) // used at the limit: still there
      // The hit at `ttl` refreshed it: alive until 2 × ttl, gone one ms later.
      expect(meter.record(1, prompt, 2 * ttl).cacheReadTokens).toBe(2_000)
      expect(meter.record(1, prompt, 3 * ttl + 1).cacheReadTokens).toBe(0)
      // That miss wrote it again.
      expect(meter.record(1, prompt, 3 * ttl + 2).cacheReadTokens).toBe(2_000)
      // Conversations are cached apart.
      expect(meter.record(2, prompt, 3 * ttl + 3).cacheReadTokens).toBe(0)
    }
  })

  it('the same gap is cold for the 5-minute tables and warm for the 30-minute and 1-hour ones', () => {
    const prompt = [msg('user', 4_000, 'framing'), msg('user', 4_000, 'a')]
    const meters = new PromptCacheMeters()
    meters.record(1, prompt, 0)
    meters.record(1, prompt, 20 * MINUTE)
    expect(meters.meters.map((m) => m.totals().cacheReadTokens)).toEqual([0, 2_000, 0, 2_000])
    expect(meters.meters.map((m) => m.pricing)).toEqual(PRICE_TABLES)
  })

  it('totalsBetween gives the figures of a stretch of calls', () => {
    const meter = new PromptCacheMeter({ pricing: noMinimum })
    const framing = msg('user', 400, 'framing')
    meter.record(1, [framing])
    const before = meter.totals()
    meter.record(1, [framing, msg('user', 400, 'a')])
    expect(totalsBetween(before, meter.totals())).toMatchObject({ calls: 1, inputTokens: 200, cacheReadTokens: 100, cacheWriteTokens: 100, plainTokens: 0 })
  })
})
