import { describe, expect, it, vi } from 'vitest'
import {
  SessionLimitError,
  type BoundedSessionStoreOptions,
} from '../src/index.js'
import { setupStore } from './helpers/store.js'

// maxSessions: least-recently-used eviction ('capacity') or, with whenFull: 'reject', a
// SessionLimitError that evicts nobody.

interface Session {
  id: string
  busy?: boolean
}

const setup = (options: BoundedSessionStoreOptions<string, Session> = {}) => setupStore<Session>(options)

const session = (id: string, busy = false): Session => ({ id, busy })

describe("whenFull: 'evict' (default)", () => {
  it('evicts the least recently used session with "capacity" to make room', () => {
    const { store, disposed } = setup({ maxSessions: 3 })
    store.set('a', session('a')).set('b', session('b')).set('c', session('c'))
    expect(disposed).toEqual([])
    store.set('d', session('d'))
    expect(disposed).toEqual([['a', 'capacity']])
    expect([...store.keys()]).toEqual(['d', 'c', 'b'])
    expect(store.size).toBe(3)
  })

  it('get and touch protect a session from eviction; peek and has do not', () => {
    const { store, disposed } = setup({ maxSessions: 3 })
    store.set('a', session('a')).set('b', session('b')).set('c', session('c'))
    store.get('a')
    store.peek('b')
    store.has('b')
    store.set('d', session('d'))
    expect(disposed).toEqual([['b', 'capacity']])
    store.touch('c')
    store.set('e', session('e'))
    expect(disposed).toEqual([
      ['b', 'capacity'],
      ['a', 'capacity'],
    ])
    expect([...store.keys()]).toEqual(['e', 'c', 'd'])
  })

  it('getOrCreate of a new key also evicts the least recently used', () => {
    const { store, disposed } = setup({ maxSessions: 2 })
    store.set('a', session('a')).set('b', session('b'))
    store.getOrCreate('c', (k) => session(k))
    expect(disposed).toEqual([['a', 'capacity']])
    expect([...store.keys()]).toEqual(['c', 'b'])
  })

  it('never exceeds maxSessions across many inserts', () => {
    const { store, disposed } = setup({ maxSessions: 5 })
    for (let i = 0; i < 100; i++) {
      store.set(`s${i}`, session(`s${i}`))
      expect(store.size).toBeLessThanOrEqual(5)
    }
    expect(disposed).toHaveLength(95)
    expect(disposed.every(([, r]) => r === 'capacity')).toBe(true)
    expect(disposed.map(([k]) => k)).toEqual(Array.from({ length: 95 }, (_, i) => `s${i}`))
  })

  it('defaults to 100 sessions', () => {
    const { store, disposed } = setup()
    for (let i = 0; i < 100; i++) store.set(`s${i}`, session(`s${i}`))
    expect(disposed).toEqual([])
    store.set('s100', session('s100'))
    expect(disposed).toEqual([['s0', 'capacity']])
    expect(store.size).toBe(100)
  })

  it('maxSessions: 1 keeps only the newest session', () => {
    const { store, disposed } = setup({ maxSessions: 1 })
    store.set('a', session('a')).set('b', session('b'))
    expect([...store.keys()]).toEqual(['b'])
    expect(disposed).toEqual([['a', 'capacity']])
  })

  it('replacing the value of an existing key at capacity evicts nobody else', () => {
    const { store, disposed } = setup({ maxSessions: 2 })
    store.set('a', session('a1')).set('b', session('b'))
    store.set('a', session('a2'))
    expect(disposed).toEqual([['a', 'replace']])
    expect([...store.keys()]).toEqual(['a', 'b'])
    expect(store.get('a')?.id).toBe('a2')
  })

  it('an expired least-recently-used session is evicted with its expiry reason', () => {
    const { store, disposed, clock } = setup({ maxSessions: 2, idleTtlMs: 1000 })
    store.set('a', session('a'))
    clock.t = 600
    store.set('b', session('b'))
    clock.t = 1200 // a expired, b not
    store.set('c', session('c'))
    expect(disposed).toEqual([['a', 'idle']])
    expect([...store.keys()]).toEqual(['c', 'b'])
  })

  it('skips busy sessions when choosing whom to evict', () => {
    const { store, disposed } = setup({ maxSessions: 2, isBusy: (v) => v.busy === true })
    store.set('a', session('a', true)).set('b', session('b'))
    store.set('c', session('c'))
    expect(disposed).toEqual([['b', 'capacity']])
    expect([...store.keys()]).toEqual(['c', 'a'])
  })
})

describe("whenFull: 'reject'", () => {
  it('throws SessionLimitError (ERR_SESSION_LIMIT, limit) and evicts nobody', () => {
    const { store, disposed } = setup({ maxSessions: 2, whenFull: 'reject' })
    const a = session('a')
    const b = session('b')
    store.set('a', a).set('b', b)
    store.get('a')
    const created = vi.fn()
    store.on('create', created)
    let error: unknown
    try {
      store.set('c', session('c'))
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(SessionLimitError)
    expect(error).toBeInstanceOf(RangeError)
    expect((error as SessionLimitError).code).toBe('ERR_SESSION_LIMIT')
    expect((error as SessionLimitError).limit).toBe(2)
    expect(disposed).toEqual([])
    expect(created).not.toHaveBeenCalled()
    expect([...store.keys()]).toEqual(['a', 'b'])
    expect(store.has('c')).toBe(false)
    expect(store.peek('a')).toBe(a)
    expect(store.peek('b')).toBe(b)
    expect(store.size).toBe(2)
  })

  it('getOrCreate of a new key throws SessionLimitError too and stores nothing', () => {
    const { store, disposed } = setup({ maxSessions: 1, whenFull: 'reject' })
    store.set('a', session('a'))
    expect(() => store.getOrCreate('b', (k) => session(k))).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_LIMIT' }),
    )
    expect(store.has('b')).toBe(false)
    expect([...store.keys()]).toEqual(['a'])
    expect(disposed).toEqual([])
  })

  it('a flood of new keys never pushes out the existing sessions', () => {
    const { store, disposed } = setup({ maxSessions: 3, whenFull: 'reject' })
    store.set('a', session('a')).set('b', session('b')).set('c', session('c'))
    for (let i = 0; i < 20; i++) expect(() => store.set(`x${i}`, session(`x${i}`))).toThrow(SessionLimitError)
    expect([...store.keys()]).toEqual(['c', 'b', 'a'])
    expect(disposed).toEqual([])
  })

  it('admits a new session after one was deleted', () => {
    const { store } = setup({ maxSessions: 2, whenFull: 'reject' })
    store.set('a', session('a')).set('b', session('b'))
    store.delete('a')
    store.set('c', session('c'))
    expect([...store.keys()]).toEqual(['c', 'b'])
  })

  it('removes expired sessions (with their expiry reason) to make room instead of rejecting', () => {
    const { store, disposed, clock } = setup({ maxSessions: 2, whenFull: 'reject', idleTtlMs: 1000 })
    store.set('a', session('a'))
    clock.t = 500
    store.set('b', session('b'))
    clock.t = 1000 // a expired, b not
    store.set('c', session('c'))
    expect(disposed).toEqual([['a', 'idle']])
    expect([...store.keys()]).toEqual(['c', 'b'])
  })

  it('replacing an existing key never rejects', () => {
    const { store, disposed } = setup({ maxSessions: 2, whenFull: 'reject' })
    store.set('a', session('a1')).set('b', session('b'))
    const a1 = store.peek('a')!
    expect(() => store.set('a', a1)).not.toThrow()
    expect(() => store.set('a', session('a2'))).not.toThrow()
    expect(store.get('a')?.id).toBe('a2')
    expect(disposed).toEqual([['a', 'replace']])
    expect(store.size).toBe(2)
  })

  it('busy sessions count toward the limit', () => {
    const { store } = setup({ maxSessions: 1, whenFull: 'reject', isBusy: (v) => v.busy === true })
    store.set('a', session('a', true))
    expect(() => store.set('b', session('b'))).toThrow(SessionLimitError)
    expect([...store.keys()]).toEqual(['a'])
  })
})
