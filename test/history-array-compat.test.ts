import * as fc from 'fast-check'
import { assertProperty } from './helpers/property.js'
import { describe, expect, it } from 'vitest'
import { RingBufferHistory } from '../src/index.js'

// Each new reader of the history, against the same call on a plain array holding the same
// messages, after the ring has wrapped (its oldest message is no longer in slot 0).

const shared = [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }]
const value: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 2 }),
  fc.integer({ min: -2, max: 2 }),
  fc.constantFrom(Number.NaN, 0, -0, null, undefined, true, ...shared),
)
// A fromIndex: in range, negative, out of range, fractional, NaN, infinite.
const fromIndex: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -12, max: 12 }),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, 1.5, -1.5, -0),
)

// A history of `capacity` that was given `pushes`, read twice so that it may have laid itself out
// again, and the array it should equal.
const wrapped = fc
  .tuple(fc.integer({ min: 1, max: 8 }), fc.array(value, { maxLength: 30 }), fc.boolean())
  .map(([capacity, pushes, readTwice]) => {
    const history = new RingBufferHistory<unknown>({ maxMessages: capacity })
    for (const m of pushes) history.push(m)
    if (readTwice) {
      history.slice()
      history.slice()
    }
    return { history, array: pushes.slice(Math.max(0, pushes.length - capacity)) }
  })

const predicates: Array<(m: unknown, i: number) => boolean> = [
  (m) => typeof m === 'string',
  (m) => typeof m === 'number' && m > 0,
  (_m, i) => i % 2 === 1,
  (m) => m === null || m === undefined,
  () => false,
  () => true,
]
const predicate = fc.constantFrom(...predicates)

// Runs `call` with a callback on both, and compares the results and the (value, index) visits.
function sameVisits<R>(history: RingBufferHistory<unknown>, array: unknown[], fn: (m: unknown, i: number) => unknown, call: (target: { [k: string]: unknown }, cb: (m: unknown, i: number) => unknown) => R) {
  const seenH: Array<[unknown, number]> = []
  const seenA: Array<[unknown, number]> = []
  const rH = call(history as never, (m, i) => (seenH.push([m, i]), fn(m, i)))
  const rA = call(array as never, (m, i) => (seenA.push([m, i]), fn(m, i)))
  expect(rH).toEqual(rA)
  expect(seenH).toEqual(seenA)
}

describe('RingBufferHistory: the array readers match Array after the ring wraps', () => {
  it('holds what the array holds', () => {
    assertProperty(
      fc.property(wrapped, ({ history, array }) => {
        expect(history.toArray()).toEqual(array)
        expect(history.length).toBe(array.length)
      }),
    )
  })

  it('indexOf, lastIndexOf and includes, with and without fromIndex', () => {
    assertProperty(
      fc.property(wrapped, value, fc.option(fromIndex, { nil: undefined }), ({ history, array }, probe, from) => {
        const targets = [probe, ...array.slice(0, 2)]
        for (const m of targets) {
          if (from === undefined) {
            expect(history.indexOf(m)).toBe(array.indexOf(m))
            expect(history.lastIndexOf(m)).toBe(array.lastIndexOf(m))
            expect(history.includes(m)).toBe(array.includes(m))
          } else {
            expect(history.indexOf(m, from)).toBe(array.indexOf(m, from))
            expect(history.lastIndexOf(m, from)).toBe(array.lastIndexOf(m, from))
            expect(history.includes(m, from)).toBe(array.includes(m, from))
          }
        }
      }),
    )
  })

  it('includes finds NaN (SameValueZero), indexOf does not (===), and -0 matches 0', () => {
    const history = new RingBufferHistory<unknown>({ maxMessages: 3 })
    history.push('x', 'y', Number.NaN, 0)
    expect(history.includes(Number.NaN)).toBe(true)
    expect(history.indexOf(Number.NaN)).toBe(-1)
    expect(history.lastIndexOf(Number.NaN)).toBe(-1)
    expect(history.includes(-0)).toBe(true)
    expect(history.indexOf(-0)).toBe(2)
    expect(history.includes(Number.NaN, 2)).toBe(false)
    expect(history.includes(Number.NaN, -2)).toBe(true)
  })

  it('an explicit undefined fromIndex means 0, as on arrays', () => {
    const history = new RingBufferHistory<string>({ maxMessages: 4 })
    history.push('z', 'a', 'b', 'a', 'b')
    const array = ['a', 'b', 'a', 'b']
    const from: number | undefined = undefined
    expect(history.indexOf('b', from)).toBe(array.indexOf('b', from))
    expect(history.includes('a', from)).toBe(array.includes('a', from))
    expect(history.lastIndexOf('b', from)).toBe(array.lastIndexOf('b', from))
    expect(history.lastIndexOf('a', from)).toBe(array.lastIndexOf('a', from))
  })

  it('findIndex, findLast and findLastIndex: same answers, same visits', () => {
    assertProperty(
      fc.property(wrapped, predicate, ({ history, array }, fn) => {
        sameVisits(history, array, fn, (t, cb) => (t.findIndex as (cb: unknown) => number)(cb))
        sameVisits(history, array, fn, (t, cb) => (t.findLast as (cb: unknown) => unknown)(cb))
        sameVisits(history, array, fn, (t, cb) => (t.findLastIndex as (cb: unknown) => number)(cb))
      }),
    )
  })

  it('flatMap spreads arrays one level, as Array#flatMap', () => {
    const shapes = [(m: unknown) => m, (m: unknown) => [m, m], (m: unknown) => [[m]], () => [], (m: unknown, i: number) => (i % 2 ? [m] : m)]
    assertProperty(
      fc.property(wrapped, fc.constantFrom(...shapes), ({ history, array }, fn) => {
        sameVisits(history, array, fn, (t, cb) => (t.flatMap as (cb: unknown) => unknown[])(cb))
      }),
    )
  })

  it('join, with and without a separator', () => {
    assertProperty(
      fc.property(wrapped, fc.option(fc.string({ maxLength: 3 }), { nil: undefined }), ({ history, array }, separator) => {
        expect(history.join()).toBe(array.join())
        expect(history.join(separator)).toBe(array.join(separator))
      }),
    )
  })

  it('entries, keys and values iterate as the array’s do', () => {
    assertProperty(
      fc.property(wrapped, ({ history, array }) => {
        expect([...history.entries()]).toEqual([...array.entries()])
        expect([...history.keys()]).toEqual([...array.keys()])
        expect([...history.values()]).toEqual([...array.values()])
        expect([...history]).toEqual(array)
      }),
    )
  })

  it('toReversed gives a new array, newest first, and leaves the history as it was', () => {
    assertProperty(
      fc.property(wrapped, ({ history, array }) => {
        const reversed = history.toReversed()
        expect(reversed).toEqual(array.toReversed())
        reversed.push('extra')
        expect(history.toArray()).toEqual(array)
      }),
    )
  })

  it('concat spreads arrays and histories one level, as Array#concat spreads arrays', () => {
    const item = fc.oneof(
      value.map((v) => ({ kind: 'value' as const, v })),
      fc.array(fc.oneof(value, fc.array(value, { maxLength: 2 })), { maxLength: 3 }).map((v) => ({ kind: 'array' as const, v })),
      fc.array(value, { maxLength: 4 }).map((v) => ({ kind: 'history' as const, v })),
    )
    assertProperty(
      fc.property(wrapped, fc.array(item, { maxLength: 4 }), ({ history, array }, items) => {
        const forHistory = items.map((i) => (i.kind === 'history' ? RingBufferHistory.from<unknown>(i.v) : i.v))
        const forArray = items.map((i) => i.v)
        const result = history.concat(...(forHistory as unknown[]))
        expect(result).toEqual(array.concat(...forArray))
        // a new array: changing it does not change the history
        result.push('extra')
        expect(history.toArray()).toEqual(array)
      }),
    )
  })
})

describe('RingBufferHistory.from', () => {
  class Truncating extends RingBufferHistory<string> {
    pushed: string[] = []
    override push(...messages: string[]): number {
      this.pushed.push(...messages)
      return super.push(...messages.map((m) => m.slice(0, 3)))
    }
  }

  it('called on a subclass, returns that subclass, built through its own push', () => {
    const h = Truncating.from(['abcdef', 'gh'], { maxMessages: 5 })
    expect(h).toBeInstanceOf(Truncating)
    expect(h.pushed).toEqual(['abcdef', 'gh'])
    expect(h.toArray()).toEqual(['abc', 'gh'])
    expect(h.capacity).toBe(5)
  })

  it('takes any iterable and trims as pushes would', () => {
    function* messages() {
      for (let i = 0; i < 10; i++) yield `m${i}`
    }
    const h = RingBufferHistory.from(messages(), { maxMessages: 4, trimTo: 0.5 })
    expect(h).toBeInstanceOf(RingBufferHistory)
    // 4 messages then a trim to 2, twice: m6 m7 were left by the second trim
    expect(h.toArray()).toEqual(['m6', 'm7', 'm8', 'm9'])
  })
})
