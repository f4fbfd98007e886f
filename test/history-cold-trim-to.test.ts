// coldTrimTo: how far a cold trim (cacheTtlMs) goes, apart from trimTo. The clock is injected.
import { describe, expect, it } from 'vitest'
import { RingBufferHistory, type TrimSummary } from '../src/index.js'
import { type Msg, asst, isUser, names, user } from './helpers/messages.js'

const TTL = 300_000

function setup(extra: Partial<ConstructorParameters<typeof RingBufferHistory<Msg>>[0]> = {}) {
  let t = 0
  const summaries: TrimSummary[] = []
  const h = new RingBufferHistory<Msg>({
    maxMessages: 20,
    trimTo: 0.5,
    cacheTtlMs: TTL,
    coldTrimTo: 0.1,
    now: () => t,
    onTrim: (_trimmed, _reason, summary) => summaries.push(summary),
    ...extra,
  })
  return { h, summaries, advance: (ms: number) => (t += ms) }
}

describe('RingBufferHistory coldTrimTo', () => {
  it('a cold push trims down to coldTrimTo × the budget; a warm budget trim still goes to trimTo', () => {
    const { h, summaries, advance } = setup()
    for (let i = 0; i < 20; i++) h.push(user(`m${i}`))
    h.push(user('m20')) // warm, over 20: down to 0.5 × 20 = 10
    expect(h.length).toBe(10)
    expect(summaries.at(-1)?.cold).toBeUndefined()
    advance(TTL + 1)
    h.push(user('m21')) // cold: down to 0.1 × 20 = 2, the new message included
    expect(names(h)).toEqual(['m20', 'm21'])
    expect(summaries.at(-1)).toMatchObject({ messages: 9, cold: true })
  })

  it('a cold push at or below coldTrimTo × the budget trims nothing', () => {
    const { h, summaries, advance } = setup()
    h.push(user('a'))
    advance(TTL + 1)
    h.push(user('b')) // 2 = 0.1 × 20: not above
    expect(names(h)).toEqual(['a', 'b'])
    expect(summaries).toEqual([])
  })

  it('a warm push never trims to coldTrimTo, however long the history', () => {
    const { h, advance } = setup()
    for (let i = 0; i < 19; i++) {
      h.push(user(`m${i}`))
      advance(TTL)
    }
    expect(h.length).toBe(19)
  })

  it('keeps whole turns and the pinned messages (startOn, pushPinned)', () => {
    const { h, advance } = setup({ startOn: isUser })
    h.pushPinned(user('framing'))
    for (let i = 0; i < 8; i++) h.push(user(`q${i}`), asst(`a${i}`))
    advance(TTL + 1)
    h.push(user('q8'))
    // 0.1 × 20 = 2 with the framing prompt: the new turn alone is left beside it.
    expect(names(h)).toEqual(['framing', 'q8'])
  })

  it('goes by every budget: tokens too', () => {
    const { h, advance } = setup({ maxMessages: 1_000, maxTokens: 1_000 })
    // 100 estimated tokens a message.
    const big = (name: string): Msg => user(`${name}${'x'.repeat(400 - name.length)}`)
    for (let i = 0; i < 9; i++) h.push(big(`m${i}`))
    advance(TTL + 1)
    h.push(big('m9')) // cold: down to 0.1 × 1,000 = 100 tokens, the new message alone
    expect(names(h)).toHaveLength(1)
    expect(h.tokens).toBe(100)
  })

  it('above trimTo it is trimTo: a cold trim never goes less deep than trimTo', () => {
    const { h, advance } = setup({ coldTrimTo: 0.9 })
    for (let i = 0; i < 14; i++) h.push(user(`m${i}`))
    advance(TTL + 1)
    h.push(user('m14')) // 15 > 0.5 × 20: down to 10
    expect(h.length).toBe(10)
  })

  it('without cacheTtlMs it changes nothing', () => {
    const { h, advance } = setup({ cacheTtlMs: undefined })
    for (let i = 0; i < 15; i++) h.push(user(`m${i}`))
    advance(10 * TTL)
    h.push(user('m15'))
    expect(h.length).toBe(16)
  })

  it('refuses a coldTrimTo outside 0 to 1, with a coded error', () => {
    for (const coldTrimTo of [-0.1, 1.5, Number.NaN]) {
      expect(() => new RingBufferHistory<Msg>({ maxMessages: 10, cacheTtlMs: TTL, coldTrimTo })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }))
    }
  })
})
