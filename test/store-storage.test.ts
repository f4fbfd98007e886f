import * as v8 from 'node:v8'
import * as vm from 'node:vm'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BoundedSessionStore, RingBufferHistory } from '../src/index.js'

// The store keeps what it knows of a session in columns indexed by a slot number, and reuses the
// slot of a session that left. These tests pin down what a user could see go wrong with that:
// a lease or a history of a departed session acting on the session that took its slot, and the
// store's own lifetime and eviction costs.

const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun
const gc: () => void = bun ? () => bun.gc(true) : (v8.setFlagsFromString('--expose-gc'), vm.runInNewContext('gc') as () => void)
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5))

describe('BoundedSessionStore: slots of departed sessions', () => {
  it("a lease released after its session left does not release the session that took the slot", () => {
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

  it("a history of a departed session no longer moves the bytes of the session that took the slot", () => {
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

  it('keeps recency, values and weights when it grows past its first 1,024 slots', () => {
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

describe('BoundedSessionStore: lifetime and costs', () => {
  it('a store dropped without close() is garbage-collected, its sweep timer with it', async () => {
    let ref: WeakRef<object> | undefined
    ;(() => {
      const store = new BoundedSessionStore<string, object>({ sweepIntervalMs: 10 })
      store.set('a', {})
      ref = new WeakRef(store)
    })()
    let collected = false
    for (let attempt = 0; attempt < 20 && !collected; attempt++) {
      await tick()
      gc()
      collected = ref?.deref() === undefined
    }
    expect(collected).toBe(true)
  })

  it('settles an overflow in one pass over the busy sessions, not one pass per eviction', () => {
    let busyChecks = 0
    const busy = new Set<number>()
    const store = new BoundedSessionStore<number, number>({
      maxSessions: 1000,
      sweepIntervalMs: 0,
      now: () => 0,
      isBusy: (v) => {
        busyChecks++
        return busy.has(v)
      },
    })
    for (let i = 0; i < 1000; i++) {
      store.set(i, i)
      busy.add(i)
    }
    // 500 more busy sessions overflow the bound.
    for (let i = 1000; i < 1500; i++) {
      busy.add(i)
      store.set(i, i)
    }
    expect(store.size).toBe(1500)
    // The first 1,000 become idle: the next operation settles the overflow.
    for (let i = 0; i < 1000; i++) busy.delete(i)
    busyChecks = 0
    store.sweep()
    expect(store.size).toBe(1000)
    // One scan looks at each session once; re-scanning from the start per eviction would take
    // about 500 × 500 checks.
    expect(busyChecks).toBeLessThan(3 * 1500)
  })

  it('an isBusy error met by peek, has or iteration is delivered before they return', () => {
    let t = 0
    const errors: unknown[] = []
    const store = new BoundedSessionStore<string, object>({
      sweepIntervalMs: 0,
      idleTtlMs: 10,
      now: () => t,
      isBusy: () => {
        throw new Error('isBusy failed')
      },
    })
    store.on('error', (e) => errors.push(e))
    store.set('a', {})
    t = 100
    expect(store.peek('a')).toBeDefined() // a failing check counts as busy: kept
    expect(errors).toHaveLength(1)
    expect(store.has('a')).toBe(true)
    expect(errors).toHaveLength(2)
    expect([...store.keys()]).toEqual(['a'])
    expect(errors).toHaveLength(3)
  })
})

describe('BoundedSessionStore: sweep without a dispose', () => {
  it('removes exactly the idle expired sessions, in any recency order, and keeps the counts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ readAt: fc.integer({ min: 0, max: 100 }), busy: fc.boolean(), leased: fc.boolean() }), { maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 60 }),
        (sessions, reads) => {
          let t = 0
          const store = new BoundedSessionStore<number, { busy: boolean }>({
            maxSessions: 1000,
            idleTtlMs: 50,
            sweepIntervalMs: 0,
            now: () => t,
            isBusy: (s) => s.busy,
          })
          const evicted: number[] = []
          store.on('evict', (k) => evicted.push(k))
          const lastRead = new Map<number, number>()
          sessions.forEach((s, k) => {
            t = s.readAt
            store.set(k, { busy: s.busy })
            lastRead.set(k, t)
            if (s.leased) store.acquire(k) // never released
          })
          // Reads shuffle the recency order away from the order of the read times.
          for (const r of reads) {
            if (sessions.length === 0) break
            const k = r % sessions.length
            t = Math.min((lastRead.get(k) as number) + 1, 100)
            if (store.touch(k)) lastRead.set(k, t)
          }
          t = 130
          const expected = sessions
            .map((s, k) => ({ k, gone: 130 - (lastRead.get(k) as number) >= 50 && !s.busy && !s.leased }))
            .filter((x) => x.gone)
            .map((x) => x.k)
          expect(store.sweep()).toBe(expected.length)
          expect([...evicted].sort((a, b) => a - b)).toEqual(expected)
          expect(store.size).toBe(sessions.length - expected.length)
          expect(store.bytes).toBe(store.size * 1024)
          expect(store.stats().departures.idle).toBe(expected.length)
        },
      ),
      { numRuns: 300 },
    )
  })
})
