import { describe, expect, it, vi } from 'vitest'
import {
  InvalidMeasurementError,
  MessageTooLargeError,
  RingBufferHistory,
  defaultCountTokens,
  type TrimReason,
} from '../src/index.js'

interface Msg {
  role: 'user' | 'assistant'
  content: string
}
const user = (content: string): Msg => ({ role: 'user', content })
const asst = (content: string): Msg => ({ role: 'assistant', content })

function snapshot<T>(h: RingBufferHistory<T>) {
  return { items: h.toArray(), length: h.length, bytes: h.bytes, tokens: h.tokens, evicted: h.evictedCount }
}

describe('RingBufferHistory: default countTokens', () => {
  it('is Math.ceil(characters / 4) for strings', () => {
    expect(defaultCountTokens('')).toBe(0)
    expect(defaultCountTokens('a')).toBe(1)
    expect(defaultCountTokens('abcd')).toBe(1)
    expect(defaultCountTokens('abcde')).toBe(2)
    expect(defaultCountTokens('x'.repeat(400))).toBe(100)
  })

  it('counts content.length for { content: string } messages', () => {
    expect(defaultCountTokens({ role: 'user', content: 'abcdefgh' })).toBe(2)
    expect(defaultCountTokens({ role: 'user', content: 'abcdefghi' })).toBe(3)
    expect(defaultCountTokens({ role: 'user', content: '' })).toBe(0)
  })

  it('is 0 for other values', () => {
    expect(defaultCountTokens(42)).toBe(0)
    expect(defaultCountTokens(null)).toBe(0)
    expect(defaultCountTokens({ content: 5 })).toBe(0)
  })

  it('is what the history uses when no countTokens is given', () => {
    const h = new RingBufferHistory<Msg>()
    h.push(user('x'.repeat(10)), asst('y'.repeat(3)))
    expect(h.tokens).toBe(3 + 1)
  })
})

describe('RingBufferHistory: token budget', () => {
  it('trims the oldest messages until tokens <= maxTokens, reason "tokens"', () => {
    const calls: Array<[string[], TrimReason]> = []
    const h = new RingBufferHistory<Msg>({
      maxTokens: 10,
      onTrim: (t, r) => calls.push([t.map((x) => x.content), r]),
    })
    const a = user('a'.repeat(20)) // 5 tokens
    const b = asst('b'.repeat(20))
    const c = user('c'.repeat(20))
    h.push(a, b)
    expect(h.tokens).toBe(10)
    h.push(c)
    expect(h.toArray()).toEqual([b, c])
    expect(h.tokens).toBe(10)
    expect(h.evictedCount).toBe(1)
    expect(calls).toEqual([[[a.content], 'tokens']])
  })

  it('tokens follows trims, rollback and clear', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 2 })
    h.push(user('a'.repeat(4)), asst('b'.repeat(8)))
    expect(h.tokens).toBe(3)
    const cp = h.checkpoint()
    h.push(user('c'.repeat(12)))
    expect(h.tokens).toBe(5)
    h.rollback(cp)
    expect(h.tokens).toBe(2)
    h.clear()
    expect(h.tokens).toBe(0)
  })

  it('uses a custom countTokens, rounded up, called once per message', () => {
    const countTokens = vi.fn((x: Msg) => x.content.length / 10)
    const h = new RingBufferHistory<Msg>({ maxTokens: 3, countTokens })
    h.push(user('x'.repeat(11))) // 1.1 -> 2
    expect(h.tokens).toBe(2)
    h.push(asst('y'.repeat(5))) // 0.5 -> 1
    expect(h.tokens).toBe(3)
    h.push(user('z'.repeat(10))) // 1 -> trims the first
    expect(h.toArray().map((x) => x.content[0])).toEqual(['y', 'z'])
    expect(h.tokens).toBe(2)
    expect(countTokens).toHaveBeenCalledTimes(3)
    h.toArray()
    void h.tokens
    expect(countTokens).toHaveBeenCalledTimes(3)
  })

  it('bytes is checked before tokens: when both are exceeded the reason is "bytes"', () => {
    const calls: Array<[string[], TrimReason]> = []
    const h = new RingBufferHistory<Msg>({
      maxBytes: 15,
      maxTokens: 2,
      sizeOf: (x) => x.content.length,
      countTokens: (x) => x.content.length / 5,
      onTrim: (t, r) => calls.push([t.map((x) => x.content), r]),
    })
    h.push(user('a'.repeat(10)))
    h.push(asst('b'.repeat(10))) // 20 > 15 bytes and 4 > 2 tokens; trimming 'a' fixes both
    expect(h.toArray().map((x) => x.content[0])).toEqual(['b'])
    expect(calls).toEqual([[['a'.repeat(10)], 'bytes']])
  })

  it('a message with more tokens than maxTokens is rejected and the history is unchanged', () => {
    const onTrim = vi.fn()
    const h = new RingBufferHistory<Msg>({ maxTokens: 5, onTrim })
    h.push(user('abcd'), asst('efgh'))
    const before = snapshot(h)
    let err: unknown
    try {
      h.push(user('x'.repeat(21))) // 6 tokens
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(MessageTooLargeError)
    expect(err).toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE', budget: 'tokens', limit: 5, needed: 6 })
    expect(snapshot(h)).toEqual(before)
    expect(onTrim).not.toHaveBeenCalled()
  })

  it('a multi-message push with one too many tokens rejects the whole push', () => {
    const h = new RingBufferHistory<Msg>({ maxTokens: 5, maxMessages: 2 })
    h.push(user('abcd'), asst('efgh'))
    const before = snapshot(h)
    expect(() => h.push(user('a'), asst('b'), user('x'.repeat(40)))).toThrow(MessageTooLargeError)
    expect(snapshot(h)).toEqual(before)
  })

  for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY, 2 ** 32]) {
    it(`countTokens returning ${bad} throws InvalidMeasurementError and leaves the history unchanged`, () => {
      const h = new RingBufferHistory<Msg>({
        maxMessages: 2,
        countTokens: (x) => (x.content === 'bad' ? bad : 1),
      })
      h.push(user('a'), asst('b'))
      const before = snapshot(h)
      let err: unknown
      try {
        h.push(user('bad'))
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(InvalidMeasurementError)
      expect(err).toMatchObject({ code: 'ERR_INVALID_MEASUREMENT', measure: 'countTokens' })
      expect(Object.is((err as InvalidMeasurementError).value, bad)).toBe(true)
      expect(snapshot(h)).toEqual(before)
    })
  }

  it("a throwing countTokens propagates the callback's error and leaves the history unchanged", () => {
    const boom = new Error('boom')
    const h = new RingBufferHistory<Msg>({
      maxMessages: 2,
      countTokens: (x) => {
        if (x.content === 'bad') throw boom
        return 1
      },
    })
    h.push(user('a'), asst('b'))
    const before = snapshot(h)
    expect(() => h.push(user('c'), user('bad'))).toThrow(boom)
    expect(snapshot(h)).toEqual(before)
  })
})
