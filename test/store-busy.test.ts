import { describe, expect, it } from 'vitest'
import {
  BoundedSessionStore,
  SESSION_OVERHEAD_BYTES,
  type BoundedSessionStoreOptions,
  type OverflowInfo,
} from '../src/index.js'
import { session, setupStore, type TestSession } from './helpers/store.js'

// Guarantees 1 and 2: a busy (isBusy) or leased (acquire) session is never removed by idle,
// max-age, capacity, size or pressure; when the bounds cannot be met because of busy sessions an
// overflow is emitted and the excess goes as soon as they are idle again.

type Session = TestSession

function setup(options: BoundedSessionStoreOptions<string, Session> = {}) {
  const overflows: OverflowInfo[] = []
  const s = setupStore<Session>({ isBusy: (value) => value.busy, ...options })
  s.store.on('overflow', (info) => overflows.push(info))
  return { ...s, overflows }
}

describe('isBusy', () => {
  it('is called with (value, key)', () => {
    const calls: Array<[Session, string]> = []
    const { store, clock } = setup({
      idleTtlMs: 1000,
      isBusy: (v, k) => {
        calls.push([v, k])
        return false
      },
    })
    const a = session('a')
    store.set('a', a)
    clock.t = 1000
    store.sweep()
    expect(calls).toContainEqual([a, 'a'])
  })

  it('a busy session outlives its idle TTL and stays visible', () => {
    const { store, disposed, clock } = setup({ idleTtlMs: 1000 })
    const a = session('a', true)
    store.set('a', a)
    clock.t = 10_000
    expect(store.has('a')).toBe(true)
    expect(store.peek('a')).toBe(a)
    expect([...store.keys()]).toEqual(['a'])
    expect(store.sweep()).toBe(0)
    expect(store.get('a')).toBe(a)
    expect(disposed).toEqual([])
  })

  it('a busy session outlives maxAgeMs; once idle it expires with "max-age"', () => {
    const { store, disposed, clock } = setup({ maxAgeMs: 1000 })
    const a = session('a', true)
    store.set('a', a)
    clock.t = 5000
    expect(store.sweep()).toBe(0)
    expect(store.has('a')).toBe(true)
    a.busy = false
    expect(store.has('a')).toBe(false)
    expect(disposed).toEqual([['a', 'max-age']])
    expect(store.sweep()).toBe(0)
  })

  it('a busy session that turns idle expires by its last read, not by when it stopped being busy', () => {
    const { store, disposed, clock } = setup({ idleTtlMs: 1000 })
    const a = session('a', true)
    store.set('a', a)
    clock.t = 5000
    a.busy = false
    expect(store.has('a')).toBe(false)
    expect(store.get('a')).toBeUndefined()
    expect(disposed).toEqual([['a', 'idle']])
  })

  it('capacity eviction skips busy sessions', () => {
    const { store, disposed } = setup({ maxSessions: 2 })
    store.set('a', session('a', true)).set('b', session('b'))
    store.set('c', session('c'))
    expect(disposed).toEqual([['b', 'capacity']])
    expect([...store.keys()]).toEqual(['c', 'a'])
  })

  it('when every other session is busy the new one is inserted anyway and overflow is emitted', () => {
    const { store, disposed, overflows } = setup({ maxSessions: 2 })
    store.set('a', session('a', true)).set('b', session('b', true))
    const c = session('c')
    store.set('c', c)
    expect(disposed).toEqual([])
    expect(store.peek('c')).toBe(c) // never evicted by its own insertion
    expect(store.size).toBe(3)
    expect(overflows).toHaveLength(1)
    expect(overflows[0]).toEqual({ bound: 'maxSessions', size: 3, bytes: 3 * SESSION_OVERHEAD_BYTES, limit: 2 })
  })

  it.each([
    ['get', (s: BoundedSessionStore<string, Session>) => s.get('c')],
    ['getOrCreate', (s: BoundedSessionStore<string, Session>) => s.getOrCreate('c', (k) => session(k))],
    ['touch', (s: BoundedSessionStore<string, Session>) => (s.touch('c') ? s.peek('c') : undefined)],
    ['acquire', (s: BoundedSessionStore<string, Session>) => s.acquire('c')?.value],
  ])('while over the bound, %s of the only idle session does not dispose the session it returns', (_name, read) => {
    // The host just created c (the worker starts its generator right after); reading it back must
    // not tear it down in the same call.
    const { store, disposed } = setup({ maxSessions: 2 })
    store.set('a', session('a', true)).set('b', session('b', true))
    const c = session('c')
    store.set('c', c)
    expect(read(store)).toBe(c)
    expect(disposed).toEqual([])
    expect(store.peek('c')).toBe(c)
  })

  it('maxSessions: 1 with a busy session: the new session is never evicted by its own insertion', () => {
    const { store, disposed, overflows } = setup({ maxSessions: 1 })
    store.set('a', session('a', true))
    store.getOrCreate('b', (k) => session(k))
    // 'a' was found busy while the store looked for room: that counts as activity.
    expect([...store.keys()]).toEqual(['a', 'b'])
    expect(disposed).toEqual([])
    expect(overflows.map((o) => o.bound)).toEqual(['maxSessions'])
  })

  it('the excess is removed on the next sweep once the busy session is idle', () => {
    const { store, disposed } = setup({ maxSessions: 2 })
    const a = session('a', true)
    store.set('a', a).set('b', session('b', true)).set('c', session('c', true))
    expect(store.size).toBe(3)
    a.busy = false
    expect(store.sweep()).toBe(1)
    expect(disposed).toEqual([['a', 'capacity']])
    expect(store.size).toBe(2)
  })

  it('the excess is removed once the store is told a session may be idle (touch, set, release)', () => {
    const { store, disposed } = setup({ maxSessions: 2 })
    const a = session('a', true)
    store.set('a', a).set('b', session('b', true)).set('c', session('c', true))
    a.busy = false
    // Every session was found busy: a get does not ask isBusy of them all again.
    store.get('c')
    expect(disposed).toEqual([])
    store.touch('b') // (a touch never evicts the session it touches)
    expect(disposed).toEqual([['a', 'capacity']])
    expect(store.size).toBe(2)
  })

  it('over maxSessions with every session busy, a get asks isBusy of none of the others', () => {
    const calls: string[] = []
    const { store } = setup({ maxSessions: 2, isBusy: (s: TestSession, key: string) => (calls.push(key), s.busy) })
    for (const key of ['a', 'b', 'c', 'd']) store.set(key, session(key, true))
    calls.length = 0
    for (let i = 0; i < 10; i++) store.get('a')
    expect(calls).toEqual([])
    const lease = store.acquire('b')
    lease?.release() // a release may have made a session idle: one scan
    expect(calls.length).toBeGreaterThan(0)
  })

  it('the excess is removed on the next operation even when that operation finds an expired session', () => {
    const { store, disposed, clock } = setup({ maxSessions: 1, idleTtlMs: 1000 })
    const a = session('a', true)
    const b = session('b', true)
    store.set('a', a).set('b', b).set('c', session('c', true))
    expect(store.size).toBe(3)
    clock.t = 5000
    a.busy = false
    b.busy = false
    expect(store.get('a')).toBeUndefined() // a expired: removed
    // b, idle again, is over the bound: it goes in the same operation (with its expiry reason)
    expect(disposed).toEqual([
      ['a', 'idle'],
      ['b', 'idle'],
    ])
    expect(store.size).toBe(1)
  })

  it('a busy session is never removed by size; overflow {bound: "maxBytes"}', () => {
    const { store, disposed, overflows } = setup({ maxBytes: 2 * SESSION_OVERHEAD_BYTES })
    const a = session('a', true)
    const b = session('b', true)
    store.set('a', a).set('b', b)
    b.history.push('x'.repeat(100))
    expect(disposed).toEqual([])
    expect(overflows.map((o) => o.bound)).toEqual(['maxBytes'])
    expect(store.bytes).toBeGreaterThan(2 * SESSION_OVERHEAD_BYTES)
    a.busy = false
    store.sweep()
    expect(disposed).toEqual([['a', 'size']])
    expect(store.bytes).toBeLessThanOrEqual(2 * SESSION_OVERHEAD_BYTES)
  })

  it('delete, replace, clear and close do remove busy sessions', async () => {
    const { store, disposed } = setup()
    store.set('a', session('a', true)).set('b', session('b', true)).set('c', session('c', true))
    store.set('d', session('d', true))
    expect(store.delete('a')).toBe(true)
    store.set('b', session('b2', true))
    store.clear()
    store.set('e', session('e', true))
    await store.close()
    expect(disposed.slice(0, 2)).toEqual([
      ['a', 'delete'],
      ['b', 'replace'],
    ])
    expect(disposed.slice(2, 5).sort()).toEqual([
      ['b', 'clear'],
      ['c', 'clear'],
      ['d', 'clear'],
    ])
    expect(disposed.slice(5)).toEqual([['e', 'close']])
  })
})

describe('acquire / lease', () => {
  it('returns a lease with the key and value, counting as a read', () => {
    const { store } = setup()
    const a = session('a')
    store.set('a', a).set('b', session('b'))
    const lease = store.acquire('a')
    expect(lease).toBeDefined()
    expect(lease!.key).toBe('a')
    expect(lease!.value).toBe(a)
    expect([...store.keys()]).toEqual(['a', 'b'])
    expect(store.stats().hits).toBe(1)
  })

  it('returns undefined for an absent key', () => {
    const { store } = setup()
    expect(store.acquire('nope')).toBeUndefined()
    expect(store.stats().misses).toBe(1)
  })

  it('a leased session is never removed by idle TTL, max age or sweep', () => {
    const { store, disposed, clock } = setup({ idleTtlMs: 1000, maxAgeMs: 2000 })
    const a = session('a')
    store.set('a', a)
    const lease = store.acquire('a')!
    clock.t = 100_000
    expect(store.has('a')).toBe(true)
    expect(store.sweep()).toBe(0)
    expect(store.get('a')).toBe(a)
    expect(disposed).toEqual([])
    lease.release()
    // max age is counted from creation: once released the session is expired by age
    expect(store.has('a')).toBe(false)
    store.sweep()
    expect(disposed).toEqual([['a', 'max-age']])
  })

  it('release refreshes the idle time', () => {
    const { store, clock } = setup({ idleTtlMs: 1000 })
    store.set('a', session('a'))
    const lease = store.acquire('a')!
    clock.t = 50_000
    lease.release()
    clock.t = 50_999
    expect(store.has('a')).toBe(true)
    clock.t = 51_000
    expect(store.has('a')).toBe(false)
  })

  it('release makes the session the most recently used', () => {
    const { store } = setup()
    store.set('a', session('a'))
    const lease = store.acquire('a')!
    store.set('b', session('b'))
    expect([...store.keys()]).toEqual(['b', 'a'])
    lease.release()
    expect([...store.keys()]).toEqual(['a', 'b'])
  })

  it('a leased session is skipped by capacity eviction', () => {
    const { store, disposed } = setup({ maxSessions: 2 })
    store.set('a', session('a')).set('b', session('b'))
    const lease = store.acquire('a')!
    store.set('b', store.peek('b')!) // b most recent, a least recent but leased
    store.set('c', session('c'))
    expect(disposed).toEqual([['b', 'capacity']])
    lease.release()
  })

  it('the excess is removed on release', () => {
    const { store, disposed, overflows } = setup({ maxSessions: 1 })
    store.set('a', session('a'))
    const lease = store.acquire('a')!
    store.set('b', session('b', true))
    expect(store.size).toBe(2)
    expect(overflows).toHaveLength(1)
    lease.release()
    // a is released and now idle; b is busy, so a is the only candidate
    expect(disposed).toEqual([['a', 'capacity']])
    expect([...store.keys()]).toEqual(['b'])
  })

  it('on release the released session becomes most recent, so the least recently used idle one goes', () => {
    const { store, disposed } = setup({ maxSessions: 1 })
    store.set('a', session('a'))
    const lease = store.acquire('a')!
    store.set('b', session('b'))
    expect(store.size).toBe(2)
    lease.release()
    expect(disposed).toEqual([['b', 'capacity']])
    expect([...store.keys()]).toEqual(['a'])
  })

  it('any release retries a bound that was exceeded, even when the session stays leased', () => {
    const { store, disposed } = setup({ maxSessions: 1 })
    const a = session('a', true)
    store.set('a', a).set('b', session('b', true)) // over the bound: both busy
    const first = store.acquire('b')!
    store.acquire('b')
    a.busy = false // a may go now; the next operation removes it
    first.release()
    expect(disposed).toEqual([['a', 'capacity']])
    expect([...store.keys()]).toEqual(['b'])
  })

  it('two leases keep the session leased until both are released; releasing one twice is harmless', () => {
    const { store, disposed, clock } = setup({ idleTtlMs: 1000 })
    store.set('a', session('a'))
    const first = store.acquire('a')!
    const second = store.acquire('a')!
    first.release()
    first.release()
    first[Symbol.dispose]()
    clock.t = 10_000
    expect(store.sweep()).toBe(0)
    expect(store.has('a')).toBe(true)
    second.release()
    second.release()
    clock.t = 11_000
    expect(store.sweep()).toBe(1)
    expect(disposed).toEqual([['a', 'idle']])
  })

  it('lease[Symbol.dispose]() releases, so `using` works', () => {
    const { store, disposed, clock } = setup({ idleTtlMs: 1000 })
    const a = session('a')
    store.set('a', a)
    {
      using lease = store.acquire('a')!
      expect(lease.value).toBe(a)
      clock.t = 5000
      expect(store.sweep()).toBe(0)
    }
    clock.t = 5999
    expect(store.sweep()).toBe(0)
    clock.t = 6000
    expect(store.sweep()).toBe(1)
    expect(disposed).toEqual([['a', 'idle']])
  })

  it('lease[Symbol.dispose]() then release() releases only once', () => {
    const { store, clock } = setup({ idleTtlMs: 1000 })
    store.set('a', session('a'))
    const first = store.acquire('a')!
    store.acquire('a')! // held
    first[Symbol.dispose]()
    first.release()
    clock.t = 10_000
    expect(store.has('a')).toBe(true)
  })

  it('a leased session can be deleted; its stale lease never releases a newer session under the key', () => {
    const { store, disposed, clock } = setup({ idleTtlMs: 1000 })
    store.set('a', session('a1'))
    const stale = store.acquire('a')!
    expect(store.delete('a')).toBe(true)
    expect(disposed).toEqual([['a', 'delete']])
    store.set('a', session('a2'))
    const current = store.acquire('a')!
    stale.release()
    clock.t = 10_000
    expect(store.sweep()).toBe(0)
    expect(store.peek('a')?.id).toBe('a2')
    current.release()
    clock.t = 11_000
    expect(store.sweep()).toBe(1)
  })

  it('releasing a lease after the store was cleared or closed is harmless', async () => {
    const { store } = setup()
    store.set('a', session('a'))
    const lease = store.acquire('a')!
    store.clear()
    expect(() => lease.release()).not.toThrow()
    store.set('b', session('b'))
    const lease2 = store.acquire('b')!
    await store.close()
    expect(() => lease2.release()).not.toThrow()
    expect(() => lease2[Symbol.dispose]()).not.toThrow()
  })

  it('a leased session is not removed by size', () => {
    const { store, disposed, overflows } = setup({ maxBytes: SESSION_OVERHEAD_BYTES * 2 })
    const a = session('a')
    store.set('a', a).set('b', session('b', true))
    const lease = store.acquire('a')!
    a.history.push('x'.repeat(200))
    expect(disposed).toEqual([])
    expect(overflows.map((o) => o.bound)).toEqual(['maxBytes'])
    lease.release()
    // released, a is idle again and the only session that may go
    expect(disposed).toEqual([['a', 'size']])
  })
})
