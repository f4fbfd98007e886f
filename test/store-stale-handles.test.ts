import { describe, expect, it } from 'vitest'
import { BoundedSessionStore, RingBufferHistory } from '../src/index.js'

// A lease or a history of a session that was removed keeps working as a handle, and acts on
// nothing: not on a session stored later, under the same key or another.

describe('handles of removed sessions', () => {
  it("a lease released after its session left does not release a session stored after it", () => {
    const disposed: string[] = []
    const store = new BoundedSessionStore<string, { id: string }>({
      maxSessions: 2,
      sweepIntervalMs: 0,
      now: () => 0,
      dispose: (v) => {
        disposed.push(v.id)
      },
    })
    store.set('a', { id: 'a' })
    const stale = store.acquire('a')
    store.delete('a') // a leased session can still be deleted; its slot is now free
    store.set('b', { id: 'b' }) // takes a's slot
    const lease = store.acquire('b')
    stale?.release() // must not touch b
    store.set('c', { id: 'c' })
    store.set('d', { id: 'd' }) // b is still leased: c goes instead
    expect(store.has('b')).toBe(true)
    expect(disposed).toEqual(['a', 'c'])
    lease?.release() // refreshes b: d is now the least recently used
    store.set('e', { id: 'e' })
    expect(disposed).toEqual(['a', 'c', 'd'])
  })

  it("a history of a departed session no longer moves the bytes of the store", () => {
    const store = new BoundedSessionStore<string, { history: RingBufferHistory<string> }>({ sweepIntervalMs: 0 })
    const old = new RingBufferHistory<string>()
    store.set('a', { history: old })
    store.delete('a')
    const fresh = new RingBufferHistory<string>()
    store.set('b', { history: fresh })
    old.push('x'.repeat(1000))
    expect(store.bytes).toBe(1024)
    fresh.push('y')
    expect(store.bytes).toBe(1024 + fresh.bytes)
  })

  it('keeps recency, values and weights across thousands of sessions', () => {
    const store = new BoundedSessionStore<number, { id: number }>({ maxSessions: 5000, sweepIntervalMs: 0, sizeOf: (v) => v.id })
    let expected = 0
    for (let i = 0; i < 3000; i++) {
      store.set(i, { id: i })
      expected += i
    }
    store.get(0)
    expect(store.bytes).toBe(expected)
    expect([...store.keys()].slice(0, 3)).toEqual([0, 2999, 2998])
    expect(store.get(1500)?.id).toBe(1500)
  })
})
