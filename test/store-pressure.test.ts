import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  BoundedSessionStore,
  type BoundedSessionStoreOptions,
  type RemovalReason,
} from '../src/index.js'
import { session, setupStore, type TestSession } from './helpers/store.js'

// heapHighWaterBytes: on each sweep, while the process heap (minus what this sweep already
// evicted) is above it, evict idle sessions least recently used first with 'pressure'.

type Session = TestSession

const setup = (options: BoundedSessionStoreOptions<string, Session> = {}) =>
  setupStore<Session>({ isBusy: (v) => v.busy, ...options })

afterEach(() => {
  vi.useRealTimers()
})

describe('heap pressure', () => {
  it('heapHighWaterBytes: 1 makes a sweep evict every idle session with "pressure", least recently used first', () => {
    const { store, disposed } = setup({ heapHighWaterBytes: 1 })
    store.set('a', session('a')).set('b', session('b')).set('c', session('c'))
    store.get('a') // order a, c, b
    expect(store.sweep()).toBe(3)
    expect(disposed).toEqual([
      ['b', 'pressure'],
      ['c', 'pressure'],
      ['a', 'pressure'],
    ])
    expect(store.size).toBe(0)
  })

  it('never evicts busy or leased sessions', () => {
    const { store, disposed } = setup({ heapHighWaterBytes: 1 })
    store.set('busy', session('busy', true)).set('leased', session('leased')).set('idle', session('idle'))
    const lease = store.acquire('leased')!
    expect(store.sweep()).toBe(1)
    expect(disposed).toEqual([['idle', 'pressure']])
    expect([...store.keys()].sort()).toEqual(['busy', 'leased'])
    lease.release()
    store.peek('busy')!.busy = false
    expect(store.sweep()).toBe(2)
    expect(store.size).toBe(0)
  })

  it('a huge heapHighWaterBytes evicts nobody', () => {
    const { store, disposed } = setup({ heapHighWaterBytes: Number.MAX_SAFE_INTEGER })
    store.set('a', session('a')).set('b', session('b'))
    expect(store.sweep()).toBe(0)
    expect(disposed).toEqual([])
    expect(store.size).toBe(2)
  })

  it('no heapHighWaterBytes (the default) evicts nobody for pressure', () => {
    const { store, disposed } = setup()
    store.set('a', session('a')).set('b', session('b'))
    expect(store.sweep()).toBe(0)
    expect(disposed).toEqual([])
  })

  it('stops once the bytes already evicted bring the heap estimate under the mark', () => {
    // Each session claims 2^31 bytes, more than this test process's heap: evicting one is enough.
    const { store, disposed } = setup({ heapHighWaterBytes: 1, sizeOf: () => 2 ** 31 })
    store.set('a', session('a')).set('b', session('b')).set('c', session('c'))
    expect(store.sweep()).toBe(1)
    expect(disposed).toEqual([['a', 'pressure']])
    expect([...store.keys()]).toEqual(['c', 'b'])
  })

  it('expired sessions go first with their expiry reason, not "pressure"', () => {
    const { store, disposed, clock } = setup({ heapHighWaterBytes: 1, idleTtlMs: 1000 })
    store.set('old', session('old'))
    clock.t = 500
    store.set('fresh', session('fresh'))
    clock.t = 1000
    expect(store.sweep()).toBe(2)
    expect(disposed).toEqual([
      ['old', 'idle'],
      ['fresh', 'pressure'],
    ])
  })

  it('applies only on sweep: get, set and other operations do not evict for pressure', () => {
    const { store, disposed } = setup({ heapHighWaterBytes: 1 })
    store.set('a', session('a')).set('b', session('b'))
    store.get('a')
    store.touch('b')
    store.getOrCreate('c', (k) => session(k))
    store.delete('c')
    expect(disposed).toEqual([['c', 'delete']])
    expect(store.size).toBe(2)
  })

  it('the sweep timer applies it too', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const disposed: Array<[string, RemovalReason]> = []
    const store = new BoundedSessionStore<string, Session>({
      now: () => 0,
      sweepIntervalMs: 1000,
      heapHighWaterBytes: 1,
      dispose: (_v, key, reason) => {
        disposed.push([key, reason])
      },
    })
    store.set('a', session('a'))
    vi.advanceTimersByTime(1000)
    expect(disposed).toEqual([['a', 'pressure']])
  })
})
