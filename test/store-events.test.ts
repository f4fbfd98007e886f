import { describe, expect, it, vi } from 'vitest'
import {
  BoundedSessionStore,
  SESSION_OVERHEAD_BYTES,
  type BoundedSessionStoreOptions,
  type RemovalReason,
  type OverflowInfo,
} from '../src/index.js'
import { session, type TestSession } from './helpers/store.js'

// Typed events on the store itself: create, evict, overflow, error; on/off; a throwing listener
// does not corrupt the store.

type Session = TestSession

type Event =
  | ['create', string, string]
  | ['remove', string, string, RemovalReason]
  | ['overflow', OverflowInfo]
  | ['error', unknown, string | undefined]

function setup(options: BoundedSessionStoreOptions<string, Session> = {}) {
  const clock = { t: 0 }
  const events: Event[] = []
  const store = new BoundedSessionStore<string, Session>({
    now: () => clock.t,
    sweepIntervalMs: 0,
    isBusy: (v) => v.busy,
    ...options,
  })
  store.on('create', (key, value) => events.push(['create', key, value.id]))
  store.on('remove', (key, value, reason) => events.push(['remove', key, value.id, reason]))
  store.on('overflow', (info) => events.push(['overflow', info]))
  store.on('error', (error, key) => events.push(['error', error, key]))
  return { store, events, clock }
}

describe('create', () => {
  it('is emitted with (key, value) when a session is inserted by set or getOrCreate', () => {
    const { store, events } = setup()
    store.set('a', session('a'))
    store.getOrCreate('b', (k) => session(k))
    expect(events).toEqual([
      ['create', 'a', 'a'],
      ['create', 'b', 'b'],
    ])
  })

  it('is not emitted by set(key, sameValue), get or a getOrCreate hit', () => {
    const { store, events } = setup()
    const a = session('a')
    store.set('a', a)
    events.length = 0
    store.set('a', a)
    store.get('a')
    store.getOrCreate('a', (k) => session(k))
    expect(events).toEqual([])
  })

  it('replacing a value emits evict (replace) for the old one, then create for the new one', () => {
    const { store, events } = setup()
    store.set('a', session('a1'))
    events.length = 0
    store.set('a', session('a2'))
    expect(events).toEqual([
      ['remove', 'a', 'a1', 'replace'],
      ['create', 'a', 'a2'],
    ])
  })

  it('is emitted after the session is in the store', () => {
    const { store } = setup()
    const seen: Array<[boolean, number]> = []
    store.on('create', (key) => seen.push([store.has(key), store.size]))
    store.set('a', session('a'))
    expect(seen).toEqual([[true, 1]])
  })
})

describe('remove', () => {
  it('is emitted with (key, value, reason) for every departure', async () => {
    const { store, events, clock } = setup({ maxSessions: 2, idleTtlMs: 1000 })
    store.set('a', session('a')).set('b', session('b'))
    store.set('c', session('c')) // capacity: a
    store.delete('b')
    store.set('c', session('c2')) // replace
    clock.t = 1000
    store.sweep() // idle: c2
    store.set('d', session('d'))
    store.clear()
    store.set('e', session('e'))
    await store.close()
    expect(events.filter((e) => e[0] === 'remove')).toEqual([
      ['remove', 'a', 'a', 'capacity'],
      ['remove', 'b', 'b', 'delete'],
      ['remove', 'c', 'c', 'replace'],
      ['remove', 'c', 'c2', 'idle'],
      ['remove', 'd', 'd', 'clear'],
      ['remove', 'e', 'e', 'close'],
    ])
  })

  it('is emitted after the session left the store', () => {
    const { store } = setup()
    const seen: Array<[boolean, number]> = []
    store.on('remove', (key) => seen.push([store.has(key), store.size]))
    store.set('a', session('a')).set('b', session('b'))
    store.delete('a')
    expect(seen).toEqual([[false, 1]])
  })

  it('several removed of one operation are emitted in order of departure (least recently used first)', () => {
    const { store, events, clock } = setup({ idleTtlMs: 1000 })
    store.set('a', session('a'))
    clock.t = 10
    store.set('b', session('b'))
    clock.t = 20
    store.set('c', session('c'))
    clock.t = 5000
    store.sweep()
    expect(events.filter((e) => e[0] === 'remove').map((e) => e[1])).toEqual(['a', 'b', 'c'])
  })
})

describe('overflow', () => {
  it('is emitted with {bound: "maxSessions", size, bytes, limit} when the excess is busy', () => {
    const { store, events } = setup({ maxSessions: 1 })
    store.set('a', session('a', true))
    store.set('b', session('b'))
    const overflows = events.filter((e) => e[0] === 'overflow')
    expect(overflows).toEqual([
      ['overflow', { bound: 'maxSessions', size: 2, bytes: 2 * SESSION_OVERHEAD_BYTES, limit: 1 }],
    ])
  })

  it('is emitted with {bound: "maxBytes"} when a byte bound cannot be met', () => {
    const { store, events } = setup({ maxBytes: SESSION_OVERHEAD_BYTES + 10 })
    const a = session('a')
    store.set('a', a)
    a.history.push('x'.repeat(100))
    const overflows = events.filter((e) => e[0] === 'overflow')
    expect(overflows).toEqual([
      ['overflow', { bound: 'maxBytes', size: 1, bytes: SESSION_OVERHEAD_BYTES + 216, limit: SESSION_OVERHEAD_BYTES + 10 }],
    ])
  })

  it('is not emitted when the bound can be met', () => {
    const { store, events } = setup({ maxSessions: 1, maxBytes: 10 * SESSION_OVERHEAD_BYTES })
    for (let i = 0; i < 5; i++) store.set(`s${i}`, session(`s${i}`))
    expect(events.filter((e) => e[0] === 'overflow')).toEqual([])
  })
})

describe('error', () => {
  it('is emitted with (error, key) for a dispose that throws', () => {
    const boom = new Error('boom')
    const { store, events } = setup({
      dispose: () => {
        throw boom
      },
    })
    store.set('a', session('a'))
    store.delete('a')
    expect(events.filter((e) => e[0] === 'error')).toEqual([['error', boom, 'a']])
  })

  it('is emitted with (error, key) for a dispose that rejects', async () => {
    const boom = new Error('boom')
    const { store, events } = setup({ dispose: () => Promise.reject(boom) })
    store.set('a', session('a'))
    store.delete('a')
    await new Promise<void>((resolve) => setImmediate(resolve))
    expect(events.filter((e) => e[0] === 'error')).toEqual([['error', boom, 'a']])
  })
})

describe('on / off / once', () => {
  it('off removes a listener', () => {
    const { store } = setup()
    const listener = vi.fn()
    store.on('create', listener)
    store.set('a', session('a'))
    store.off('create', listener)
    store.set('b', session('b'))
    expect(listener).toHaveBeenCalledTimes(1)
  })

  it('on returns the store, once fires once', () => {
    const { store } = setup()
    const listener = vi.fn()
    expect(store.once('create', listener)).toBe(store)
    store.set('a', session('a'))
    store.set('b', session('b'))
    expect(listener).toHaveBeenCalledTimes(1)
    expect(listener).toHaveBeenCalledWith('a', expect.objectContaining({ id: 'a' }))
  })

  it('removeAllListeners stops every event', () => {
    const { store, events } = setup()
    store.removeAllListeners()
    store.set('a', session('a'))
    store.delete('a')
    expect(events).toEqual([])
  })
})

describe('a throwing listener', () => {
  it('on create: the error reaches the caller, the session is stored and the store keeps working', () => {
    const { store } = setup({ maxSessions: 2 })
    const boom = new Error('listener failed')
    const throwing = () => {
      throw boom
    }
    store.on('create', throwing)
    expect(() => store.set('a', session('a'))).toThrow(boom)
    expect(store.has('a')).toBe(true)
    expect(store.size).toBe(1)
    store.off('create', throwing)
    store.set('b', session('b')).set('c', session('c'))
    expect([...store.keys()]).toEqual(['c', 'b'])
    expect(store.size).toBe(2)
  })

  it('on evict during clear: every event is delivered, every session disposed, then the error propagates', () => {
    const disposed: string[] = []
    const { store } = setup({
      dispose: (_v, key) => {
        disposed.push(key)
      },
    })
    store.set('a', session('a')).set('b', session('b')).set('c', session('c'))
    const seen: string[] = []
    const boom = new Error('listener failed')
    store.on('remove', (key) => {
      seen.push(key)
      if (seen.length === 1) throw boom
    })
    expect(() => store.clear()).toThrow(boom)
    expect([...seen].sort()).toEqual(['a', 'b', 'c'])
    expect([...disposed].sort()).toEqual(['a', 'b', 'c'])
    expect(store.size).toBe(0)
    store.set('d', session('d'))
    expect([...store.keys()]).toEqual(['d'])
  })

  it('on evict during a capacity eviction: the new session is stored, the old one is gone and disposed', () => {
    const disposed: string[] = []
    const { store } = setup({
      maxSessions: 1,
      dispose: (_v, key) => {
        disposed.push(key)
      },
    })
    store.set('a', session('a'))
    store.on('remove', () => {
      throw new Error('listener failed')
    })
    expect(() => store.set('b', session('b'))).toThrow('listener failed')
    expect([...store.keys()]).toEqual(['b'])
    expect(disposed).toEqual(['a'])
    expect(store.size).toBe(1)
  })

  it('on overflow: the store state is complete', () => {
    const { store } = setup({ maxSessions: 1 })
    store.set('a', session('a', true))
    store.on('overflow', () => {
      throw new Error('listener failed')
    })
    expect(() => store.set('b', session('b'))).toThrow('listener failed')
    expect([...store.keys()].sort()).toEqual(['a', 'b'])
  })
})
