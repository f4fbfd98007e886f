import fc from 'fast-check'
import { assertProperty } from './helpers/property.js'
import { describe, expect, it } from 'vitest'
import { BoundedSessionStore } from '../src/index.js'

// sweep() and the eviction scans: what they remove, and how much work they do.

describe('sweep without a dispose', () => {
  it('removes exactly the idle expired sessions, in any recency order (a clock that jumps back included), and keeps the counts', () => {
    assertProperty(
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
          store.on('remove', (k) => evicted.push(k))
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
          expect(store.stats().removed.idle).toBe(expected.length)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('removes exactly the sessions past maxAgeMs when they are spread through the recency order (runs of them, the most recent one, busy ones between)', () => {
    assertProperty(
      fc.property(
        fc.array(fc.record({ createdAt: fc.integer({ min: 0, max: 100 }), busy: fc.boolean() }), { maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 80 }),
        (sessions, reads) => {
          let t = 0
          const store = new BoundedSessionStore<number, { busy: boolean }>({
            maxSessions: 1000,
            maxAgeMs: 101, // none is past it at the reads (t = 100)
            idleTtlMs: 10_000,
            sweepIntervalMs: 0,
            now: () => t,
            isBusy: (s) => s.busy,
          })
          const removed: Array<[number, string]> = []
          store.on('remove', (k, _v, reason) => removed.push([k, reason]))
          // Created in order of creation time, then read in any order (at the last time), so
          // that old and young sessions interleave in recency.
          const byCreation = sessions.map((s, k) => ({ ...s, k })).sort((a, b) => a.createdAt - b.createdAt)
          for (const s of byCreation) {
            t = s.createdAt
            store.set(s.k, { busy: s.busy })
          }
          t = 100
          for (const r of reads) if (sessions.length > 0) store.touch(r % sessions.length)
          t = 150
          const expected = sessions.flatMap((s, k) => (150 - s.createdAt >= 101 && !s.busy ? [k] : []))
          expect(store.sweep()).toBe(expected.length)
          expect(removed.map(([k]) => k).sort((a, b) => a - b)).toEqual(expected)
          expect(removed.every(([, reason]) => reason === 'max-age')).toBe(true)
          expect([...store.keys()].sort((a, b) => a - b)).toEqual(sessions.flatMap((_s, k) => (expected.includes(k) ? [] : [k])))
          expect(store.size).toBe(sessions.length - expected.length)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('settling an overflow', () => {
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

})
