import { spawnSync } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  BoundedSessionStore,
  RingBufferHistory,
  StoreClosedError,
  type BoundedSessionStoreOptions,
  type EvictionReason,
} from '../src/index.js'
import { session, setupStore, type TestSession } from './helpers/store.js'

// Guarantee 5: close() stops the timer, disposes every session with 'close', resolves after every
// async dispose settled; afterwards reads and writes throw StoreClosedError. A process with an
// open store exits on its own.

type Session = TestSession

const setup = (options: BoundedSessionStoreOptions<string, Session> = {}) => setupStore<Session>(options)

const flush = () => new Promise<void>((resolve) => setImmediate(resolve))

function deferred() {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('close()', () => {
  it('disposes every session with "close", busy and leased ones included', async () => {
    const { store, disposed } = setup({ isBusy: (v) => v.busy })
    store.set('a', session('a')).set('b', session('b', true)).set('c', session('c'))
    store.acquire('c')
    await store.close()
    expect([...disposed].sort()).toEqual([
      ['a', 'close'],
      ['b', 'close'],
      ['c', 'close'],
    ])
    expect(store.size).toBe(0)
    expect(store.bytes).toBe(0)
  })

  it('emits an evict event with reason "close" for each session', async () => {
    const { store } = setup()
    const evicted: Array<[string, EvictionReason]> = []
    store.on('evict', (key, _value, reason) => evicted.push([key, reason]))
    store.set('a', session('a')).set('b', session('b'))
    await store.close()
    expect([...evicted].sort()).toEqual([
      ['a', 'close'],
      ['b', 'close'],
    ])
  })

  it('resolves only after every async dispose settled', async () => {
    const pending = new Map<string, ReturnType<typeof deferred>>()
    const store = new BoundedSessionStore<string, Session>({
      now: () => 0,
      sweepIntervalMs: 0,
      dispose: (_v, key) => {
        const d = deferred()
        pending.set(key, d)
        return d.promise
      },
    })
    store.set('a', session('a')).set('b', session('b'))
    let closed = false
    const closing = store.close().then(() => {
      closed = true
    })
    await flush()
    expect([...pending.keys()].sort()).toEqual(['a', 'b'])
    expect(closed).toBe(false)
    pending.get('a')!.resolve()
    await flush()
    expect(closed).toBe(false)
    pending.get('b')!.resolve()
    await closing
    expect(closed).toBe(true)
  })

  it('waits for async disposes started before close (a delete whose teardown is still running)', async () => {
    const d = deferred()
    const store = new BoundedSessionStore<string, Session>({
      now: () => 0,
      sweepIntervalMs: 0,
      dispose: (_v, key) => (key === 'slow' ? d.promise : undefined),
    })
    store.set('slow', session('slow'))
    store.delete('slow')
    let closed = false
    const closing = store.close().then(() => {
      closed = true
    })
    await flush()
    expect(closed).toBe(false)
    d.resolve()
    await closing
    expect(closed).toBe(true)
  })

  it('resolves even when a dispose rejects or throws, reporting each through "error"', async () => {
    const store = new BoundedSessionStore<string, Session>({
      now: () => 0,
      sweepIntervalMs: 0,
      dispose: (_v, key) => {
        if (key === 'sync') throw new Error('sync failure')
        return Promise.reject(new Error('async failure'))
      },
    })
    const errors: Array<string | undefined> = []
    store.on('error', (_e, key) => errors.push(key))
    store.set('sync', session('sync')).set('async', session('async')).set('also', session('also'))
    await expect(store.close()).resolves.toBeUndefined()
    expect([...errors].sort()).toEqual(['also', 'async', 'sync'])
    expect(store.size).toBe(0)
  })

  it('returns the same promise when called twice, disposing only once', async () => {
    const { store, disposed } = setup()
    store.set('a', session('a'))
    const first = store.close()
    const second = store.close()
    expect(second).toBe(first)
    await first
    expect(store.close()).toBe(first)
    expect(disposed).toEqual([['a', 'close']])
  })

  it.each([
    ['get', (s: BoundedSessionStore<string, Session>) => s.get('a')],
    ['peek', (s: BoundedSessionStore<string, Session>) => s.peek('a')],
    ['has', (s: BoundedSessionStore<string, Session>) => s.has('a')],
    ['set', (s: BoundedSessionStore<string, Session>) => s.set('a', session('a'))],
    ['getOrCreate', (s: BoundedSessionStore<string, Session>) => s.getOrCreate('a', (k) => session(k))],
    ['touch', (s: BoundedSessionStore<string, Session>) => s.touch('a')],
    ['acquire', (s: BoundedSessionStore<string, Session>) => s.acquire('a')],
  ])('afterwards %s throws StoreClosedError (ERR_STORE_CLOSED)', async (_name, call) => {
    const { store } = setup()
    store.set('a', session('a'))
    await store.close()
    let error: unknown
    try {
      call(store)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(StoreClosedError)
    expect((error as StoreClosedError).code).toBe('ERR_STORE_CLOSED')
  })

  it('methods throw StoreClosedError as soon as close() is called, before disposes settle', () => {
    const { store } = setup({ dispose: () => new Promise<void>(() => {}) })
    store.set('a', session('a'))
    void store.close()
    expect(() => store.set('b', session('b'))).toThrow(StoreClosedError)
    expect(() => store.get('a')).toThrow(StoreClosedError)
  })

  it('afterwards delete returns false and size is 0', async () => {
    const { store } = setup()
    store.set('a', session('a'))
    await store.close()
    expect(store.delete('a')).toBe(false)
    expect(store.delete('zzz')).toBe(false)
    expect(store.size).toBe(0)
  })

  it('getOrCreate after close does not call create', async () => {
    const { store } = setup()
    await store.close()
    const create = vi.fn((k: string) => session(k))
    expect(() => store.getOrCreate('a', create)).toThrow(StoreClosedError)
    expect(create).not.toHaveBeenCalled()
  })

  it('a push to a history of a closed store’s session changes nothing and throws nothing', async () => {
    const { store, disposed } = setup({ maxBytes: 2000 })
    const a = session('a')
    store.set('a', a)
    await store.close()
    expect(() => a.history.push('x'.repeat(5000))).not.toThrow()
    expect(store.bytes).toBe(0)
    expect(disposed).toEqual([['a', 'close']])
  })

  it('[Symbol.asyncDispose]() closes the store', async () => {
    const { store, disposed } = setup()
    store.set('a', session('a'))
    await store[Symbol.asyncDispose]()
    expect(disposed).toEqual([['a', 'close']])
    expect(() => store.get('a')).toThrow(StoreClosedError)
  })

  it('`await using` closes the store at the end of the block', async () => {
    const disposed: Array<[string, EvictionReason]> = []
    let leaked: BoundedSessionStore<string, Session> | undefined
    {
      await using store = new BoundedSessionStore<string, Session>({
        now: () => 0,
        sweepIntervalMs: 0,
        dispose: (_v, key, reason) => {
          disposed.push([key, reason])
        },
      })
      store.set('a', session('a'))
      leaked = store
    }
    expect(disposed).toEqual([['a', 'close']])
    expect(() => leaked?.has('a')).toThrow(StoreClosedError)
  })
})

describe('the sweep timer and process exit', () => {
  const fakeTimers = () =>
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })

  it('a store with the default sweepIntervalMs has one timer; close() leaves none behind', async () => {
    fakeTimers()
    const store = new BoundedSessionStore<string, Session>({ now: () => 0 })
    for (let i = 0; i < 10; i++) store.set(`s${i}`, session(`s${i}`))
    expect(vi.getTimerCount()).toBe(1)
    await store.close()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a Node process with an open store and the default timer exits on its own', () => {
    const root = fileURLToPath(new URL('..', import.meta.url))
    const entry = pathToFileURL(fileURLToPath(new URL('../src/index.ts', import.meta.url))).href
    const script = `
      const { BoundedSessionStore, RingBufferHistory } = await import(${JSON.stringify(entry)})
      const store = new BoundedSessionStore({ idleTtlMs: 2 ** 31 + 10, maxAgeMs: 2 ** 32 })
      for (let i = 0; i < 10; i++) {
        const history = new RingBufferHistory()
        history.push('hello')
        store.set(i, { id: i, history })
      }
      store.acquire(3)
      store.get(1)
      console.log('ready', store.size)
    `
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(result.error).toBeUndefined()
    expect(result.stderr).not.toMatch(/TimeoutOverflowWarning/)
    expect(result.signal).toBeNull() // not killed by the timeout: it exited by itself
    expect(result.status).toBe(0)
    expect(result.stdout.trim()).toBe('ready 10')
  }, 30_000)
})
