import { describe, expect, it } from 'vitest'
import { BoundedSessionStore, SESSION_OVERHEAD_BYTES } from '../src/index.js'
import { session, setupStore, type TestSession } from './helpers/store.js'

// Bounds that mean what a host means: idle time counts from the last activity (a read, being
// found busy by a scan, a lease released); size is what iteration yields; an idle session that
// alone outweighs maxBytes goes first; 'reject' never evicts a live session.

const HOUR = 3_600_000

describe('idle time counts from the last activity', () => {
  it('a session that worked for two hours is not evicted the instant it goes idle', () => {
    const { store, clock, disposed } = setupStore<TestSession>({ idleTtlMs: HOUR, isBusy: (s) => s.busy })
    const worker = session('worker', true)
    store.set('worker', worker)
    // The sweep finds it busy every so often while it works: each time counts as activity.
    for (let t = 0; t <= 2 * HOUR; t += 10 * 60_000) {
      clock.t = t
      store.sweep()
    }
    worker.busy = false
    clock.t = 2 * HOUR + 1
    expect(store.sweep()).toBe(0)
    expect(store.get('worker')).toBe(worker)
    clock.t = 3 * HOUR
    expect(store.peek('worker')).toBe(worker) // read at 2 h + 1 ms: one hour has not passed yet
    clock.t = 4 * HOUR + 1
    expect(store.sweep()).toBe(1)
    expect(disposed).toEqual([['worker', 'idle']])
  })

  it('a session found busy by an eviction scan counts as active and becomes the most recent', () => {
    const { store, clock } = setupStore<TestSession>({ maxSessions: 2, idleTtlMs: 100, isBusy: (s) => s.busy })
    const a = session('a', true)
    store.set('a', a).set('b', session('b'))
    clock.t = 90
    store.set('c', session('c')) // 'a' is met busy first and skipped; 'b' goes
    expect([...store.keys()]).toEqual(['c', 'a'])
    a.busy = false
    clock.t = 150 // 'a' was active at 90, not at 0
    expect(store.has('a')).toBe(true)
  })

  it('releasing a lease counts as activity', () => {
    const { store, clock } = setupStore<TestSession>({ idleTtlMs: 100 })
    store.set('a', session('a'))
    const lease = store.acquire('a')
    clock.t = 500
    lease?.release()
    clock.t = 599
    expect(store.has('a')).toBe(true)
    clock.t = 600
    expect(store.has('a')).toBe(false)
  })
})

describe('size and bytes are what iteration yields', () => {
  it('expired sessions no longer count, even before a sweep', () => {
    const { store, clock } = setupStore<TestSession>({ idleTtlMs: 100 })
    store.set('a', session('a'))
    clock.t = 50
    store.set('b', session('b'))
    clock.t = 120
    expect([...store.keys()]).toEqual(['b'])
    expect(store.size).toBe(1)
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES)
    expect(store.stats()).toMatchObject({ size: 1, bytes: SESSION_OVERHEAD_BYTES })
  })

  it('a busy session past its idle time still counts', () => {
    const { store, clock } = setupStore<TestSession>({ idleTtlMs: 100, isBusy: (s) => s.busy })
    store.set('a', session('a', true))
    clock.t = 1000
    expect(store.size).toBe(1)
  })

  it('with maxAgeMs, a session past its age does not count, whatever its activity', () => {
    const { store, clock } = setupStore<TestSession>({ idleTtlMs: 100, maxAgeMs: 150 })
    store.set('a', session('a'))
    clock.t = 80
    store.set('b', session('b'))
    store.get('a')
    clock.t = 160
    expect(store.size).toBe(1)
    expect([...store.keys()]).toEqual(['b'])
  })

  it('a clock that went back does not hide an expired session from size', () => {
    let t = 1000
    const store = new BoundedSessionStore<string, object>({ idleTtlMs: 100, sweepIntervalMs: 0, now: () => t })
    store.set('a', {})
    t = 0 // back: 'b' is active "before" 'a'
    store.set('b', {})
    t = 1050 // 'b' has expired, 'a' has not
    expect([...store.keys()]).toEqual(['a'])
    expect(store.size).toBe(1)
    expect(store.sweep()).toBe(1)
  })
})

describe('an idle session that alone outweighs maxBytes is removed first', () => {
  const sized = (extra = {}) => setupStore<{ id: string; w: number; busy?: boolean }>({ maxBytes: 1000, sizeOf: (s) => s.w, isBusy: (s) => s.busy === true, ...extra })

  it("for the sessions bound ('evict'): it goes instead of the least recently used", () => {
    const { store, disposed } = sized({ maxSessions: 3 })
    store.set('old', { id: 'old', w: 10 })
    store.set('big', { id: 'big', w: 5000 }) // cannot fit; it stays as the session in use
    store.set('b', { id: 'b', w: 10 }) // the next operation that does not use 'big' removes it
    expect(disposed).toEqual([['big', 'size']])
    store.set('c', { id: 'c', w: 10 })
    expect([...store.keys()]).toEqual(['c', 'b', 'old'])
  })

  it("for 'reject': it goes before a new session is refused", () => {
    const { store, disposed } = sized({ maxSessions: 2, whenFull: 'reject' })
    store.set('a', { id: 'a', w: 10 })
    store.set('big', { id: 'big', w: 5000 })
    store.set('b', { id: 'b', w: 10 })
    expect(disposed).toEqual([['big', 'size']])
    expect([...store.keys()]).toEqual(['b', 'a'])
  })

  it('a busy oversized session stays; the bound is reported as overflowing', () => {
    const { store, disposed } = sized({ maxSessions: 3 })
    const overflows: string[] = []
    store.on('overflow', (info) => overflows.push(info.bound))
    store.set('big', { id: 'big', w: 5000, busy: true })
    store.set('a', { id: 'a', w: 10 })
    expect(disposed).toEqual([])
    expect(overflows).toContain('maxBytes')
    expect(store.has('big')).toBe(true)
  })
})

describe("whenFull: 'reject' never evicts a live session", () => {
  it('not even when a dispose adds a session during a replace', () => {
    const errors: unknown[] = []
    const { store, disposed } = setupStore<TestSession>({
      maxSessions: 2,
      whenFull: 'reject',
      dispose: (v, key, reason) => {
        disposed.push([key, reason])
        if (v.id === 'a1') store.set('c', session('c'))
      },
    })
    store.on('error', (e) => errors.push(e))
    store.set('a', session('a1')).set('b', session('b'))
    store.set('a', session('a2')) // replace: a1's dispose tries to add 'c' to a full store
    expect(disposed).toEqual([['a', 'replace']])
    expect([...store.keys()].sort()).toEqual(['a', 'b'])
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_SESSION_LIMIT' })])
    expect(store.stats().removed.capacity).toBe(0)
  })
})
