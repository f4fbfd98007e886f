import { describe, expect, it, vi } from 'vitest'
import {
  InvalidMeasurementError,
  MessageTooLargeError,
  RingBufferHistory,
  defaultSizeOf,
  type TrimReason,
} from '../src/index.js'

interface Sized {
  id: string
  size: number
}
const m = (id: string, size: number): Sized => ({ id, size })
const ids = (h: RingBufferHistory<Sized>): string[] => h.toArray().map((x) => x.id)

function snapshot<T>(h: RingBufferHistory<T>) {
  return { items: h.toArray(), length: h.length, bytes: h.bytes, tokens: h.tokens, evicted: h.evictedCount }
}

describe('RingBufferHistory: byte budget', () => {
  it('trims the oldest messages until bytes <= maxBytes, reason "bytes"', () => {
    const calls: Array<[string[], TrimReason]> = []
    const h = new RingBufferHistory<Sized>({
      maxBytes: 10,
      sizeOf: (x) => x.size,
      onTrim: (t, r) => calls.push([t.map((x) => x.id), r]),
    })
    h.push(m('a', 4), m('b', 4))
    expect(h.bytes).toBe(8)
    h.push(m('c', 4))
    expect(ids(h)).toEqual(['b', 'c'])
    expect(h.bytes).toBe(8)
    expect(h.evictedCount).toBe(1)
    expect(calls).toEqual([[['a'], 'bytes']])
  })

  it('one large message can trim several older ones in a single step', () => {
    const calls: Array<[string[], TrimReason]> = []
    const h = new RingBufferHistory<Sized>({
      maxBytes: 10,
      sizeOf: (x) => x.size,
      onTrim: (t, r) => calls.push([t.map((x) => x.id), r]),
    })
    h.push(m('a', 3), m('b', 3), m('c', 3))
    h.push(m('d', 9))
    expect(ids(h)).toEqual(['d'])
    expect(h.bytes).toBe(9)
    expect(calls).toEqual([[['a', 'b', 'c'], 'bytes']])
  })

  it('a message exactly at the budget is accepted', () => {
    const h = new RingBufferHistory<Sized>({ maxBytes: 10, sizeOf: (x) => x.size })
    h.push(m('a', 10))
    expect(ids(h)).toEqual(['a'])
    expect(h.bytes).toBe(10)
  })

  it('bytes is the sum of sizeOf over retained messages and follows trims, clear and rollback', () => {
    const h = new RingBufferHistory<Sized>({ maxMessages: 3, sizeOf: (x) => x.size })
    expect(h.bytes).toBe(0)
    h.push(m('a', 1), m('b', 2), m('c', 3))
    expect(h.bytes).toBe(6)
    h.push(m('d', 4))
    expect(h.bytes).toBe(9)
    const cp = h.checkpoint()
    h.push(m('e', 5))
    expect(h.bytes).toBe(12)
    h.rollback(cp)
    expect(h.bytes).toBe(7)
    h.clear()
    expect(h.bytes).toBe(0)
  })

  it('sizes are rounded up to integers', () => {
    const h = new RingBufferHistory<Sized>({ sizeOf: (x) => x.size })
    h.push(m('a', 1.2), m('b', 0.1))
    expect(h.bytes).toBe(3)
  })

  it('a size of 0 is accepted', () => {
    const h = new RingBufferHistory<Sized>({ maxBytes: 1, sizeOf: (x) => x.size })
    h.push(m('a', 0), m('b', 0), m('c', 1))
    expect(ids(h)).toEqual(['a', 'b', 'c'])
    expect(h.bytes).toBe(1)
  })

  it('count is checked before bytes: when both are exceeded the first trim reason is "count"', () => {
    const calls: Array<[string[], TrimReason]> = []
    const h = new RingBufferHistory<Sized>({
      maxMessages: 2,
      maxBytes: 100,
      sizeOf: (x) => x.size,
      onTrim: (t, r) => calls.push([t.map((x) => x.id), r]),
    })
    h.push(m('a', 60), m('b', 10))
    h.push(m('c', 50)) // 3 > 2 messages and 120 > 100 bytes: trimming 'a' fixes both
    expect(ids(h)).toEqual(['b', 'c'])
    expect(calls).toEqual([[['a'], 'count']])
  })

  it('a step that trims for count and then for bytes reports each reason in its own call', () => {
    const calls: Array<[string[], TrimReason]> = []
    const h = new RingBufferHistory<Sized>({
      maxMessages: 2,
      maxBytes: 10,
      sizeOf: (x) => x.size,
      onTrim: (t, r) => calls.push([t.map((x) => x.id), r]),
    })
    h.push(m('a', 4), m('b', 4))
    h.push(m('c', 8)) // 'a' goes for count, then 'b' for bytes
    expect(ids(h)).toEqual(['c'])
    expect(calls).toEqual([
      [['a'], 'count'],
      [['b'], 'bytes'],
    ])
  })
})

describe('RingBufferHistory: default sizeOf', () => {
  it('strings cost 16 + 2 x length', () => {
    expect(defaultSizeOf('')).toBe(16)
    expect(defaultSizeOf('abc')).toBe(22)
    expect(defaultSizeOf('x'.repeat(1000))).toBe(2016)
  })

  it('objects with a string content cost 64 + 16 + 2 x content.length', () => {
    expect(defaultSizeOf({ role: 'user', content: 'abcd' })).toBe(88)
    expect(defaultSizeOf({ role: 'assistant', content: '' })).toBe(80)
  })

  it('other values cost 64', () => {
    expect(defaultSizeOf(42)).toBe(64)
    expect(defaultSizeOf(null)).toBe(64)
    expect(defaultSizeOf(undefined)).toBe(64)
    expect(defaultSizeOf({ content: 5 })).toBe(64)
    expect(defaultSizeOf({ role: 'user' })).toBe(64)
  })

  it('is what the history uses when no sizeOf is given', () => {
    const h = new RingBufferHistory<unknown>()
    h.push('hello') // 26
    h.push({ role: 'user', content: 'hi' }) // 84
    h.push(7) // 64
    expect(h.bytes).toBe(26 + 84 + 64)
  })

  it('drives the byte budget by default', () => {
    const h = new RingBufferHistory<{ role: string; content: string }>({ maxBytes: 200 })
    h.push({ role: 'user', content: 'a'.repeat(10) }) // 100
    h.push({ role: 'assistant', content: 'b'.repeat(10) }) // 100
    h.push({ role: 'user', content: 'c'.repeat(5) }) // 90
    expect(h.toArray().map((x) => x.content[0])).toEqual(['b', 'c'])
    expect(h.bytes).toBe(190)
  })
})

describe('RingBufferHistory: custom sizeOf', () => {
  it('is called once per message, at push time, and not when reading', () => {
    const sizeOf = vi.fn((x: Sized) => x.size)
    const h = new RingBufferHistory<Sized>({ maxBytes: 100, sizeOf })
    h.push(m('a', 1), m('b', 2), m('c', 3))
    expect(sizeOf).toHaveBeenCalledTimes(3)
    void h.bytes
    h.toArray()
    h.window({ maxBytes: 3 })
    h.map((x) => x)
    expect(sizeOf).toHaveBeenCalledTimes(3)
  })

  it('accepts 2^32 - 1', () => {
    const h = new RingBufferHistory<Sized>({ sizeOf: (x) => x.size })
    h.push(m('a', 2 ** 32 - 1))
    expect(h.bytes).toBe(2 ** 32 - 1)
  })
})

describe('RingBufferHistory: MessageTooLargeError', () => {
  it('a message larger than maxBytes is rejected and the history is unchanged', () => {
    const onTrim = vi.fn()
    const h = new RingBufferHistory<Sized>({ maxBytes: 10, sizeOf: (x) => x.size, onTrim })
    h.push(m('a', 5), m('b', 5))
    const before = snapshot(h)
    let err: unknown
    try {
      h.push(m('big', 11))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(MessageTooLargeError)
    expect(err).toBeInstanceOf(RangeError)
    expect(err).toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE', budget: 'bytes', limit: 10, needed: 11 })
    expect(snapshot(h)).toEqual(before)
    expect(onTrim).not.toHaveBeenCalled()
  })

  it('a message that does not fit beside the protected pinned messages is rejected', () => {
    const h = new RingBufferHistory<Sized & { pinned?: boolean }>({
      maxBytes: 10,
      sizeOf: (x) => x.size,
      pin: (x) => x.pinned === true,
    })
    h.push({ id: 'init', size: 6, pinned: true }, m('a', 2))
    const before = snapshot(h)
    let err: unknown
    try {
      h.push(m('b', 5))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(MessageTooLargeError)
    expect(err).toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE', budget: 'bytes', limit: 10 })
    expect((err as MessageTooLargeError).needed).toBeGreaterThan(10)
    expect(snapshot(h)).toEqual(before)
    // one that fits beside the pinned message is accepted, trimming the unpinned one
    h.push(m('c', 4))
    expect(h.toArray().map((x) => x.id)).toEqual(['init', 'c'])
  })
})

describe('RingBufferHistory: InvalidMeasurementError', () => {
  for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 32]) {
    it(`sizeOf returning ${bad} throws InvalidMeasurementError and leaves the history unchanged`, () => {
      const h = new RingBufferHistory<Sized>({ sizeOf: (x) => x.size, maxMessages: 2 })
      h.push(m('a', 1), m('b', 1))
      const before = snapshot(h)
      let err: unknown
      try {
        h.push(m('bad', bad))
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(InvalidMeasurementError)
      expect(err).toBeInstanceOf(TypeError)
      expect(err).toMatchObject({ code: 'ERR_INVALID_MEASUREMENT', measure: 'sizeOf' })
      expect(Object.is((err as InvalidMeasurementError).value, bad)).toBe(true)
      expect(snapshot(h)).toEqual(before)
    })
  }

  it('sizeOf returning a non-number throws InvalidMeasurementError', () => {
    const h = new RingBufferHistory<Sized>({ sizeOf: () => '5' as unknown as number })
    expect(() => h.push(m('a', 1))).toThrow(InvalidMeasurementError)
    expect(h.length).toBe(0)
  })
})

describe('RingBufferHistory: a throwing sizeOf', () => {
  it("propagates the callback's own error and leaves the history unchanged", () => {
    const boom = new Error('boom')
    const h = new RingBufferHistory<Sized>({
      maxMessages: 2,
      sizeOf: (x) => {
        if (x.id === 'bad') throw boom
        return x.size
      },
    })
    h.push(m('a', 1), m('b', 1))
    const before = snapshot(h)
    let err: unknown
    try {
      h.push(m('bad', 1))
    } catch (e) {
      err = e
    }
    expect(err).toBe(boom)
    expect(snapshot(h)).toEqual(before)
  })
})

describe('RingBufferHistory: a multi-message push is all or nothing', () => {
  it('a too-large message at the end rejects the messages before it, and nothing is trimmed', () => {
    const onTrim = vi.fn()
    const h = new RingBufferHistory<Sized>({ maxMessages: 3, maxBytes: 10, sizeOf: (x) => x.size, onTrim })
    h.push(m('a', 2), m('b', 2), m('c', 2))
    const before = snapshot(h)
    expect(() => h.push(m('d', 2), m('e', 2), m('huge', 11))).toThrow(MessageTooLargeError)
    expect(snapshot(h)).toEqual(before)
    expect(onTrim).not.toHaveBeenCalled()
  })

  it('an invalid measurement in the middle rejects the whole push', () => {
    const h = new RingBufferHistory<Sized>({ maxMessages: 2, sizeOf: (x) => x.size })
    h.push(m('a', 1), m('b', 1))
    const before = snapshot(h)
    expect(() => h.push(m('c', 1), m('bad', Number.NaN), m('d', 1))).toThrow(InvalidMeasurementError)
    expect(snapshot(h)).toEqual(before)
  })

  it('a throwing sizeOf on a later message rejects the whole push', () => {
    const boom = new Error('boom')
    const h = new RingBufferHistory<Sized>({
      maxMessages: 2,
      sizeOf: (x) => {
        if (x.id === 'bad') throw boom
        return x.size
      },
    })
    h.push(m('a', 1))
    const before = snapshot(h)
    expect(() => h.push(m('b', 1), m('c', 1), m('bad', 1))).toThrow(boom)
    expect(snapshot(h)).toEqual(before)
  })

  it('the history keeps working normally after a rejected push', () => {
    const h = new RingBufferHistory<Sized>({ maxMessages: 2, maxBytes: 10, sizeOf: (x) => x.size })
    h.push(m('a', 3))
    expect(() => h.push(m('b', 3), m('huge', 20))).toThrow(MessageTooLargeError)
    h.push(m('c', 3), m('d', 3))
    expect(ids(h)).toEqual(['c', 'd'])
    expect(h.bytes).toBe(6)
    expect(h.evictedCount).toBe(1)
  })
})
