import * as fc from 'fast-check'
import { assertProperty } from './helpers/property.js'
import { describe, expect, it, vi } from 'vitest'
import { type HistoryMeasure, MessageTooLargeError, RingBufferHistory, defaultCountTokens, defaultSizeOf, truncateContent } from '../src/index.js'
import { asst, isSystem, type Msg, names, stateOf, sys, user } from './helpers/messages.js'

const bytesOf = (m: Msg): number => m.content.length
const utf8 = (m: Msg): number => Buffer.byteLength(m.content, 'utf8')
const elided = /^([^]*)…\[(\d+) characters elided\]…([^]*)$/

// A shrink that records what it was given and cuts `content` to the byte room (bytes = length).
function recordingShrink() {
  const rooms: HistoryMeasure[] = []
  const shrink = vi.fn((m: Msg, room: HistoryMeasure): Msg => {
    rooms.push(room)
    return { ...m, content: m.content.slice(0, Math.min(m.content.length, room.bytes)) }
  })
  return { rooms, shrink }
}

describe('RingBufferHistory: shrink', () => {
  it('is called with the room beside the protected messages, and its result is stored', () => {
    const { rooms, shrink } = recordingShrink()
    const h = new RingBufferHistory<Msg>({ maxBytes: 100, maxTokens: 50, sizeOf: bytesOf, countTokens: () => 5, pin: isSystem, shrink })
    h.push(sys('s'.repeat(30)), asst('reply'))
    const big = user('x'.repeat(500))
    h.push(big)
    expect(rooms).toEqual([{ bytes: 70, tokens: 45 }])
    expect(shrink.mock.calls[0]?.[0]).toBe(big)
    expect(names(h)).toEqual(['s'.repeat(30), 'x'.repeat(70)])
    expect(h.bytes).toBe(100)
    expect(h.tokens).toBe(10)
  })

  it('the room of a budget that is not set is Infinity', () => {
    const rooms: HistoryMeasure[] = []
    const h = new RingBufferHistory<Msg>({
      maxTokens: 10,
      countTokens: bytesOf,
      shrink: (m, room) => {
        rooms.push(room)
        return { ...m, content: 'ok' }
      },
    })
    h.push(user('x'.repeat(50)))
    expect(rooms).toEqual([{ bytes: Infinity, tokens: 10 }])
    expect(names(h)).toEqual(['ok'])
  })

  it('a pinned message that displaces the oldest protected one gets that one’s room too', () => {
    const { rooms, shrink } = recordingShrink()
    const h = new RingBufferHistory<Msg>({ maxBytes: 100, maxPinned: 2, sizeOf: bytesOf, shrink })
    h.pushPinned(user('a'.repeat(30)))
    h.pushPinned(user('b'.repeat(20)))
    h.pushPinned(user('c'.repeat(500)))
    // 'a' loses protection to the new one: only 'b' stays beside it.
    expect(rooms).toEqual([{ bytes: 80, tokens: Infinity }])
    expect(names(h)).toEqual(['b'.repeat(20), 'c'.repeat(80)])
    // An unpinned message does not displace anything: its room is beside both.
    h.push(asst('d'.repeat(500)))
    expect(rooms[1]).toEqual({ bytes: 0, tokens: Infinity })
  })

  it('is given the history’s own measures', () => {
    let seen: HistoryMeasure | undefined
    const h = new RingBufferHistory<Msg>({
      maxBytes: 10,
      sizeOf: (m) => 3 * m.content.length,
      countTokens: (m) => m.content.length + 1,
      shrink: (m, _room, measure) => {
        seen = measure(user('abcd'))
        return { ...m, content: 'ab' }
      },
    })
    h.push(user('too long for ten bytes'))
    expect(seen).toEqual({ bytes: 12, tokens: 5 })
    expect(h.bytes).toBe(6)
    expect(h.tokens).toBe(3)
  })

  it('is not called for a message that fits', () => {
    const { shrink } = recordingShrink()
    const h = new RingBufferHistory<Msg>({ maxBytes: 10, sizeOf: bytesOf, shrink })
    h.push(user('aaaaa'), user('bbbbb'), user('ccccc'))
    expect(shrink).not.toHaveBeenCalled()
    expect(names(h)).toEqual(['bbbbb', 'ccccc'])
  })

  it('works on the fast path (default measures, a full ring)', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 8, maxBytes: 2_000, shrink: truncateContent })
    for (let i = 0; i < 20; i++) h.push(user(`m${i}`))
    h.push(user('x'.repeat(10_000)))
    expect(h.at(-1)?.content).toMatch(elided)
    expect(defaultSizeOf(h.at(-1))).toBeLessThanOrEqual(2_000)
    expect(h.bytes).toBeLessThanOrEqual(2_000)
  })

  it('a result that still does not fit is MessageTooLargeError, and the history is unchanged', () => {
    const shrink = vi.fn((m: Msg) => ({ ...m, content: m.content.slice(1) }))
    const h = new RingBufferHistory<Msg>({ maxBytes: 10, sizeOf: bytesOf, shrink })
    h.push(user('abc'))
    const before = stateOf(h)
    expect(() => h.push(user('x'.repeat(20)))).toThrow(MessageTooLargeError)
    expect(shrink).toHaveBeenCalledTimes(1)
    expect(stateOf(h)).toEqual(before)
  })

  it('a shrink that throws leaves the history unchanged, and its error comes through', () => {
    const h = new RingBufferHistory<Msg>({
      maxBytes: 10,
      sizeOf: bytesOf,
      shrink: () => {
        throw new Error('cannot shrink')
      },
    })
    h.push(user('abc'))
    const before = stateOf(h)
    expect(() => h.push(user('x'.repeat(20)))).toThrow('cannot shrink')
    expect(stateOf(h)).toEqual(before)
  })

  it('a shrink result that measures invalid is refused, and the history is unchanged', () => {
    const h = new RingBufferHistory<Msg>({
      maxBytes: 10,
      sizeOf: (m) => (m.content === 'bad' ? Number.NaN : m.content.length),
      shrink: (m) => ({ ...m, content: 'bad' }),
    })
    h.push(user('abc'))
    const before = stateOf(h)
    expect(() => h.push(user('x'.repeat(20)))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_MEASUREMENT' }))
    expect(stateOf(h)).toEqual(before)
  })

  it('without shrink, a message too large is MessageTooLargeError as before', () => {
    const h = new RingBufferHistory<Msg>({ maxBytes: 10, sizeOf: bytesOf })
    h.push(user('abc'))
    const before = stateOf(h)
    expect(() => h.push(user('x'.repeat(20)))).toThrow(expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE', budget: 'bytes', limit: 10 }))
    expect(stateOf(h)).toEqual(before)
  })

  it('several messages: all or nothing, with the shrunk ones stored in order', () => {
    const { shrink } = recordingShrink()
    const h = new RingBufferHistory<Msg>({ maxBytes: 10, sizeOf: bytesOf, shrink })
    h.push(user('a'), user('b'.repeat(30)))
    expect(names(h)).toEqual(['b'.repeat(10)])
    expect(h.bytes).toBe(10)

    const failing = new RingBufferHistory<Msg>({ maxBytes: 10, sizeOf: bytesOf, shrink: (m) => (m.content.startsWith('y') ? m : { ...m, content: 'ok' }) })
    failing.push(user('z'))
    const before = stateOf(failing)
    expect(() => failing.push(user('x'.repeat(30)), user('y'.repeat(30)))).toThrow(MessageTooLargeError)
    expect(stateOf(failing)).toEqual(before)
  })

  it('reset() shrinks as push does', () => {
    const h = new RingBufferHistory<Msg>({ maxBytes: 1_000, shrink: truncateContent })
    h.reset([user('x'.repeat(5_000))])
    expect(h.at(0)?.content).toMatch(elided)
    expect(h.bytes).toBeLessThanOrEqual(1_000)
  })
})

describe('truncateContent', () => {
  const text = Array.from({ length: 3_000 }, (_, i) => String.fromCharCode(0x41 + (i % 26))).join('')

  function parts(content: string) {
    const match = elided.exec(content)
    expect(match).not.toBeNull()
    const [, head = '', n = '', tail = ''] = match ?? []
    return { head, n: Number(n), tail }
  }

  it('keeps the head and the tail, and marks how many characters it left out', () => {
    const h = new RingBufferHistory<Msg>({ maxBytes: 1_000, shrink: truncateContent })
    h.push(user(text))
    const { head, n, tail } = parts(h.at(0)?.content ?? '')
    expect(text.startsWith(head)).toBe(true)
    expect(text.endsWith(tail)).toBe(true)
    expect(n).toBe(text.length - head.length - tail.length)
    expect(head.length).toBeGreaterThan(tail.length)
    expect(tail.length).toBeGreaterThan(0)
  })

  it('fits the room as the default measures count, keeping as much as fits', () => {
    const measure = (m: Msg) => ({ bytes: defaultSizeOf(m), tokens: defaultCountTokens(m) })
    for (const room of [{ bytes: 1_000, tokens: Infinity }, { bytes: Infinity, tokens: 100 }]) {
      const result = truncateContent(user(text), room, measure)
      const m = measure(result)
      expect(m.bytes).toBeLessThanOrEqual(room.bytes)
      expect(m.tokens).toBeLessThanOrEqual(room.tokens)
      // Keeping more would not fit: one more character is over the room (allowing for the marker's digits).
      const { n } = parts(result.content)
      const more = truncateContent(user(text), { bytes: room.bytes + 2, tokens: room.tokens + 1 }, measure)
      expect(text.length - parts(more.content).n).toBeGreaterThan(text.length - n)
    }
  })

  it('fits a custom measure: UTF-8 bytes of text with multi-byte characters', () => {
    const wide = '日本語のテキスト🙂'.repeat(200)
    const h = new RingBufferHistory<Msg>({ maxBytes: 500, sizeOf: utf8, shrink: truncateContent })
    h.push(user(wide))
    const stored = h.at(0)
    expect(stored).toBeDefined()
    expect(utf8(stored!)).toBeLessThanOrEqual(500)
    expect(h.bytes).toBe(utf8(stored!))
    const { head, n, tail } = parts(stored!.content)
    expect(wide.startsWith(head)).toBe(true)
    expect(wide.endsWith(tail)).toBe(true)
    expect(n).toBe(wide.length - head.length - tail.length)
  })

  it('for any text and room the history can meet, the history stores a result that fits, head and tail of the original', () => {
    assertProperty(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), fc.integer({ min: 40, max: 300 }), (content, room) => {
        const h = new RingBufferHistory<Msg>({ maxBytes: room, sizeOf: utf8, shrink: truncateContent })
        h.push(user(content))
        expect(h.length).toBe(1)
        expect(h.bytes).toBeLessThanOrEqual(room)
        const stored = h.at(0)!.content
        if (stored !== content) {
          const { head, n, tail } = parts(stored)
          expect(content.startsWith(head)).toBe(true)
          expect(content.endsWith(tail)).toBe(true)
          expect(n).toBe(content.length - head.length - tail.length)
        }
      }),
    )
  })

  it('never cuts a character of two UTF-16 units (an emoji) in half', () => {
    // A lone surrogate is invalid text: JSON.stringify writes it as an escape that providers refuse.
    const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
    const emoji = 'a🙂'.repeat(200)
    const measure = (m: Msg) => ({ bytes: m.content.length, tokens: 0 })
    for (let room = 30; room < 120; room++) {
      const result = truncateContent(user(emoji), { bytes: room, tokens: Infinity }, measure)
      expect(result.content.length).toBeLessThanOrEqual(room)
      expect(lone.test(result.content)).toBe(false)
      const { head, n, tail } = parts(result.content)
      expect(n).toBe(emoji.length - head.length - tail.length)
    }
  })

  it('returns a copy, with every other field kept and the original unchanged', () => {
    interface Tagged extends Msg {
      id: number
      meta: { source: string }
    }
    const original: Tagged = { role: 'user', content: text, id: 7, meta: { source: 'tool' } }
    const measure = (m: Tagged) => ({ bytes: m.content.length, tokens: 0 })
    const result = truncateContent(original, { bytes: 100, tokens: Infinity }, measure)
    expect(result).not.toBe(original)
    expect(original.content).toBe(text)
    expect(result.role).toBe('user')
    expect(result.id).toBe(7)
    expect(result.meta).toBe(original.meta)
    expect(result.content.length).toBeLessThanOrEqual(100)
    // A message that already fits comes back as an equal copy.
    const small = truncateContent(original, { bytes: Infinity, tokens: Infinity }, measure)
    expect(small).toEqual(original)
    expect(small).not.toBe(original)
  })

  it('a room too small even for the marker gives empty content', () => {
    const result = truncateContent(user(text), { bytes: 5, tokens: Infinity }, (m) => ({ bytes: m.content.length, tokens: 0 }))
    expect(result).toEqual(user(''))
  })
})
