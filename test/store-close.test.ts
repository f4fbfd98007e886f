import { spawnSync } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  BoundedSessionStore,
  RingBufferHistory,
  StoreClosedError,
  type BoundedSessionStoreOptions,
  type RemovalReason,
} from '../src/index.js'
import { session, setupStore, type TestSession } from './helpers/store.js'

// Guarantee 5: close() stops the timer, disposes every session with 'close', resolves after every
// async dispose settled; from the call on, adding methods throw StoreClosedError and reads keep working. A process with an
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
    const evicted: Array<[string, RemovalReason]> = []
    store.on('remove', (key, _value, reason) => evicted.push([key, reason]))
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
    ['set', (s: BoundedSessionStore<string, Session>) => s.set('a', session('a'))],
    ['getOrCreate', (s: BoundedSessionStore<string, Session>) => s.getOrCreate('a', (k) => session(k))],
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

  it('afterwards getOrCreateAsync rejects with StoreClosedError without calling create', async () => {
    const { store } = setup()
    await store.close()
    const create = vi.fn((k: string) => session(k))
    await expect(store.getOrCreateAsync('a', create)).rejects.toMatchObject({ code: 'ERR_STORE_CLOSED' })
    expect(create).not.toHaveBeenCalled()
  })

  it('afterwards the reading methods work and see what is left: nothing', async () => {
    const { store } = setup()
    store.set('a', session('a'))
    const lease = store.acquire('a')
    await store.close()
    expect(store.get('a')).toBeUndefined()
    expect(store.peek('a')).toBeUndefined()
    expect(store.has('a')).toBe(false)
    expect(store.touch('a')).toBe(false)
    expect(store.acquire('a')).toBeUndefined()
    expect(store.isBusy('a')).toBe(false)
    expect([...store]).toEqual([])
    expect(store.size).toBe(0)
    expect(store.stats().removed.close).toBe(1)
    expect(store.sweep()).toBe(0)
    expect(() => lease?.release()).not.toThrow()
  })

  it('while disposes run, reads see the sessions that are left and adds throw', () => {
    const seen: Array<[string, boolean, number]> = []
    const { store } = setup({
      dispose: (_v, key) => {
        seen.push([key, store.has('b'), store.size])
        return new Promise<void>(() => {})
      },
    })
    store.set('a', session('a')).set('b', session('b'))
    void store.close()
    // Every session is out before the first dispose runs.
    expect(seen).toEqual([
      ['a', false, 0],
      ['b', false, 0],
    ])
    expect(() => store.set('c', session('c'))).toThrow(StoreClosedError)
    expect(store.get('a')).toBeUndefined()
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
    expect(() => store.set('a', session('a'))).toThrow(StoreClosedError)
  })

  it('`await using` closes the store at the end of the block', async () => {
    const disposed: Array<[string, RemovalReason]> = []
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
    expect(leaked?.has('a')).toBe(false)
    expect(() => leaked?.set('a', session('a'))).toThrow(StoreClosedError)
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
