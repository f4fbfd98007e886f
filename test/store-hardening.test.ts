import { spawnSync } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { BoundedSessionStore, RingBufferHistory, SESSION_OVERHEAD_BYTES } from '../src/index.js'
import { session, setupStore, type TestSession } from './helpers/store.js'

// What a hostile test battery found in the store (issue 17), kept as regression tests: each
// failed before its fix.

const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('a set of the same value under a session past maxAgeMs', () => {
  it('stores it: a get right after the set finds it, and it is not disposed', () => {
    const { store, clock, disposed } = setupStore<TestSession>({ maxAgeMs: 100 })
    const a = session('a')
    store.set('a', a)
    clock.t = 150
    store.set('a', a)
    expect(store.get('a')).toBe(a)
    expect(store.size).toBe(1)
    expect(disposed).toEqual([])
  })

  it('starts its max age again from that set', () => {
    const { store, clock, disposed } = setupStore<TestSession>({ maxAgeMs: 100 })
    const a = session('a')
    store.set('a', a)
    clock.t = 150
    store.set('a', a)
    clock.t = 249
    expect(store.get('a')).toBe(a)
    clock.t = 250
    expect(store.get('a')).toBeUndefined()
    expect(disposed).toEqual([['a', 'max-age']])
  })

  it('a set of the same value before its max age does not extend it', () => {
    const { store, clock } = setupStore<TestSession>({ maxAgeMs: 100 })
    const a = session('a')
    store.set('a', a)
    clock.t = 50
    store.set('a', a)
    clock.t = 100
    expect(store.get('a')).toBeUndefined()
  })
})

describe('size, bytes and stats() with maxAgeMs', () => {
  it('count only the sessions past their time, whatever the creation and recency orders', () => {
    const { store, clock } = setupStore<TestSession>({ maxAgeMs: 100, idleTtlMs: 1000 })
    for (let i = 0; i < 10; i++) {
      clock.t = i * 10
      store.set(`s${i}`, session(`s${i}`))
    }
    // Recency order differs from creation order.
    for (let i = 9; i >= 0; i -= 2) store.get(`s${i}`)
    clock.t = 125 // s0, s1 and s2 are past 100 ms of age
    expect(store.size).toBe(7)
    expect(store.bytes).toBe(7 * SESSION_OVERHEAD_BYTES)
    expect(store.stats()).toMatchObject({ size: 7, bytes: 7 * SESSION_OVERHEAD_BYTES })
    expect([...store.keys()].sort()).toEqual(['s3', 's4', 's5', 's6', 's7', 's8', 's9'])
  })

  it('stay right when the clock goes back, and after many removals', () => {
    const { store, clock } = setupStore<TestSession>({ maxAgeMs: 100, idleTtlMs: 10_000 })
    clock.t = 1000
    store.set('late', session('late'))
    clock.t = 500 // back
    store.set('early', session('early'))
    for (let i = 0; i < 500; i++) {
      store.set(`t${i}`, session(`t${i}`))
      store.delete(`t${i}`)
    }
    clock.t = 1050 // 'early' is 550 ms old, 'late' 50 ms
    expect(store.size).toBe(1)
    expect([...store.keys()]).toEqual(['late'])
  })

  it('a busy session past its max age is live', () => {
    const a = session('a', true)
    const { store, clock } = setupStore<TestSession>({ maxAgeMs: 100, isBusy: (s) => s.busy })
    store.set('a', a).set('b', session('b'))
    clock.t = 100
    expect(store.size).toBe(1)
    a.busy = false
    expect(store.size).toBe(0)
  })
})

describe('over capacity with every session busy', () => {
  it('a get does not ask isBusy of every session again; a sweep, a set, a touch or a release does', () => {
    let calls = 0
    const { store } = setupStore<TestSession>({
      maxSessions: 10,
      isBusy: (s) => {
        calls++
        return s.busy
      },
    })
    for (let i = 0; i < 50; i++) store.set(`s${i}`, session(`s${i}`, true))
    calls = 0
    for (let i = 0; i < 1000; i++) store.get(`s${i % 50}`)
    expect(calls).toBe(0)
    store.sweep()
    expect(calls).toBeGreaterThanOrEqual(40)
    calls = 0
    store.touch('s1')
    expect(calls).toBeGreaterThanOrEqual(40)
  })

  it('the bound is met as soon as the store is told: a session found idle goes', () => {
    const sessions = Array.from({ length: 5 }, (_, i) => session(`s${i}`, true))
    const { store, disposed } = setupStore<TestSession>({ maxSessions: 3, isBusy: (s) => s.busy })
    for (const s of sessions) store.set(s.id, s)
    ;(sessions[0] as TestSession).busy = false
    ;(sessions[1] as TestSession).busy = false
    store.get('s4')
    expect(disposed).toEqual([])
    store.touch('s4')
    expect(disposed).toEqual([
      ['s0', 'capacity'],
      ['s1', 'capacity'],
    ])
    expect(store.size).toBe(3)
  })

  it('a lease released makes the store look again', () => {
    const { store, disposed } = setupStore<TestSession>({ maxSessions: 1 })
    store.set('a', session('a'))
    const lease = store.acquire('a')
    store.set('b', session('b'))
    const leaseB = store.acquire('b')
    expect(disposed).toEqual([])
    store.get('a')
    lease?.release()
    expect(disposed).toEqual([['a', 'capacity']])
    leaseB?.release()
  })
})

describe('disposeTimeoutMs', () => {
  it('refuses 2^31 ms and more (setTimeout would fire at once), naming the field', () => {
    for (const bad of [2 ** 31, 2 ** 40, Number.MAX_VALUE]) {
      expect(() => new BoundedSessionStore({ disposeTimeoutMs: bad })).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_OPTIONS',
          field: 'disposeTimeoutMs',
          message: expect.stringContaining('a positive number up to 2147483647'),
        }),
      )
    }
    expect(() => new BoundedSessionStore({ disposeTimeoutMs: 2 ** 31 - 1, sweepIntervalMs: 0 })).not.toThrow()
  })

  it('is timed by the monotonic clock: a wall clock that goes back keeps no teardown pending', () => {
    const wall = { t: 1_000_000 }
    const mono = { t: 0 }
    const { store } = setupStore<TestSession>({
      now: () => wall.t,
      monotonicNow: () => mono.t,
      disposeTimeoutMs: 100,
      dispose: () => new Promise<void>(() => {}),
    })
    const errors: unknown[] = []
    store.on('error', (e) => errors.push(e))
    store.set('a', session('a'))
    store.delete('a')
    wall.t = 0 // the wall clock goes back a long way
    mono.t = 100
    store.set('a', session('a2'))
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_DISPOSE_TIMEOUT', key: 'a' })])
    store.delete('a')
  })

  it('a monotonic clock that returns garbage is reported, and teardowns are still tracked', async () => {
    let broken = false
    const { store } = setupStore<TestSession>({
      monotonicNow: () => (broken ? Number.NaN : 0),
      dispose: () => Promise.resolve(),
    })
    const errors: unknown[] = []
    store.on('error', (e) => errors.push(e))
    store.set('a', session('a'))
    broken = true
    const removing = store.remove('a')
    expect(store.stats().tearingDown).toBe(1)
    await expect(removing).resolves.toBe(true)
    expect(store.stats().tearingDown).toBe(0)
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_INVALID_CLOCK' })])
  })
})

describe('errors after dispose returns', () => {
  it('a dispose result whose `then` getter throws is reported; the operation that removed it does not throw', () => {
    const { store } = setupStore<TestSession>({
      maxSessions: 1,
      dispose: () =>
        ({
          get then() {
            throw new Error('then getter')
          },
        }) as never,
    })
    const errors: unknown[] = []
    const removed: string[] = []
    store.on('error', (e) => errors.push(e))
    store.on('remove', (key) => removed.push(key))
    store.set('a', session('a'))
    expect(() => store.set('b', session('b'))).not.toThrow()
    expect(removed).toEqual(['a'])
    expect(errors).toEqual([expect.objectContaining({ message: 'then getter' })])
    expect(store.peek('b')?.id).toBe('b')
  })

  it('a wall clock that turns non-finite during delete() leaves the teardown tracked; its rejection is reported', async () => {
    let t = 0
    let turn = false
    const now = () => {
      const reading = t
      // Finite for the reading that delete() starts with, NaN for any later one.
      if (turn) t = Number.NaN
      return reading
    }
    const { store } = setupStore<TestSession>({ now, dispose: () => Promise.reject(new Error('teardown failed')) })
    const errors: unknown[] = []
    store.on('error', (e) => errors.push(e))
    store.set('a', session('a'))
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      turn = true
      expect(store.delete('a')).toBe(true)
      turn = false
      t = 0
      expect(store.stats().tearingDown).toBe(1)
      await settle()
      await settle()
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
    expect(unhandled).toEqual([])
    expect(errors).toEqual([expect.objectContaining({ message: 'teardown failed' })])
  })
})

describe('await store.close() with a dispose that never settles', () => {
  it('keeps the process alive until disposeTimeoutMs, reports the timeout, then exits 0', () => {
    const root = fileURLToPath(new URL('..', import.meta.url))
    const entry = pathToFileURL(fileURLToPath(new URL('../src/index.ts', import.meta.url))).href
    const script = `
      const { BoundedSessionStore } = await import(${JSON.stringify(entry)})
      const store = new BoundedSessionStore({ disposeTimeoutMs: 200, dispose: () => new Promise(() => {}) })
      store.on('error', (error) => console.log('error', error.code))
      store.set('a', {})
      const started = performance.now()
      await store.close()
      console.log('closed', performance.now() - started >= 190)
    `
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(result.signal).toBeNull()
    expect(result.status).toBe(0)
    expect(result.stdout.trim().split('\n')).toEqual(['error ERR_DISPOSE_TIMEOUT', 'closed true'])
  }, 30_000)
})

describe('one create per key', () => {
  it('a sync getOrCreate of a key whose getOrCreateAsync create is in flight throws ERR_SESSION_CREATING and creates nothing', async () => {
    const { store, disposed } = setupStore<TestSession>()
    let finish!: (s: TestSession) => void
    const pending = store.getOrCreateAsync('a', () => new Promise<TestSession>((resolve) => (finish = resolve)))
    await settle()
    const create = (key: string) => session(key)
    expect(() => store.getOrCreate('a', create)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_CREATING', key: 'a' }))
    const made = session('a')
    finish(made)
    expect(await pending).toBe(made)
    expect(store.getOrCreate('a', create)).toBe(made)
    expect(disposed).toEqual([])
  })
})

describe('a RingBufferHistory stored as the session itself', () => {
  it('is weighed and followed as it grows', () => {
    const { store } = setupStore<RingBufferHistory<string>>({ maxBytes: 50_000 })
    const history = new RingBufferHistory<string>()
    store.set('a', history)
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + history.bytes)
    history.push('x'.repeat(100_000))
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + history.bytes)
    expect(store.bytes).toBeGreaterThan(100_000)
  })

  it('is evicted for maxBytes like a session holding it', () => {
    const { store, disposed } = setupStore<RingBufferHistory<string>>({ maxBytes: 60_000 })
    const a = new RingBufferHistory<string>()
    const b = new RingBufferHistory<string>()
    store.set('a', a).set('b', b)
    a.push('x'.repeat(30_000))
    b.push('y'.repeat(30_000))
    expect(disposed).toEqual([['a', 'size']])
  })
})
