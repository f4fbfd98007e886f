import { describe, expect, it } from 'vitest'
import {
  BoundedSessionStore,
  SESSION_OVERHEAD_BYTES,
  type BoundedSessionStoreOptions,
  type RemovalReason,
} from '../src/index.js'
import { session, setupStore, type TestSession } from './helpers/store.js'

// stats(): current and peak size and bytes, hits and misses, removed counted by reason.

type Session = TestSession

const REASONS: RemovalReason[] = ['idle', 'max-age', 'capacity', 'size', 'pressure', 'delete', 'replace', 'clear', 'close']
const noRemovals = () => Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<RemovalReason, number>

function setup(options: BoundedSessionStoreOptions<string, Session> = {}) {
  const clock = { t: 0 }
  const store = new BoundedSessionStore<string, Session>({
    now: () => clock.t,
    sweepIntervalMs: 0,
    isBusy: (v) => v.busy,
    ...options,
  })
  return { store, clock }
}

describe('stats()', () => {
  it('starts at zero with every reason present', () => {
    const { store } = setup()
    expect(store.stats()).toEqual({
      size: 0,
      peakSize: 0,
      bytes: 0,
      peakBytes: 0,
      hits: 0,
      misses: 0,
      removed: noRemovals(),
      errors: 0,
      tearingDown: 0,
    })
  })

  it('reports size and bytes, and their peaks', () => {
    const { store } = setup()
    const a = session('a')
    store.set('a', a).set('b', session('b')).set('c', session('c'))
    a.history.push('x'.repeat(100))
    store.delete('b')
    store.delete('c')
    const s = store.stats()
    expect(s.size).toBe(1)
    expect(s.size).toBe(store.size)
    expect(s.peakSize).toBe(3)
    expect(s.bytes).toBe(SESSION_OVERHEAD_BYTES + 216)
    expect(s.bytes).toBe(store.bytes)
    expect(s.peakBytes).toBe(3 * SESSION_OVERHEAD_BYTES + 216)
  })

  it('peakSize records an overflow above maxSessions', () => {
    const { store } = setup({ maxSessions: 1 })
    store.set('a', session('a', true)).set('b', session('b', true))
    store.delete('a')
    expect(store.stats().peakSize).toBe(2)
  })

  it('counts hits and misses of get, getOrCreate and acquire only', () => {
    const { store, clock } = setup({ idleTtlMs: 1000 })
    store.set('a', session('a'))
    store.get('a') // hit
    store.get('nope') // miss
    store.getOrCreate('a', (k) => session(k)) // hit
    store.getOrCreate('b', (k) => session(k)) // miss
    store.acquire('a')?.release() // hit
    store.acquire('nope') // miss
    store.peek('a')
    store.has('a')
    store.touch('a')
    store.peek('nope')
    store.has('nope')
    store.touch('nope')
    ;[...store.keys()]
    expect(store.stats()).toMatchObject({ hits: 3, misses: 3 })
    clock.t = 5000
    store.get('b') // expired: a miss
    expect(store.stats()).toMatchObject({ hits: 3, misses: 4 })
  })

  it('counts removed by reason', async () => {
    const { store, clock } = setup({ maxSessions: 3, idleTtlMs: 1000, maxAgeMs: 3000, maxBytes: 3 * SESSION_OVERHEAD_BYTES + 500 })
    // capacity
    store.set('a', session('a')).set('b', session('b')).set('c', session('c')).set('d', session('d'))
    // size
    const d = store.peek('d')!
    d.history.push('x'.repeat(300))
    // delete, replace
    store.delete('c')
    store.set('d', session('d2'))
    // idle
    store.set('e', session('e'))
    clock.t = 1000
    store.sweep()
    // max-age
    store.set('f', session('f'))
    for (clock.t = 1900; clock.t < 4000; clock.t += 900) store.get('f')
    clock.t = 4000
    store.sweep()
    // clear, close
    store.set('g', session('g'))
    store.clear()
    store.set('h', session('h'))
    await store.close()
    expect(store.stats().removed).toEqual({
      ...noRemovals(),
      capacity: 1,
      size: 1,
      delete: 1,
      replace: 1,
      idle: 2, // d2 and e
      'max-age': 1,
      clear: 1,
      close: 1,
    })
  })

  it('counts pressure removed', () => {
    const { store } = setup({ heapHighWaterBytes: 1 })
    store.set('a', session('a')).set('b', session('b'))
    store.sweep()
    expect(store.stats().removed.pressure).toBe(2)
  })

  it('returns a snapshot that later operations do not change', () => {
    const { store } = setup()
    const before = store.stats()
    store.set('a', session('a'))
    store.get('a')
    store.delete('a')
    expect(before).toEqual({
      size: 0,
      peakSize: 0,
      bytes: 0,
      peakBytes: 0,
      hits: 0,
      misses: 0,
      removed: noRemovals(),
      errors: 0,
      tearingDown: 0,
    })
  })
})

describe('stats() of errors and teardowns', () => {
  it('counts every error reported, with or without an error listener', async () => {
    const warnings: Error[] = []
    const onWarning = (w: Error) => warnings.push(w)
    process.on('warning', onWarning)
    try {
      const { store } = setupStore({
        dispose: () => {
          throw new Error('teardown failed')
        },
      })
      store.set('a', session('a')).set('b', session('b'))
      store.delete('a')
      store.delete('b')
      expect(store.stats().errors).toBe(2)
      await new Promise((resolve) => setImmediate(resolve))
      // One warning per store, whatever the number of errors.
      expect(warnings.filter((w) => (w as { code?: string }).code === 'BOUNDED_SESSION_STORE_ERROR')).toHaveLength(1)
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('counts teardowns still running', async () => {
    let finish!: () => void
    const { store } = setupStore({ dispose: () => new Promise<void>((resolve) => (finish = resolve)) })
    store.set('a', session('a'))
    store.delete('a')
    expect(store.stats().tearingDown).toBe(1)
    finish()
    await store.settled('a')
    expect(store.stats().tearingDown).toBe(0)
  })
})
