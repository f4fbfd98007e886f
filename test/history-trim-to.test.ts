import * as fc from 'fast-check'
import { assertProperty } from './helpers/property.js'
import { describe, expect, it } from 'vitest'
import { RingBufferHistory, type TrimReason, type TrimSummary } from '../src/index.js'
import { asst, isSystem, isUser, type Msg, names, sys, tool, user } from './helpers/messages.js'

// A message whose byte and token weights are its `content` length and `tokens` field.
interface Sized {
  id: string
  bytes: number
  tokens: number
}
const sized = (id: string, bytes: number, tokens = 1): Sized => ({ id, bytes, tokens })
const sizedOptions = { sizeOf: (m: Sized) => m.bytes, countTokens: (m: Sized) => m.tokens }
const ids = (ms: Iterable<Sized>): string[] => Array.from(ms, (m) => m.id)

function recorder<T>() {
  const calls: Array<{ trimmed: T[]; reason: TrimReason; summary: TrimSummary }> = []
  const onTrim = (trimmed: T[], reason: TrimReason, summary: TrimSummary) => {
    calls.push({ trimmed, reason, summary })
  }
  return { calls, onTrim }
}

const numbered = (n: number, from = 1): Msg[] => Array.from({ length: n }, (_, i) => user(`m${from + i}`))

describe('RingBufferHistory: trimTo', () => {
  it('trimTo 1 is the sliding window: the same content as no trimTo after every push', () => {
    assertProperty(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.option(fc.integer({ min: 20, max: 200 }), { nil: undefined }),
        fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 60 }),
        (maxMessages, maxBytes, lengths) => {
          const options = { maxMessages, maxBytes, sizeOf: (m: Msg) => m.content.length }
          const plain = new RingBufferHistory<Msg>(options)
          const one = new RingBufferHistory<Msg>({ ...options, trimTo: 1 })
          // The reference: an array that drops its oldest message while a budget is exceeded.
          const model: Msg[] = []
          lengths.forEach((len, i) => {
            const m = user(`${i}:`.padEnd(Math.min(len, maxBytes ?? len), 'x'))
            plain.push(m)
            one.push(m)
            model.push(m)
            while (model.length > maxMessages || model.reduce((s, x) => s + x.content.length, 0) > (maxBytes ?? Infinity)) model.shift()
            expect(one.toArray()).toEqual(model)
            expect(one.toArray()).toEqual(plain.toArray())
            expect(one.evictedCount).toBe(plain.evictedCount)
            expect(one.bytes).toBe(plain.bytes)
          })
        },
      ),
    )
  })

  it('trimTo 1 drops one message per push once full', () => {
    const { calls, onTrim } = recorder<Msg>()
    const h = new RingBufferHistory<Msg>({ maxMessages: 4, trimTo: 1, onTrim })
    h.push(...numbered(4))
    h.push(user('m5'))
    h.push(user('m6'))
    expect(names(h)).toEqual(['m3', 'm4', 'm5', 'm6'])
    expect(calls.map((c) => names(c.trimmed))).toEqual([['m1'], ['m2']])
  })

  it('trimTo 0.5 trims to half the count budget in one step', () => {
    const { calls, onTrim } = recorder<Msg>()
    const h = new RingBufferHistory<Msg>({ maxMessages: 10, trimTo: 0.5, onTrim })
    h.push(...numbered(10))
    expect(calls).toEqual([])
    h.push(user('m11'))
    // floor(0.5 × 10) = 5 messages, the newest included
    expect(names(h)).toEqual(['m7', 'm8', 'm9', 'm10', 'm11'])
    expect(calls).toHaveLength(1)
    expect(calls[0]?.reason).toBe('count')
    expect(names(calls[0]?.trimmed ?? [])).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6'])
    expect(h.evictedCount).toBe(6)
  })

  it('trimTo 0.5: after a trim, pushes go by without trims and every prompt extends the one before it', () => {
    const { calls, onTrim } = recorder<Msg>()
    const h = new RingBufferHistory<Msg>({ maxMessages: 10, trimTo: 0.5, onTrim })
    h.push(...numbered(11))
    expect(calls).toHaveLength(1)
    let previous = h.toArray()
    // Lengths 6 to 10: five pushes without a trim.
    for (let i = 12; i <= 16; i++) {
      h.push(user(`m${i}`))
      const prompt = h.toArray()
      expect(prompt.slice(0, previous.length)).toEqual(previous)
      expect(prompt).toHaveLength(previous.length + 1)
      previous = prompt
    }
    expect(calls).toHaveLength(1)
    // The next one trims again, in one step.
    h.push(user('m17'))
    expect(calls).toHaveLength(2)
    expect(names(h)).toEqual(['m13', 'm14', 'm15', 'm16', 'm17'])
  })

  it('trimTo 0 is a generation: only the protected messages and the newest remain', () => {
    const { calls, onTrim } = recorder<Msg>()
    const h = new RingBufferHistory<Msg>({ maxMessages: 5, trimTo: 0, pin: isSystem, onTrim })
    h.push(sys('instructions'), ...numbered(4))
    h.push(user('m5'))
    expect(names(h)).toEqual(['instructions', 'm5'])
    expect(names(calls[0]?.trimmed ?? [])).toEqual(['m1', 'm2', 'm3', 'm4'])
    // The next generation grows again, and the instructions survive it without being pushed again.
    h.push(...numbered(3, 6))
    expect(names(h)).toEqual(['instructions', 'm5', 'm6', 'm7', 'm8'])
    h.push(user('m9'))
    expect(names(h)).toEqual(['instructions', 'm9'])
  })

  it('trimTo 0 without protected messages keeps the newest message only', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3, trimTo: 0 })
    h.push(...numbered(4))
    expect(names(h)).toEqual(['m4'])
  })

  it('trimTo 0 keeps instructions pinned by pushPinned', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 4, trimTo: 0 })
    h.pushPinned(user('init prompt'))
    h.push(...numbered(4))
    expect(names(h)).toEqual(['init prompt', 'm4'])
  })

  it('a count overrun trims to floor(trimTo × maxMessages), not further for a byte budget it did not exceed', () => {
    const h = new RingBufferHistory<Sized>({ ...sizedOptions, maxMessages: 10, maxBytes: 1000, trimTo: 0.5 })
    // 6 small then 5 large: 60 + 900 = 960 bytes, within maxBytes, but 11 messages.
    for (let i = 1; i <= 6; i++) h.push(sized(`s${i}`, 10))
    for (let i = 1; i <= 4; i++) h.push(sized(`L${i}`, 180))
    h.push(sized('L5', 180))
    expect(ids(h)).toEqual(['L1', 'L2', 'L3', 'L4', 'L5'])
    // 900 bytes stay: above floor(0.5 × 1000), which only a byte overrun would aim for.
    expect(h.bytes).toBe(900)
  })

  it('a byte overrun trims to floor(trimTo × maxBytes), not further for a count budget it did not exceed', () => {
    const { calls, onTrim } = recorder<Sized>()
    const h = new RingBufferHistory<Sized>({ ...sizedOptions, maxMessages: 10, maxBytes: 1000, trimTo: 0.5, onTrim })
    h.push(sized('big1', 400), sized('big2', 400))
    for (let i = 1; i <= 6; i++) h.push(sized(`s${i}`, 10))
    h.push(sized('new', 200)) // 1060 bytes, 9 messages
    expect(ids(h)).toEqual(['s1', 's2', 's3', 's4', 's5', 's6', 'new'])
    expect(h.bytes).toBe(260) // at or below floor(0.5 × 1000)
    expect(h.length).toBe(7) // above floor(0.5 × 10): the count budget was not exceeded
    expect(calls.map((c) => c.reason)).toEqual(['bytes'])
  })

  it('a token overrun trims to floor(trimTo × maxTokens) only', () => {
    const h = new RingBufferHistory<Sized>({ ...sizedOptions, maxMessages: 10, maxBytes: 10_000, maxTokens: 100, trimTo: 0.3 })
    h.push(sized('t1', 1, 40), sized('t2', 1, 40))
    for (let i = 1; i <= 5; i++) h.push(sized(`s${i}`, 1, 2))
    h.push(sized('new', 1, 15)) // 105 tokens; target floor(0.3 × 100) = 30
    expect(ids(h)).toEqual(['s1', 's2', 's3', 's4', 's5', 'new'])
    expect(h.tokens).toBe(25)
  })

  it('a floor that is not a whole number is rounded down', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 7, trimTo: 0.5 })
    h.push(...numbered(8))
    expect(h.length).toBe(3) // floor(3.5)
  })

  it('two budgets exceeded by one push: each reaches its own target, and the reasons say which', () => {
    const { calls, onTrim } = recorder<Sized>()
    const h = new RingBufferHistory<Sized>({ ...sizedOptions, maxMessages: 4, maxBytes: 100, trimTo: 0.5, onTrim })
    h.push(sized('a', 10), sized('b', 10), sized('c', 10), sized('d', 60))
    h.push(sized('e', 30)) // 5 messages and 120 bytes: targets 2 messages and 50 bytes
    expect(ids(h)).toEqual(['e'])
    expect(calls.map((c) => [c.reason, ids(c.trimmed)])).toEqual([
      ['count', ['a', 'b', 'c']],
      ['bytes', ['d']],
    ])
  })

  it('trimming goes on to the start of a turn (startOn)', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 12, trimTo: 0.5, startOn: isUser })
    for (let i = 1; i <= 4; i++) h.push(user(`u${i}`), asst(`a${i}`), tool(`t${i}`))
    h.push(user('u5'))
    // The target (6) would keep a3 t3 u4 a4 t4 u5; a3 and t3 are not a turn start, so they go too.
    expect(names(h)).toEqual(['u4', 'a4', 't4', 'u5'])
  })

  it('startOn with trimTo 0 removes the whole turn before the newest message', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 4, trimTo: 0, startOn: isUser, pin: isSystem })
    h.push(sys('init'), user('u1'), asst('a1'), tool('t1'))
    h.push(asst('a2'))
    // The newest message is kept even though it does not start a turn.
    expect(names(h)).toEqual(['init', 'a2'])
  })

  it('never trims the protected messages or the newest one, even at trimTo 0 with a byte budget', () => {
    const h = new RingBufferHistory<Sized>({ ...sizedOptions, maxBytes: 100, maxPinned: 2, trimTo: 0, pin: (m) => m.id.startsWith('pin') })
    h.push(sized('pin1', 20), sized('x', 10), sized('pin2', 20), sized('y', 10))
    h.push(sized('huge', 60))
    expect(ids(h)).toEqual(['pin1', 'pin2', 'huge'])
    expect(h.bytes).toBe(100)
  })

  it('onTrim gets a summary of the messages, bytes and tokens it was given', () => {
    const { calls, onTrim } = recorder<Sized>()
    const h = new RingBufferHistory<Sized>({ ...sizedOptions, maxMessages: 6, trimTo: 0.5, onTrim })
    const all = [sized('a', 11, 1), sized('b', 22, 2), sized('c', 33, 3), sized('d', 44, 4), sized('e', 55, 5), sized('f', 66, 6)]
    h.push(...all)
    h.push(sized('g', 77, 7))
    expect(calls).toHaveLength(1)
    const call = calls[0]!
    expect(ids(call.trimmed)).toEqual(['a', 'b', 'c', 'd'])
    expect(call.summary).toEqual({ messages: 4, bytes: 11 + 22 + 33 + 44, tokens: 1 + 2 + 3 + 4 })
    // The summary matches what the history lost.
    expect(h.bytes).toBe(55 + 66 + 77)
    expect(h.tokens).toBe(5 + 6 + 7)
  })

  it('onTrim summaries add up to what left the history, for random pushes', () => {
    assertProperty(
      fc.property(
        fc.constantFrom(0, 0.25, 0.5, 0.75, 1),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 10 })), { maxLength: 80 }),
        (trimTo, specs) => {
          const { calls, onTrim } = recorder<Sized>()
          const h = new RingBufferHistory<Sized>({ ...sizedOptions, maxMessages: 8, maxBytes: 100, maxTokens: 30, trimTo, onTrim })
          let pushedBytes = 0
          let pushedTokens = 0
          specs.forEach(([bytes, tokens], i) => {
            h.push(sized(String(i), bytes, tokens))
            pushedBytes += bytes
            pushedTokens += tokens
          })
          for (const c of calls) {
            expect(c.summary.messages).toBe(c.trimmed.length)
            expect(c.summary.bytes).toBe(c.trimmed.reduce((s, m) => s + m.bytes, 0))
            expect(c.summary.tokens).toBe(c.trimmed.reduce((s, m) => s + m.tokens, 0))
          }
          const sum = (k: 'messages' | 'bytes' | 'tokens') => calls.reduce((s, c) => s + c.summary[k], 0)
          expect(sum('messages')).toBe(h.evictedCount)
          expect(sum('bytes')).toBe(pushedBytes - h.bytes)
          expect(sum('tokens')).toBe(pushedTokens - h.tokens)
          expect(h.length).toBeLessThanOrEqual(8)
          expect(h.bytes).toBeLessThanOrEqual(100)
          expect(h.tokens).toBeLessThanOrEqual(30)
        },
      ),
    )
  })

  it.each([-0.1, 1.1, Number.NaN, '0.5', Infinity, null])('trimTo %s is ERR_INVALID_OPTIONS', (trimTo) => {
    expect(() => new RingBufferHistory({ trimTo: trimTo as number })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'trimTo' }),
    )
  })

  it.each([0, 0.5, 1])('trimTo %s is accepted', (trimTo) => {
    expect(new RingBufferHistory({ trimTo }).length).toBe(0)
  })

  it('trims in big steps: onTrim is called about once per capacity/2 pushes at trimTo 0.5', () => {
    const capacity = 100
    const pushes = 10_000
    const { calls, onTrim } = recorder<Msg>()
    const h = new RingBufferHistory<Msg>({ maxMessages: capacity, trimTo: 0.5, onTrim })
    for (let i = 0; i < pushes; i++) h.push(user(`m${i}`))
    // A trim leaves 50 messages; the next one comes 51 pushes later.
    expect(calls.length).toBeLessThanOrEqual(pushes / (capacity / 2))
    expect(calls.length).toBeGreaterThanOrEqual(Math.floor((pushes - capacity) / (capacity / 2 + 1)))
    for (const c of calls) expect(c.summary.messages).toBeGreaterThanOrEqual(capacity / 2)
    expect(h.evictedCount).toBe(pushes - h.length)
  })

  it('trims in big steps by bytes too', () => {
    const pushes = 5_000
    const { calls, onTrim } = recorder<Sized>()
    const h = new RingBufferHistory<Sized>({ ...sizedOptions, maxMessages: 10_000, maxBytes: 1_000, trimTo: 0.5, onTrim })
    for (let i = 0; i < pushes; i++) h.push(sized(String(i), 10))
    // 100 messages fit; each trim leaves 50, so one trim per 51 pushes.
    expect(calls.length).toBeLessThanOrEqual(pushes / 50)
    expect(calls.length).toBeGreaterThanOrEqual(Math.floor((pushes - 100) / 51))
    expect(calls.every((c) => c.reason === 'bytes')).toBe(true)
  })
})
