import { describe, expect, it, vi } from 'vitest'
import { RingBufferHistory } from '../src/index.js'

/** A history whose ring has wrapped: pushed 1..13 into 5 slots, holds 9..13. */
function wrapped(): RingBufferHistory<number> {
  const h = new RingBufferHistory<number>({ maxMessages: 5 })
  for (let i = 1; i <= 13; i++) h.push(i)
  return h
}
const EXPECTED = [9, 10, 11, 12, 13]

describe('RingBufferHistory: array-like reading', () => {
  it('length follows pushes, trims and clear', () => {
    const h = new RingBufferHistory<number>({ maxMessages: 3 })
    expect(h.length).toBe(0)
    h.push(1)
    expect(h.length).toBe(1)
    h.push(2, 3, 4)
    expect(h.length).toBe(3)
    h.clear()
    expect(h.length).toBe(0)
  })

  it('retained messages come out in push order, also after wrap-around', () => {
    const h = wrapped()
    expect(h.toArray()).toEqual(EXPECTED)
    expect([...h]).toEqual(EXPECTED)
  })

  it('at() reads by index, negative indexes count from the end', () => {
    const h = wrapped()
    for (let i = 0; i < EXPECTED.length; i++) {
      expect(h.at(i)).toBe(EXPECTED.at(i))
      expect(h.at(-i - 1)).toBe(EXPECTED.at(-i - 1))
    }
    expect(h.at(5)).toBeUndefined()
    expect(h.at(-6)).toBeUndefined()
    expect(h.at(100)).toBeUndefined()
    expect(new RingBufferHistory<number>().at(0)).toBeUndefined()
    expect(new RingBufferHistory<number>().at(-1)).toBeUndefined()
  })

  it('is iterable with for...of, and the iterator is itself iterable', () => {
    const h = wrapped()
    const seen: number[] = []
    for (const m of h) seen.push(m)
    expect(seen).toEqual(EXPECTED)
    const it = h[Symbol.iterator]()
    expect(it.next()).toEqual({ value: 9, done: false })
    expect([...it]).toEqual([10, 11, 12, 13])
    expect(it.next().done).toBe(true)
    expect(Array.from(h)).toEqual(EXPECTED)
  })

  it('iterating an empty history yields nothing', () => {
    expect([...new RingBufferHistory<number>()]).toEqual([])
  })

  it('map passes (message, index, history) and returns an array', () => {
    const h = wrapped()
    const fn = vi.fn((m: number, i: number, _h: unknown) => m * 10 + i)
    expect(h.map(fn)).toEqual(EXPECTED.map((m, i) => m * 10 + i))
    expect(fn.mock.calls.map((c) => c.slice(0, 2))).toEqual(EXPECTED.map((m, i) => [m, i]))
    expect(fn.mock.calls[0]?.[2]).toBe(h)
    expect(new RingBufferHistory<number>().map((x) => x)).toEqual([])
  })

  it('filter keeps the messages for which the callback is truthy', () => {
    const h = wrapped()
    expect(h.filter((m) => m % 2 === 0)).toEqual([10, 12])
    expect(h.filter((_, i) => i >= 3)).toEqual([12, 13])
    expect(h.filter(() => 1)).toEqual(EXPECTED)
    let third: unknown
    h.filter((_m, _i, hist) => (third = hist))
    expect(third).toBe(h)
  })

  it('reduce with an initial value', () => {
    const h = wrapped()
    const calls: Array<[number, number, number]> = []
    const sum = h.reduce((acc, m, i) => {
      calls.push([acc, m, i])
      return acc + m
    }, 100)
    expect(sum).toBe(100 + 9 + 10 + 11 + 12 + 13)
    expect(calls.map((c) => c[2])).toEqual([0, 1, 2, 3, 4])
    expect(h.reduce<string[]>((acc, m) => [...acc, String(m)], [])).toEqual(EXPECTED.map(String))
  })

  it('reduce without an initial value starts from the first message at index 1', () => {
    const h = wrapped()
    const indexes: number[] = []
    const r = h.reduce((acc, m, i) => {
      indexes.push(i)
      return acc * 100 + m
    })
    expect(r).toBe(EXPECTED.reduce((acc, m) => acc * 100 + m))
    expect(indexes).toEqual([1, 2, 3, 4])
    const single = new RingBufferHistory<number>()
    single.push(42)
    expect(single.reduce(() => -1)).toBe(42)
  })

  it('reduce passes the history as the fourth argument', () => {
    const h = wrapped()
    let fourth: unknown
    h.reduce((acc, m, _i, hist) => {
      fourth = hist
      return acc + m
    }, 0)
    expect(fourth).toBe(h)
  })

  it('reduce on an empty history: TypeError without an initial value, the initial value with one', () => {
    const h = new RingBufferHistory<number>()
    expect(() => h.reduce((a, b) => a + b)).toThrow(TypeError)
    expect(h.reduce((a, b) => a + b, 7)).toBe(7)
    h.push(1)
    h.clear()
    expect(() => h.reduce((a, b) => a + b)).toThrow(TypeError)
  })

  it('forEach visits every message in order with its index and the history', () => {
    const h = wrapped()
    const seen: Array<[number, number]> = []
    let third: unknown
    const r: unknown = h.forEach((m, i, hist) => {
      seen.push([m, i])
      third = hist
    })
    expect(r).toBeUndefined()
    expect(seen).toEqual(EXPECTED.map((m, i) => [m, i]))
    expect(third).toBe(h)
  })

  it('some and every', () => {
    const h = wrapped()
    expect(h.some((m) => m === 11)).toBe(true)
    expect(h.some((m) => m === 1)).toBe(false)
    expect(h.some((_, i) => i === 4)).toBe(true)
    expect(h.every((m) => m >= 9)).toBe(true)
    expect(h.every((m) => m > 9)).toBe(false)
    expect(h.every((_, i) => i < 5)).toBe(true)
    const empty = new RingBufferHistory<number>()
    expect(empty.some(() => true)).toBe(false)
    expect(empty.every(() => false)).toBe(true)
  })

  it('some and every stop at the first decisive message', () => {
    const h = wrapped()
    const someFn = vi.fn((m: number) => m === 10)
    h.some(someFn)
    expect(someFn).toHaveBeenCalledTimes(2)
    const everyFn = vi.fn((m: number) => m < 10)
    h.every(everyFn)
    expect(everyFn).toHaveBeenCalledTimes(2)
  })

  it('find returns the first match or undefined', () => {
    const h = wrapped()
    expect(h.find((m) => m > 10)).toBe(11)
    expect(h.find((_, i) => i === 4)).toBe(13)
    expect(h.find((m) => m > 100)).toBeUndefined()
    const objs = new RingBufferHistory<{ id: number }>()
    const a = { id: 1 }
    const b = { id: 2 }
    objs.push(a, b, { id: 2 })
    expect(objs.find((o) => o.id === 2)).toBe(b)
  })

  it('slice follows Array#slice, including negative and out-of-range arguments', () => {
    const h = wrapped()
    const args: Array<[start?: number | undefined, end?: number | undefined]> = [
      [],
      [0],
      [2],
      [-2],
      [-100],
      [100],
      [1, 3],
      [1, -1],
      [-3, -1],
      [3, 1],
      [0, 0],
      [0, 100],
      [-100, 100],
      [-1, -3],
      [undefined, 2],
      [2, undefined],
      [5],
      [0, -5],
    ]
    for (const [start, end] of args) {
      expect(h.slice(start, end), `slice(${start}, ${end})`).toEqual(EXPECTED.slice(start, end))
    }
    expect(new RingBufferHistory<number>().slice()).toEqual([])
  })

  it('toArray returns a new array each time; changing it does not change the history', () => {
    const h = wrapped()
    const a = h.toArray()
    const b = h.toArray()
    expect(a).not.toBe(b)
    a.length = 0
    expect(h.toArray()).toEqual(EXPECTED)
    expect(h.slice()).not.toBe(h.slice())
  })

  it('toJSON lets JSON.stringify give the messages as an array', () => {
    const h = new RingBufferHistory<{ role: string; content: string }>({ maxMessages: 2 })
    h.push({ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' })
    expect(h.toJSON()).toEqual(h.toArray())
    expect(JSON.stringify(h)).toBe(
      JSON.stringify([
        { role: 'assistant', content: 'b' },
        { role: 'user', content: 'c' },
      ]),
    )
    expect(JSON.parse(JSON.stringify({ history: h }))).toEqual({
      history: [
        { role: 'assistant', content: 'b' },
        { role: 'user', content: 'c' },
      ],
    })
    expect(JSON.stringify(new RingBufferHistory())).toBe('[]')
  })

  it('tolerates the same message pushed twice', () => {
    const h = new RingBufferHistory<{ content: string }>()
    const reply = { content: 'reply' }
    h.push(reply, reply)
    expect(h.length).toBe(2)
    expect(h.at(0)).toBe(reply)
    expect(h.at(1)).toBe(reply)
  })

  it('clear empties the history and it can be used again', () => {
    const h = wrapped()
    h.clear()
    expect(h.toArray()).toEqual([])
    expect(h.at(0)).toBeUndefined()
    expect(h.bytes).toBe(0)
    expect(h.tokens).toBe(0)
    h.push(1, 2)
    expect(h.toArray()).toEqual([1, 2])
    expect(h.at(-1)).toBe(2)
  })
})

describe('RingBufferHistory.from', () => {
  it('pushes the items in order', () => {
    const h = RingBufferHistory.from(['a', 'b', 'c'])
    expect(h).toBeInstanceOf(RingBufferHistory)
    expect(h.toArray()).toEqual(['a', 'b', 'c'])
    expect(h.capacity).toBe(50)
  })

  it('trims as push would, with the given options', () => {
    const trimmed: number[] = []
    const h = RingBufferHistory.from([1, 2, 3, 4, 5], { maxMessages: 3, onTrim: (t) => trimmed.push(...t) })
    expect(h.toArray()).toEqual([3, 4, 5])
    expect(h.evictedCount).toBe(2)
    expect(h.capacity).toBe(3)
    expect(trimmed).toEqual([1, 2])
  })

  it('accepts any iterable, including a generator and another history', () => {
    function* gen(): Generator<number> {
      yield 1
      yield 2
      yield 3
    }
    const h = RingBufferHistory.from(gen(), { maxMessages: 2 })
    expect(h.toArray()).toEqual([2, 3])
    const copy = RingBufferHistory.from(h)
    expect(copy.toArray()).toEqual([2, 3])
    copy.push(4)
    expect(h.toArray()).toEqual([2, 3])
    expect(RingBufferHistory.from(new Set(['x', 'y'])).toArray()).toEqual(['x', 'y'])
  })

  it('applies pin and startOn while pushing', () => {
    const msgs = [
      { role: 'system', content: 'init' },
      { role: 'user', content: 'u1' },
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: 'u2' },
      { role: 'assistant', content: 'a2' },
    ]
    const h = RingBufferHistory.from(msgs, {
      maxMessages: 4,
      pin: (m) => m.role === 'system',
      startOn: (m) => m.role === 'user',
    })
    expect(h.toArray().map((m) => m.content)).toEqual(['init', 'u2', 'a2'])
  })
})

describe('RingBufferHistory.from', () => {
  it('takes an iterable far longer than the call stack allows as arguments', () => {
    const items = Array.from({ length: 300_000 }, (_, i) => `m${i}`)
    const h = RingBufferHistory.from(items, { maxMessages: 50 })
    expect(h.length).toBe(50)
    expect(h.at(-1)).toBe('m299999')
  })
})

describe('readers whose callback changes the history (issue 17 item 11)', () => {
  it('find and findLast return the message the predicate matched, even when it pushes', () => {
    const h = new RingBufferHistory<number>({ maxMessages: 3 })
    h.push(1, 2, 3)
    expect(h.find((m) => (m === 2 ? (h.push(9), true) : false))).toBe(2)
    const g = new RingBufferHistory<number>({ maxMessages: 3 })
    g.push(1, 2, 3)
    expect(g.findLast((m) => (m === 2 ? (g.push(9, 8), true) : false))).toBe(2)
  })
})
