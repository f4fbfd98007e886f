import { describe, expect, it } from 'vitest'
import {
  BoundedSessionStore,
  SESSION_OVERHEAD_BYTES,
  type BoundedSessionStoreOptions,
  type RemovalReason,
} from '../src/index.js'
import { session, type TestSession } from './helpers/store.js'

// Guarantees 3 and 6: dispose runs exactly once per departure, with the right reason, after the
// session is out of the store; a dispose that throws or rejects is reported through 'error';
// dispose and listeners may call back into the store.

type Session = TestSession

interface DisposeCall {
  value: Session
  key: string
  reason: RemovalReason
  /** What the store looked like from inside dispose. */
  hadKeyWithThisValue: boolean
  listed: boolean
  size: number
}

function setup(options: BoundedSessionStoreOptions<string, Session> = {}) {
  const clock = { t: 0 }
  const calls: DisposeCall[] = []
  let store!: BoundedSessionStore<string, Session>
  store = new BoundedSessionStore<string, Session>({
    now: () => clock.t,
    sweepIntervalMs: 0,
    isBusy: (v) => v.busy,
    dispose: (value, key, reason) => {
      calls.push({
        value,
        key,
        reason,
        // after close() the store may refuse to be read: then nothing is in it
        hadKeyWithThisValue: attempt(() => store.peek(key) === value, false),
        listed: attempt(() => [...store.values()].includes(value), false),
        size: store.size,
      })
    },
    ...options,
  })
  return { store, calls, clock }
}

function attempt<T>(fn: () => T, fallback: T): T {
  try {
    return fn()
  } catch {
    return fallback
  }
}
const flush = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('dispose is called exactly once per departure with the right reason', () => {
  type Scenario = (
    store: BoundedSessionStore<string, Session>,
    clock: { t: number },
    victim: Session,
  ) => void | Promise<void>
  const scenarios: Array<[RemovalReason, BoundedSessionStoreOptions<string, Session>, Scenario]> = [
    [
      'idle',
      { idleTtlMs: 1000 },
      (store, clock) => {
        clock.t = 1000
        store.sweep()
      },
    ],
    [
      'max-age',
      { maxAgeMs: 1000 },
      (store, clock) => {
        clock.t = 1000
        store.sweep()
      },
    ],
    ['capacity', { maxSessions: 1 }, (store) => void store.set('other', session('other'))],
    [
      'size',
      { maxBytes: SESSION_OVERHEAD_BYTES + 100 },
      (store) => void store.set('other', session('other')),
    ],
    ['pressure', { heapHighWaterBytes: 1 }, (store) => void store.sweep()],
    ['delete', {}, (store) => void store.delete('victim')],
    ['replace', {}, (store) => void store.set('victim', session('replacement'))],
    ['clear', {}, (store) => store.clear()],
    ['close', {}, (store) => store.close()],
  ]

  it.each(scenarios)('%s', async (reason, options, depart) => {
    const { store, calls, clock } = setup(options)
    const victim = session('victim')
    store.set('victim', victim)
    await depart(store, clock, victim)
    const victimCalls = calls.filter((c) => c.value === victim)
    expect(victimCalls).toHaveLength(1)
    expect(victimCalls[0]).toMatchObject({ key: 'victim', reason })
    // it was out of the store when dispose ran
    expect(victimCalls[0]!.hadKeyWithThisValue).toBe(false)
    expect(victimCalls[0]!.listed).toBe(false)
    // and nothing disposes it again
    if (reason !== 'close') {
      clock.t += 10_000_000
      store.sweep()
      store.clear()
    }
    await store.close()
    expect(calls.filter((c) => c.value === victim)).toHaveLength(1)
  })

  it('dispose receives (value, key, reason)', () => {
    const seen: unknown[][] = []
    const store = new BoundedSessionStore<number, { n: number }>({
      now: () => 0,
      sweepIntervalMs: 0,
      dispose: (...args) => {
        seen.push(args)
      },
    })
    const v = { n: 1 }
    store.set(7, v)
    store.delete(7)
    expect(seen).toEqual([[v, 7, 'delete']])
  })

  it('set(key, sameValue) is not a departure', () => {
    const { store, calls } = setup()
    const a = session('a')
    store.set('a', a)
    store.set('a', a)
    store.set('a', a)
    expect(calls).toEqual([])
    expect(store.get('a')).toBe(a)
  })

  it('set(key, otherValue) disposes only the old value, with "replace"', () => {
    const { store, calls } = setup()
    const a1 = session('a1')
    const a2 = session('a2')
    store.set('a', a1)
    store.set('a', a2)
    expect(calls.map((c) => [c.value, c.key, c.reason])).toEqual([[a1, 'a', 'replace']])
    expect(store.get('a')).toBe(a2)
  })

  it('dispose sees the departed session gone and the rest intact (clear)', () => {
    const { store, calls } = setup()
    store.set('a', session('a')).set('b', session('b')).set('c', session('c'))
    store.clear()
    expect(calls).toHaveLength(3)
    expect(new Set(calls.map((c) => c.key))).toEqual(new Set(['a', 'b', 'c']))
    for (const c of calls) {
      expect(c.reason).toBe('clear')
      expect(c.hadKeyWithThisValue).toBe(false)
      expect(c.listed).toBe(false)
    }
  })
})

describe('a dispose that throws or rejects', () => {
  it('a sync throw is reported through "error" with the key; the session is fully removed', () => {
    const boom = new Error('teardown failed')
    const { store } = setup({
      dispose: () => {
        throw boom
      },
    })
    const errors: Array<[unknown, string | undefined]> = []
    store.on('error', (error, key) => errors.push([error, key]))
    const a = session('a')
    store.set('a', a).set('b', session('b'))
    a.history.push('hello')
    expect(() => store.delete('a')).not.toThrow()
    expect(errors).toEqual([[boom, 'a']])
    expect(store.has('a')).toBe(false)
    expect(store.size).toBe(1)
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES)
    expect([...store.keys()]).toEqual(['b'])
    // and the key can be used again
    const a2 = session('a2')
    store.set('a', a2)
    expect(store.get('a')).toBe(a2)
  })

  it('other teardowns of the same operation go on (clear with one failing dispose)', () => {
    const disposed: string[] = []
    const { store } = setup({
      dispose: (_v, key) => {
        disposed.push(key)
        if (key === 'b') throw new Error('b failed')
      },
    })
    const errors: Array<string | undefined> = []
    store.on('error', (_e, key) => errors.push(key))
    store.set('a', session('a')).set('b', session('b')).set('c', session('c'))
    expect(() => store.clear()).not.toThrow()
    expect([...disposed].sort()).toEqual(['a', 'b', 'c'])
    expect(errors).toEqual(['b'])
    expect(store.size).toBe(0)
    expect(store.bytes).toBe(0)
  })

  it('other teardowns go on when several size evictions happen in one operation', () => {
    const disposed: string[] = []
    const { store } = setup({
      maxBytes: 3 * SESSION_OVERHEAD_BYTES,
      dispose: (_v, key) => {
        disposed.push(key)
        throw new Error(`${key} failed`)
      },
    })
    const errors: Array<string | undefined> = []
    store.on('error', (_e, key) => errors.push(key))
    store.set('a', session('a')).set('b', session('b')).set('c', session('c'))
    const big = session('big')
    big.history.push('x'.repeat(400))
    store.set('big', big) // weighs 1024 + 816: two sessions must go
    expect(disposed).toEqual(['a', 'b'])
    expect(errors).toEqual(['a', 'b'])
    expect([...store.keys()]).toEqual(['big', 'c'])
  })

  it('an async rejection is reported through "error" and is not an unhandled rejection', async () => {
    const boom = new Error('async teardown failed')
    const { store } = setup({ dispose: async () => Promise.reject(boom) })
    const errors: Array<[unknown, string | undefined]> = []
    store.on('error', (error, key) => errors.push([error, key]))
    store.set('a', session('a')).set('b', session('b'))
    store.delete('a')
    expect(store.has('a')).toBe(false)
    await flush()
    expect(errors).toEqual([[boom, 'a']])
    expect([...store.keys()]).toEqual(['b'])
  })

  it('a throwing dispose with no error listener does not throw either', () => {
    const { store } = setup({
      dispose: () => {
        throw new Error('nobody listens')
      },
    })
    store.set('a', session('a'))
    expect(() => store.delete('a')).not.toThrow()
    expect(store.size).toBe(0)
  })
})

describe('re-entrant dispose and listeners', () => {
  it('dispose may delete another session', () => {
    const log: Array<[string, RemovalReason]> = []
    let store!: BoundedSessionStore<string, Session>
    store = new BoundedSessionStore<string, Session>({
      now: () => 0,
      sweepIntervalMs: 0,
      dispose: (_v, key, reason) => {
        log.push([key, reason])
        if (key === 'a') expect(store.delete('b')).toBe(true)
      },
    })
    store.set('a', session('a')).set('b', session('b')).set('c', session('c'))
    store.delete('a')
    expect(log).toEqual([
      ['a', 'delete'],
      ['b', 'delete'],
    ])
    expect([...store.keys()]).toEqual(['c'])
    expect(store.size).toBe(1)
  })

  it('dispose may delete its own key again: no second dispose', () => {
    const log: string[] = []
    let store!: BoundedSessionStore<string, Session>
    store = new BoundedSessionStore<string, Session>({
      now: () => 0,
      sweepIntervalMs: 0,
      dispose: (_v, key) => {
        log.push(key)
        expect(store.delete(key)).toBe(false)
      },
    })
    store.set('a', session('a'))
    store.delete('a')
    expect(log).toEqual(['a'])
    expect(store.size).toBe(0)
  })

  it('dispose may get another session (refreshing it)', () => {
    let store!: BoundedSessionStore<string, Session>
    const b = session('b')
    store = new BoundedSessionStore<string, Session>({
      now: () => 0,
      sweepIntervalMs: 0,
      maxSessions: 3,
      dispose: (_v, key) => {
        if (key === 'a') expect(store.get('b')).toBe(b)
      },
    })
    store.set('a', session('a')).set('b', b).set('c', session('c'))
    store.set('d', session('d')) // evicts a; a's dispose reads b
    const keys = [...store.keys()]
    expect([...keys].sort()).toEqual(['b', 'c', 'd'])
    expect(keys.indexOf('b')).toBeLessThan(keys.indexOf('c'))
    expect(store.size).toBe(3)
  })

  it('dispose may re-create the session it tore down (like re-creating it from SQLite)', () => {
    const log: Array<[string, string, RemovalReason]> = []
    let store!: BoundedSessionStore<string, Session>
    store = new BoundedSessionStore<string, Session>({
      now: () => 0,
      sweepIntervalMs: 0,
      dispose: (value, key, reason) => {
        log.push([key, value.id, reason])
        if (value.id === 'a1') store.set(key, session('a2'))
      },
    })
    store.set('a', session('a1')).set('b', session('b'))
    expect(store.delete('a')).toBe(true)
    expect(store.peek('a')?.id).toBe('a2')
    expect(store.size).toBe(2)
    expect(log).toEqual([['a', 'a1', 'delete']])
    store.clear()
    expect(log).toHaveLength(3)
    expect(store.size).toBe(0)
  })

  it('dispose may add a new session while an eviction is under way without breaking the bound', () => {
    const log: Array<[string, RemovalReason]> = []
    let store!: BoundedSessionStore<string, Session>
    let spawned = false
    store = new BoundedSessionStore<string, Session>({
      now: () => 0,
      sweepIntervalMs: 0,
      maxSessions: 2,
      dispose: (_value, key, reason) => {
        log.push([key, reason])
        if (!spawned) {
          spawned = true
          store.set('spawned', session('spawned'))
        }
      },
    })
    store.set('a', session('a')).set('b', session('b'))
    store.set('c', session('c'))
    expect(store.size).toBeLessThanOrEqual(2)
    expect(store.has('c')).toBe(true)
    // every session ever added is either in the store or was disposed exactly once
    const present = new Set(store.keys())
    const gone = log.map(([k]) => k)
    expect(new Set(gone).size).toBe(gone.length)
    for (const k of ['a', 'b', 'c', 'spawned']) expect(present.has(k) !== gone.includes(k)).toBe(true)
  })

  it('an evict listener may call back into the store', () => {
    const { store, calls } = setup()
    store.set('a', session('a')).set('b', session('b')).set('c', session('c'))
    store.on('remove', (key) => {
      if (key === 'a') {
        expect(store.get('a')).toBeUndefined()
        store.delete('b')
        store.set('z', session('z'))
      }
    })
    store.delete('a')
    expect(calls.map((c) => [c.key, c.reason]).sort()).toEqual([
      ['a', 'delete'],
      ['b', 'delete'],
    ])
    expect([...store.keys()]).toEqual(['z', 'c'])
    expect(store.size).toBe(2)
  })

  it('a create listener may read the new session', () => {
    const { store } = setup()
    const seen: Array<Session | undefined> = []
    store.on('create', (key) => seen.push(store.get(key)))
    const a = session('a')
    store.set('a', a)
    expect(seen).toEqual([a])
    expect(store.size).toBe(1)
  })
})

describe('dispose is never called for a session still in the store', () => {
  it('holds across a mixed workload with busy sessions, leases and every kind of removal', async () => {
    const disposedValues = new Set<Session>()
    let store!: BoundedSessionStore<string, Session>
    const violations: string[] = []
    const clock = { t: 0 }
    store = new BoundedSessionStore<string, Session>({
      now: () => clock.t,
      sweepIntervalMs: 0,
      maxSessions: 4,
      idleTtlMs: 50,
      maxAgeMs: 400,
      maxBytes: 5 * SESSION_OVERHEAD_BYTES,
      isBusy: (v) => v.busy,
      dispose: (value, key) => {
        if (disposedValues.has(value)) violations.push(`${key} disposed twice`)
        disposedValues.add(value)
        if (attempt(() => [...store.values()].includes(value), false)) violations.push(`${key} disposed while listed`)
      },
    })
    const all: Session[] = []
    for (let i = 0; i < 300; i++) {
      const key = `k${i % 7}`
      clock.t += (i * 7) % 23
      switch (i % 9) {
        case 0:
        case 1: {
          const s = session(`${key}#${i}`, i % 5 === 0)
          all.push(s)
          store.set(key, s)
          break
        }
        case 2:
          store.get(key)
          break
        case 3:
          store.peek(key)?.history.push('x'.repeat(i * 3))
          break
        case 4: {
          const lease = store.acquire(key)
          if (i % 2 === 0) lease?.release()
          break
        }
        case 5:
          store.delete(key)
          break
        case 6:
          store.sweep()
          break
        case 7: {
          const s = store.peek(key)
          if (s) s.busy = !s.busy
          break
        }
        case 8:
          all.push(store.getOrCreate(key, (k) => session(`${k}#${i}`)))
          break
      }
      for (const v of store.values()) if (disposedValues.has(v)) violations.push(`${v.id} listed after dispose`)
    }
    await store.close()
    expect(violations).toEqual([])
    // after close, every session ever stored was disposed exactly once
    for (const s of all) expect(disposedValues.has(s)).toBe(true)
  })
})
