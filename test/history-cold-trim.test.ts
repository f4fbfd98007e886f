import { describe, expect, it, vi } from 'vitest'
import { RingBufferHistory, type TrimReason, type TrimSummary } from '../src/index.js'
import { type Msg, asst, isUser, names, stateOf, user } from './helpers/messages.js'

const TTL = 300_000

function setup(extra: Partial<ConstructorParameters<typeof RingBufferHistory<Msg>>[0]> = {}) {
  let t = 0
  const trims: Array<{ trimmed: string[]; reason: TrimReason; summary: TrimSummary }> = []
  const h = new RingBufferHistory<Msg>({
    maxMessages: 10,
    trimTo: 0.5,
    cacheTtlMs: TTL,
    now: () => t,
    onTrim: (trimmed, reason, summary) => trims.push({ trimmed: names(trimmed), reason, summary }),
    ...extra,
  })
  return { h, trims, advance: (ms: number) => (t += ms) }
}

describe('RingBufferHistory cacheTtlMs: cold trims', () => {
  it('a push after more than cacheTtlMs trims down to trimTo × the budget, and says it was cold', () => {
    const { h, trims, advance } = setup()
    for (let i = 0; i < 8; i++) h.push(user(`m${i}`))
    expect(trims).toEqual([])
    advance(TTL + 1)
    h.push(user('m8'))
    // 9 messages with the new one, above 0.5 × 10: down to 5.
    expect(names(h)).toEqual(['m4', 'm5', 'm6', 'm7', 'm8'])
    expect(trims).toEqual([{ trimmed: ['m0', 'm1', 'm2', 'm3'], reason: 'count', summary: { messages: 4, bytes: 4 * 84, tokens: 4, cold: true } }])
  })

  it('a push within cacheTtlMs of the previous one does not, and a budget trim is not cold', () => {
    const { h, trims, advance } = setup()
    for (let i = 0; i < 10; i++) {
      h.push(user(`m${i}`))
      advance(TTL)
    }
    expect(trims).toEqual([])
    h.push(user('m10')) // over maxMessages: a budget trim
    expect(trims).toHaveLength(1)
    expect(trims[0]?.summary.cold).toBeUndefined()
    expect(h.length).toBe(5)
  })

  it('only the first message of a push trims cold; the history at or below the target is left alone', () => {
    const { h, trims, advance } = setup()
    for (let i = 0; i < 4; i++) h.push(user(`m${i}`))
    advance(TTL + 1)
    h.push(user('m4')) // 5 = 0.5 × 10: not above
    expect(trims).toEqual([])
    advance(TTL + 1)
    h.push(user('a'), user('b'), user('c'))
    expect(names(h)).toEqual(['m1', 'm2', 'm3', 'm4', 'a', 'b', 'c'])
    expect(trims.map((t) => t.summary.cold)).toEqual([true])
  })

  it('trims whole turns (startOn) and never the protected messages', () => {
    const { h, advance } = setup({ startOn: isUser })
    h.pushPinned(user('framing'))
    h.push(user('q1'), asst('a1'), asst('a1b'), user('q2'), asst('a2'), user('q3'), asst('a3'))
    advance(TTL + 1)
    h.push(user('q4'))
    // 9 with the new one: down to 5 at most, then on to a user turn.
    expect(names(h)).toEqual(['framing', 'q3', 'a3', 'q4'])
  })

  it('goes by every budget: tokens too', () => {
    const { h, trims, advance } = setup({ maxMessages: 100, maxTokens: 100 })
    for (let i = 0; i < 8; i++) h.push(user('x'.repeat(40))) // 10 tokens each
    advance(TTL + 1)
    h.push(user('y'.repeat(40)))
    expect(h.tokens).toBe(50)
    expect(trims[0]).toMatchObject({ reason: 'tokens', summary: { cold: true } })
  })

  it('a push that throws changes nothing, the clock included', () => {
    const { h, advance } = setup({ maxTokens: 10 })
    h.push(user('x'))
    advance(TTL + 1)
    const before = stateOf(h)
    expect(() => h.push(user('x'.repeat(400)))).toThrow(expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE' }))
    expect(stateOf(h)).toEqual(before)
  })

  it('a clock that returns a non-finite number: ERR_INVALID_CLOCK, nothing pushed', () => {
    let value = 0
    const h = new RingBufferHistory<Msg>({ cacheTtlMs: TTL, now: () => value })
    h.push(user('a'))
    value = NaN
    expect(() => h.push(user('b'))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CLOCK' }))
    expect(names(h)).toEqual(['a'])
  })

  it('without cacheTtlMs nothing changes, however long the gap', () => {
    let t = 0
    const h = new RingBufferHistory<Msg>({ maxMessages: 10, trimTo: 0.5, now: () => t })
    for (let i = 0; i < 8; i++) h.push(user(`m${i}`))
    t += 10 * TTL
    h.push(user('m8'))
    expect(h.length).toBe(9)
  })

  it.each([0, -1, NaN, Infinity, '300000'])('refuses cacheTtlMs %s (ERR_INVALID_OPTIONS)', (bad) => {
    expect(() => new RingBufferHistory({ cacheTtlMs: bad as number })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'cacheTtlMs' }))
  })

  it('refuses a now that is not a function', () => {
    expect(() => new RingBufferHistory({ cacheTtlMs: TTL, now: 5 as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'now' }))
  })

  it('uses Date.now by default', () => {
    const clock = vi.spyOn(Date, 'now').mockReturnValue(1_000)
    try {
      const h = new RingBufferHistory<Msg>({ maxMessages: 4, trimTo: 0.5, cacheTtlMs: 10 })
      h.push(user('a'), user('b'), user('c'))
      clock.mockReturnValue(1_011)
      h.push(user('d'))
      expect(names(h)).toEqual(['c', 'd'])
    } finally {
      clock.mockRestore()
    }
  })
})
