import { describe, expect, it } from 'vitest'
import { BoundedSessionStore, RingBufferHistory } from '../src/index.js'

describe('BoundedSessionStore: regressions from review', () => {
  it('a value that dispose stores under the key being replaced is itself replaced and disposed once', () => {
    const log: string[] = []
    const store: BoundedSessionStore<string, { name: string }> = new BoundedSessionStore({
      sweepIntervalMs: 0,
      sizeOf: () => 100,
      dispose: (v, _k, r) => {
        log.push(`${v.name}:${r}`)
        if (v.name === 'v1') store.set('a', { name: 'from-dispose' })
      },
    })
    store.set('a', { name: 'v1' })
    store.set('a', { name: 'v2' })
    expect(store.size).toBe(1)
    expect(store.bytes).toBe(100)
    expect(store.get('a')?.name).toBe('v2')
    store.clear()
    expect(store.bytes).toBe(0)
    expect(log).toEqual(['v1:replace', 'from-dispose:replace', 'v2:clear'])
  })

  it('set of the same value after it expired refreshes it and disposes nothing', () => {
    let t = 0
    const log: string[] = []
    const store = new BoundedSessionStore<string, object>({
      sweepIntervalMs: 0,
      idleTtlMs: 1000,
      now: () => t,
      dispose: (_v, k, r) => {
        log.push(`${k}:${r}`)
      },
    })
    const s = {}
    store.set('a', s)
    t = 5000
    store.set('a', s)
    expect(store.get('a')).toBe(s)
    expect(log).toEqual([])
  })

  it('two properties holding the same history count it once', () => {
    const h = new RingBufferHistory<string>()
    h.push('x'.repeat(100))
    const store = new BoundedSessionStore<string, object>({ sweepIntervalMs: 0 })
    store.set('a', { conversationHistory: h, history: h })
    expect(store.bytes).toBe(1024 + h.bytes)
    h.clear()
    expect(store.bytes).toBe(1024)
  })

  it('a huge maxSessions is refused with InvalidOptionsError, a large one allocates lazily', () => {
    expect(() => new BoundedSessionStore({ maxSessions: 2 ** 40 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }))
    const store = new BoundedSessionStore<number, number>({ maxSessions: 10_000_000, sweepIntervalMs: 0 })
    for (let i = 0; i < 5000; i++) store.set(i, i)
    expect(store.size).toBe(5000)
    expect([...store.keys()].slice(0, 2)).toEqual([4999, 4998])
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
