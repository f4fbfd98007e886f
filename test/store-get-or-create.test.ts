import { describe, expect, it, vi } from 'vitest'
import {
  BoundedSessionStore,
  RingBufferHistory,
  type BoundedSessionStoreOptions,
} from '../src/index.js'
import { setupStore } from './helpers/store.js'

// getOrCreate(key, create): create is called once per miss, and a create that throws leaves the
// store unchanged (guarantee 7).

interface Session {
  id: string
  history: RingBufferHistory<string>
}

function setup(options: BoundedSessionStoreOptions<string, Session> = {}) {
  const events: string[] = []
  const s = setupStore<Session>(options)
  s.store.on('create', (key) => events.push(`create ${key}`))
  s.store.on('remove', (key, _v, reason) => events.push(`evict ${key} ${reason}`))
  return { ...s, events }
}

const session = (id: string): Session => ({ id, history: new RingBufferHistory<string>() })

describe('getOrCreate', () => {
  it('calls create(key) once on a miss, stores and returns its value', () => {
    const { store, events } = setup()
    const create = vi.fn((key: string) => session(key))
    const a = store.getOrCreate('a', create)
    expect(create).toHaveBeenCalledTimes(1)
    expect(create).toHaveBeenCalledWith('a')
    expect(a.id).toBe('a')
    expect(store.peek('a')).toBe(a)
    expect(events).toEqual(['create a'])
  })

  it('does not call create on a hit and returns the stored value', () => {
    const { store } = setup()
    const create = vi.fn((key: string) => session(key))
    const first = store.getOrCreate('a', create)
    const second = store.getOrCreate('a', create)
    const third = store.getOrCreate('a', create)
    expect(create).toHaveBeenCalledTimes(1)
    expect(second).toBe(first)
    expect(third).toBe(first)
  })

  it('a hit refreshes idle time and recency like get', () => {
    const { store, clock } = setup({ idleTtlMs: 1000 })
    const a = store.getOrCreate('a', session)
    store.set('b', session('b'))
    clock.t = 900
    expect(store.getOrCreate('a', session)).toBe(a)
    expect([...store.keys()]).toEqual(['a', 'b'])
    clock.t = 1899
    expect(store.has('a')).toBe(true)
    expect(store.has('b')).toBe(false)
  })

  it('treats stored falsy values as hits', () => {
    const store = new BoundedSessionStore<string, number | null>({ now: () => 0, sweepIntervalMs: 0 })
    const create = vi.fn(() => 0)
    expect(store.getOrCreate('zero', create)).toBe(0)
    expect(store.getOrCreate('zero', create)).toBe(0)
    expect(create).toHaveBeenCalledTimes(1)
    store.set('null', null)
    expect(store.getOrCreate('null', () => 42)).toBeNull()
  })

  it('calls create again after the session left the store', () => {
    const { store } = setup()
    const create = vi.fn((key: string) => session(key))
    const first = store.getOrCreate('a', create)
    store.delete('a')
    const second = store.getOrCreate('a', create)
    expect(create).toHaveBeenCalledTimes(2)
    expect(second).not.toBe(first)
  })

  it('on an expired session: create is called, the old one departs with its reason, the new one is stored', () => {
    const { store, clock, events } = setup({ idleTtlMs: 1000 })
    const old = store.getOrCreate('a', session)
    clock.t = 1000
    const create = vi.fn((key: string) => session(`${key}-new`))
    const fresh = store.getOrCreate('a', create)
    expect(create).toHaveBeenCalledTimes(1)
    expect(fresh).not.toBe(old)
    expect(fresh.id).toBe('a-new')
    expect(store.peek('a')).toBe(fresh)
    expect(events).toEqual(['create a', 'evict a idle', 'create a'])
  })

  it('a create that throws: the error propagates and the store is unchanged', () => {
    const { store, disposed, events } = setup({ maxSessions: 2 })
    const a = session('a')
    const b = session('b')
    store.set('a', a).set('b', b)
    events.length = 0
    const boom = new Error('cannot create')
    expect(() =>
      store.getOrCreate('c', () => {
        throw boom
      }),
    ).toThrow(boom)
    expect([...store.keys()]).toEqual(['b', 'a'])
    expect(store.peek('a')).toBe(a)
    expect(store.peek('b')).toBe(b)
    expect(store.size).toBe(2)
    expect(disposed).toEqual([]) // in particular, nobody was evicted to make room
    expect(events).toEqual([])
    expect(store.has('c')).toBe(false)
  })

  it('a create that throws on an expired key leaves the expired session until later', () => {
    const { store, disposed, clock } = setup({ idleTtlMs: 1000 })
    store.set('a', session('a'))
    clock.t = 1000
    expect(() =>
      store.getOrCreate('a', () => {
        throw new Error('no')
      }),
    ).toThrow('no')
    expect(disposed).toEqual([])
    expect(store.sweep()).toBe(1)
    expect(disposed).toEqual([['a', 'idle']])
  })

  it('a create that throws on an expired key does not change the order of the sessions', () => {
    const { store, disposed, clock } = setup({ idleTtlMs: 1000 })
    store.set('a', session('a'))
    clock.t = 10
    store.set('b', session('b'))
    clock.t = 5000 // both expired; a is the least recently used
    expect(() =>
      store.getOrCreate('a', () => {
        throw new Error('no')
      }),
    ).toThrow('no')
    expect(store.sweep()).toBe(2)
    expect(disposed).toEqual([
      ['a', 'idle'],
      ['b', 'idle'],
    ])
  })

  it('a create that throws a non-Error value propagates it as is', () => {
    const { store } = setup()
    let caught: unknown
    try {
      store.getOrCreate('a', () => {
        throw 'plain string'
      })
    } catch (e) {
      caught = e
    }
    expect(caught).toBe('plain string')
    expect(store.size).toBe(0)
  })

  it('create may read the store', () => {
    const { store } = setup()
    store.set('x', session('x'))
    const got = store.getOrCreate('a', (key) => session(`${key}+${store.get('x')?.id ?? 'none'}`))
    expect(got.id).toBe('a+x')
    expect(store.size).toBe(2)
  })

  it('the created session is never evicted by its own insertion', () => {
    const { store, disposed } = setup({ maxSessions: 1, isBusy: (v) => v.id === 'busy' })
    store.set('busy', session('busy'))
    const a = store.getOrCreate('a', session)
    expect(store.peek('a')).toBe(a)
    expect(disposed).toEqual([])
  })

  it("with whenFull 'reject', a full store refuses a new key before create runs", () => {
    const { store, disposed, clock } = setup({ maxSessions: 2, whenFull: 'reject', idleTtlMs: 1000 })
    store.getOrCreate('a', session)
    store.getOrCreate('b', session)
    const create = vi.fn(session)
    expect(() => store.getOrCreate('c', create)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_LIMIT' }))
    expect(create).not.toHaveBeenCalled() // nothing made, so nothing left undisposed
    expect([...store.keys()]).toEqual(['b', 'a'])
    // Once a session has expired there is room: it goes first, then create runs.
    clock.t = 900
    store.get('b')
    clock.t = 1500
    expect(store.getOrCreate('c', create).id).toBe('c')
    expect(create).toHaveBeenCalledTimes(1)
    expect(disposed).toEqual([['a', 'idle']])
  })
})
