import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  BoundedSessionStore,
  RingBufferHistory,
  type BoundedSessionStoreOptions,
  type RemovalReason,
} from '../src/index.js'
import { setupStore } from './helpers/store.js'

// Guarantee 4: an expired session is never returned by get, peek, has, getOrCreate or
// iteration, even before a sweep removes it. A read of its key (get, peek, has, touch, acquire,
// getOrCreate) disposes it then with 'idle' or 'max-age'; otherwise the next sweep does.

interface Session {
  id: string
  history: RingBufferHistory<string>
}

const setup = (options: BoundedSessionStoreOptions<string, Session> = {}) => setupStore<Session>(options)

const session = (id: string): Session => ({ id, history: new RingBufferHistory<string>() })

afterEach(() => {
  vi.useRealTimers()
})

describe('idle TTL', () => {
  it('defaults to one hour: alive at 3_599_999 ms, expired at 3_600_000 ms', () => {
    const { store, clock } = setup()
    store.set('a', session('a'))
    clock.t = 3_599_999
    expect(store.has('a')).toBe(true)
    clock.t = 3_600_000
    expect(store.has('a')).toBe(false)
  })

  it('expires a session not read for idleTtlMs (now - lastRead >= idleTtlMs)', () => {
    const { store, clock } = setup({ idleTtlMs: 1000 })
    const a = session('a')
    store.set('a', a)
    clock.t = 999
    expect(store.peek('a')).toBe(a)
    clock.t = 1000
    expect(store.peek('a')).toBeUndefined()
  })

  it.each([
    ['get', (s: BoundedSessionStore<string, Session>) => s.get('a')],
    ['touch', (s: BoundedSessionStore<string, Session>) => s.touch('a')],
    ['getOrCreate', (s: BoundedSessionStore<string, Session>) => s.getOrCreate('a', () => session('new'))],
    ['set (same value)', (s: BoundedSessionStore<string, Session>) => s.set('a', s.peek('a')!)],
    ['acquire + release', (s: BoundedSessionStore<string, Session>) => s.acquire('a')!.release()],
  ])('%s refreshes the idle time', (_name, read) => {
    const { store, clock, disposed } = setup({ idleTtlMs: 1000 })
    const a = session('a')
    store.set('a', a)
    clock.t = 900
    read(store)
    clock.t = 1899
    expect(store.peek('a')).toBe(a)
    expect(disposed).toEqual([])
    clock.t = 1900
    expect(store.peek('a')).toBeUndefined()
    expect(disposed).toEqual([['a', 'idle']])
  })

  it.each([
    ['peek', (s: BoundedSessionStore<string, Session>) => s.peek('a')],
    ['has', (s: BoundedSessionStore<string, Session>) => s.has('a')],
    ['keys()', (s: BoundedSessionStore<string, Session>) => [...s.keys()]],
    ['entries()', (s: BoundedSessionStore<string, Session>) => [...s.entries()]],
    ['forEach', (s: BoundedSessionStore<string, Session>) => s.forEach(() => {})],
    ['a push to its history', (s: BoundedSessionStore<string, Session>) => s.peek('a')!.history.push('hi')],
    ['stats()', (s: BoundedSessionStore<string, Session>) => s.stats()],
  ])('%s does not refresh the idle time', (_name, look) => {
    const { store, clock } = setup({ idleTtlMs: 1000 })
    store.set('a', session('a'))
    clock.t = 900
    look(store)
    clock.t = 1000
    expect(store.has('a')).toBe(false)
  })

  it('an expired session is invisible to get, peek, has, touch, acquire and iteration before any sweep', () => {
    const { store, clock } = setup({ idleTtlMs: 1000 })
    store.set('old', session('old'))
    clock.t = 500
    const fresh = session('fresh')
    store.set('fresh', fresh)
    clock.t = 1000
    expect(store.peek('old')).toBeUndefined()
    expect(store.has('old')).toBe(false)
    expect([...store.keys()]).toEqual(['fresh'])
    expect([...store.values()]).toEqual([fresh])
    expect([...store.entries()]).toEqual([['fresh', fresh]])
    expect([...store]).toEqual([['fresh', fresh]])
    const seen: string[] = []
    store.forEach((_v, k) => seen.push(k))
    expect(seen).toEqual(['fresh'])
    expect(store.get('old')).toBeUndefined()
    expect(store.touch('old')).toBe(false)
    expect(store.acquire('old')).toBeUndefined()
  })

  it.each([
    ['peek', (s: BoundedSessionStore<string, Session>) => s.peek('a')],
    ['has', (s: BoundedSessionStore<string, Session>) => s.has('a')],
    ['get', (s: BoundedSessionStore<string, Session>) => s.get('a')],
  ])('%s of an expired session disposes it then, once, with its reason (remove event, lastRemoval)', (_name, read) => {
    for (const [options, reason] of [
      [{ idleTtlMs: 1000 }, 'idle'],
      [{ idleTtlMs: 10_000, maxAgeMs: 1000 }, 'max-age'],
    ] as const) {
      const { store, clock, disposed } = setup(options)
      const removed: Array<[string, RemovalReason]> = []
      store.on('remove', (key, _value, why) => removed.push([key, why]))
      store.set('a', session('a'))
      clock.t = 500
      store.get('a')
      clock.t = 1500
      expect(read(store)).toBeFalsy()
      expect(disposed).toEqual([['a', reason]])
      expect(removed).toEqual([['a', reason]])
      expect(store.lastRemoval('a')).toEqual({ reason, at: 1500 })
      expect(read(store)).toBeFalsy()
      expect(store.sweep()).toBe(0)
      expect(disposed).toHaveLength(1)
    }
  })

  it('iteration, size and stats skip an expired session without removing it; a later sweep disposes it with "idle"', () => {
    const { store, clock, disposed } = setup({ idleTtlMs: 1000 })
    store.set('a', session('a'))
    clock.t = 1000
    expect([...store.keys()]).toEqual([])
    expect(store.size).toBe(0)
    expect(store.stats().size).toBe(0)
    expect(disposed).toEqual([])
    expect(store.sweep()).toBe(1)
    expect(disposed).toEqual([['a', 'idle']])
    expect(store.size).toBe(0)
  })

  it('peek and has of an expired session that is busy leave it in place (it is live)', () => {
    let busy = true
    const { store, clock, disposed } = setup({ idleTtlMs: 1000, isBusy: () => busy })
    const a = session('a')
    store.set('a', a)
    clock.t = 5000
    expect(store.peek('a')).toBe(a)
    expect(store.has('a')).toBe(true)
    expect(disposed).toEqual([])
    busy = false
    expect(store.has('a')).toBe(false)
    expect(disposed).toEqual([['a', 'idle']])
  })

  it('get of an expired session removes it at once with "idle"', () => {
    const { store, clock, disposed } = setup({ idleTtlMs: 1000 })
    store.set('a', session('a'))
    clock.t = 5000
    expect(store.get('a')).toBeUndefined()
    expect(disposed).toEqual([['a', 'idle']])
    expect(store.size).toBe(0)
    expect(store.sweep()).toBe(0)
    expect(disposed).toHaveLength(1)
  })

  it('getOrCreate of an expired session creates a new one and disposes the old with "idle"', () => {
    const { store, clock, disposed } = setup({ idleTtlMs: 1000 })
    const old = session('old')
    store.set('a', old)
    clock.t = 1000
    const create = vi.fn(() => session('new'))
    const got = store.getOrCreate('a', create)
    expect(create).toHaveBeenCalledTimes(1)
    expect(got).not.toBe(old)
    expect(got.id).toBe('new')
    expect(store.get('a')).toBe(got)
    expect(disposed).toEqual([['a', 'idle']])
  })

  it('set over an expired session disposes the old one with its expiry reason, not "replace"', () => {
    const { store, clock, disposed } = setup({ idleTtlMs: 1000 })
    store.set('a', session('old'))
    clock.t = 1000
    store.set('a', session('new'))
    expect(disposed).toEqual([['a', 'idle']])
    expect(store.get('a')?.id).toBe('new')
  })

  it('delete of an expired session removes it with its expiry reason and returns false', () => {
    const { store, clock, disposed } = setup({ idleTtlMs: 1000 })
    store.set('a', session('a'))
    clock.t = 1000
    expect(store.delete('a')).toBe(false)
    expect(disposed).toEqual([['a', 'idle']])
    expect(store.size).toBe(0)
  })

  it('sweep removes every expired session, least recently used first, and returns the count', () => {
    const { store, clock, disposed } = setup({ idleTtlMs: 1000 })
    store.set('a', session('a'))
    store.set('b', session('b'))
    store.set('c', session('c'))
    clock.t = 300
    store.get('a') // order now a, c, b; lastRead a=300, b=0, c=0
    clock.t = 200 + 1000
    expect(store.sweep()).toBe(2)
    expect(disposed).toEqual([
      ['b', 'idle'],
      ['c', 'idle'],
    ])
    expect([...store.keys()]).toEqual(['a'])
    expect(store.size).toBe(1)
  })

  it('sweep with nothing expired removes nothing', () => {
    const { store, clock, disposed } = setup({ idleTtlMs: 1000 })
    store.set('a', session('a'))
    clock.t = 999
    expect(store.sweep()).toBe(0)
    expect(disposed).toEqual([])
    expect(store.size).toBe(1)
  })

  it('a clock that goes backwards expires nothing', () => {
    const { store, clock } = setup({ idleTtlMs: 1000 })
    clock.t = 10_000
    store.set('a', session('a'))
    clock.t = 0
    expect(store.has('a')).toBe(true)
    expect(store.sweep()).toBe(0)
  })
})

describe('maxAgeMs', () => {
  it('expires a session maxAgeMs after creation whatever the activity, with "max-age"', () => {
    const { store, clock, disposed } = setup({ idleTtlMs: 1000, maxAgeMs: 5000 })
    const a = session('a')
    store.set('a', a)
    for (clock.t = 900; clock.t < 5000; clock.t += 900) expect(store.get('a')).toBe(a)
    clock.t = 4999
    expect(store.get('a')).toBe(a)
    clock.t = 5000
    expect(store.peek('a')).toBeUndefined()
    expect(store.has('a')).toBe(false)
    expect(store.get('a')).toBeUndefined()
    expect(disposed).toEqual([['a', 'max-age']])
  })

  it('set of the same value does not restart the age', () => {
    const { store, clock } = setup({ maxAgeMs: 5000 })
    const a = session('a')
    store.set('a', a)
    clock.t = 4000
    store.set('a', a)
    clock.t = 5000
    expect(store.has('a')).toBe(false)
  })

  it('a replacing set starts a new age', () => {
    const { store, clock } = setup({ maxAgeMs: 5000 })
    store.set('a', session('a1'))
    clock.t = 4000
    store.set('a', session('a2'))
    clock.t = 8999
    expect(store.peek('a')?.id).toBe('a2')
    clock.t = 9000
    expect(store.has('a')).toBe(false)
  })

  it('when both limits are reached, the reason is "max-age"', () => {
    const { store, clock, disposed } = setup({ idleTtlMs: 1000, maxAgeMs: 2000 })
    store.set('a', session('a'))
    clock.t = 10_000
    expect(store.sweep()).toBe(1)
    expect(disposed).toEqual([['a', 'max-age']])
  })

  it('sweep reports "idle" and "max-age" per session', () => {
    const { store, clock, disposed } = setup({ idleTtlMs: 1000, maxAgeMs: 3000 })
    store.set('old', session('old'))
    for (clock.t = 900; clock.t < 2500; clock.t += 900) store.get('old') // kept read
    clock.t = 2500
    store.set('idle', session('idle'))
    store.get('old')
    clock.t = 3500 // old: age 3500 >= 3000 → max-age; idle: idle 1000 → idle
    store.sweep()
    expect(disposed).toEqual([
      ['idle', 'idle'],
      ['old', 'max-age'],
    ])
  })
})

describe('durations beyond 2^31 ms', () => {
  it('an idleTtlMs above 2^31 ms (30 days) keeps sessions until then and no longer', () => {
    const ttl = 30 * 24 * 3_600_000 // 2_592_000_000 > 2^31 - 1
    const { store, clock, disposed } = setup({ idleTtlMs: ttl })
    store.set('a', session('a'))
    clock.t = 2 ** 31 + 1
    expect(store.has('a')).toBe(true)
    expect(store.sweep()).toBe(0)
    clock.t = ttl - 1
    expect(store.has('a')).toBe(true)
    clock.t = ttl
    expect(store.has('a')).toBe(false)
    expect(disposed).toEqual([['a', 'idle']])
    expect(store.sweep()).toBe(0)
  })

  it('a maxAgeMs above 2^31 ms works', () => {
    const age = 2 ** 33
    const { store, clock, disposed } = setup({ idleTtlMs: 2 ** 40, maxAgeMs: age })
    store.set('a', session('a'))
    clock.t = age - 1
    expect(store.has('a')).toBe(true)
    clock.t = age
    expect(store.get('a')).toBeUndefined()
    expect(disposed).toEqual([['a', 'max-age']])
  })

  it('starts no timer per session, whatever the TTL (one store timer at most)', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    let t = 0
    const store = new BoundedSessionStore<string, Session>({
      now: () => t,
      idleTtlMs: 2 ** 31 + 5,
      maxAgeMs: 2 ** 32,
    })
    const before = vi.getTimerCount()
    expect(before).toBeLessThanOrEqual(1)
    for (let i = 0; i < 50; i++) store.set(`s${i}`, session(`s${i}`))
    expect(vi.getTimerCount()).toBe(before)
    // A setTimeout(> 2^31 - 1) fires after 1 ms in Node: nothing may expire early.
    vi.advanceTimersByTime(10)
    t = 10
    expect(store.size).toBe(50)
    expect(store.has('s0')).toBe(true)
  })
})

describe('the sweep timer', () => {
  it('sweeps expired sessions every sweepIntervalMs without the host calling sweep()', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const clock = { t: 0 }
    const disposed: Array<[string, RemovalReason]> = []
    const store = new BoundedSessionStore<string, Session>({
      now: () => clock.t,
      idleTtlMs: 1000,
      sweepIntervalMs: 5000,
      dispose: (_v, k, r) => {
        disposed.push([k, r])
      },
    })
    store.set('a', session('a'))
    clock.t = 2000
    vi.advanceTimersByTime(4999)
    expect(disposed).toEqual([])
    vi.advanceTimersByTime(1)
    expect(disposed).toEqual([['a', 'idle']])
    expect(store.size).toBe(0)
  })

  it('sweepIntervalMs: 0 starts no timer', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const store = new BoundedSessionStore<string, Session>({ now: () => 0, sweepIntervalMs: 0 })
    store.set('a', session('a'))
    expect(vi.getTimerCount()).toBe(0)
  })

  it('the default sweepIntervalMs is 60 s', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const clock = { t: 0 }
    const disposed: string[] = []
    const store = new BoundedSessionStore<string, Session>({
      now: () => clock.t,
      idleTtlMs: 1000,
      dispose: (_v, k) => {
        disposed.push(k)
      },
    })
    store.set('a', session('a'))
    clock.t = 1000
    vi.advanceTimersByTime(59_999)
    expect(disposed).toEqual([])
    vi.advanceTimersByTime(1)
    expect(disposed).toEqual(['a'])
  })
})
