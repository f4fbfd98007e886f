import { afterEach, describe, expect, it, vi } from 'vitest'
import { BoundedSessionStore, DisposeTimeoutError, SessionClosingError } from '../src/index.js'
import { session, setupStore, type TestSession } from './helpers/store.js'

// Teardown a host can rely on: remove() resolves when the session's dispose has settled; a key
// whose teardown is still running is reserved (set/getOrCreate throw ERR_SESSION_CLOSING,
// getOrCreateAsync waits); settled(key) waits for one key; disposeTimeoutMs bounds every wait;
// close() is the whole shutdown, whatever a dispose calls meanwhile.

function deferred() {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const later = () => new Promise<void>((resolve) => setImmediate(resolve))

/** A store whose dispose returns a promise the test settles, one per teardown, by key. */
function asyncStore(options: ConstructorParameters<typeof BoundedSessionStore<string, TestSession>>[0] = {}) {
  const teardowns = new Map<string, ReturnType<typeof deferred>>()
  const log: string[] = []
  const { store, clock } = setupStore<TestSession>({
    dispose: (_v, key, reason) => {
      log.push(`start ${key} ${reason}`)
      const d = deferred()
      teardowns.set(key, d)
      return d.promise.then(() => {
        log.push(`end ${key}`)
      })
    },
    ...options,
  })
  return { store, clock, teardowns, log }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('remove()', () => {
  it('resolves once the session’s dispose has settled, with whether a live session was removed', async () => {
    const { store, teardowns, log } = asyncStore()
    store.set('a', session('a'))
    let done: boolean | undefined
    const removing = store.remove('a').then((removed) => (done = removed))
    expect(store.has('a')).toBe(false) // out at once, like delete
    await later()
    expect(done).toBeUndefined()
    teardowns.get('a')?.resolve()
    await removing
    expect(done).toBe(true)
    expect(log).toEqual(['start a delete', 'end a'])
  })

  it('resolves false for an absent key, at once', async () => {
    const { store } = asyncStore()
    await expect(store.remove('zzz')).resolves.toBe(false)
  })

  it('resolves even when the dispose rejects; the rejection is reported as an error', async () => {
    const { store } = setupStore({ dispose: () => Promise.reject(new Error('teardown failed')) })
    const errors: unknown[] = []
    store.on('error', (e, key) => errors.push([(e as Error).message, key]))
    store.set('a', session('a'))
    await expect(store.remove('a')).resolves.toBe(true)
    await later()
    expect(errors).toEqual([['teardown failed', 'a']])
  })

  it('called from a dispose, waits for the teardown it queued', async () => {
    const { store, teardowns, log } = asyncStore()
    let inner: Promise<boolean> | undefined
    store.set('a', session('a')).set('b', session('b'))
    store.once('remove', () => {
      inner = store.remove('b')
    })
    store.delete('a')
    let settledB = false
    void inner?.then(() => (settledB = true))
    teardowns.get('a')?.resolve()
    await later()
    expect(settledB).toBe(false)
    teardowns.get('b')?.resolve()
    await expect(inner).resolves.toBe(true)
    expect(log).toEqual(['start a delete', 'start b delete', 'end a', 'end b'])
  })
})

describe('a key whose teardown is running is reserved', () => {
  it('set and getOrCreate throw SessionClosingError (ERR_SESSION_CLOSING) and store nothing', async () => {
    const { store, teardowns } = asyncStore()
    store.set('a', session('a'))
    store.delete('a')
    const create = vi.fn((k: string) => session(k))
    expect(() => store.set('a', session('a2'))).toThrow(SessionClosingError)
    expect(() => store.getOrCreate('a', create)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_CLOSING', key: 'a' }))
    expect(create).not.toHaveBeenCalled()
    expect(store.size).toBe(0)
    // Other keys are not affected.
    store.set('b', session('b'))
    teardowns.get('a')?.resolve()
    await store.settled('a')
    store.set('a', session('a3'))
    expect(store.peek('a')?.id).toBe('a3')
  })

  it("with whenReserved: 'allow' the new session is stored beside the running teardown", () => {
    const { store, log } = asyncStore({ whenReserved: 'allow' })
    store.set('a', session('a'))
    store.delete('a')
    store.set('a', session('a2'))
    expect(store.peek('a')?.id).toBe('a2')
    expect(log).toEqual(['start a delete'])
  })

  it('a sync dispose reserves nothing once it returned; a dispose may store its own key again', () => {
    const { store, disposed } = setupStore<TestSession>({
      dispose: (v, key, reason) => {
        disposed.push([key, reason])
        if (v.id === 'a') store.set('a', session('a-again'))
      },
    })
    store.set('a', session('a'))
    store.delete('a')
    expect(store.peek('a')?.id).toBe('a-again')
    store.set('a', session('a3'))
    expect(disposed).toEqual([
      ['a', 'delete'],
      ['a', 'replace'],
    ])
  })

  it('an expired session under the key is not a reservation: set is an insert after it departs', async () => {
    const { store, clock, teardowns, log } = asyncStore({ idleTtlMs: 10 })
    const created: string[] = []
    store.on('create', (k, v) => created.push(`${k}:${v.id}`))
    store.set('a', session('a'))
    clock.t = 20
    store.set('a', session('a2'))
    expect(log).toEqual(['start a idle'])
    expect(created).toEqual(['a:a', 'a:a2'])
    expect(store.stats().removed).toMatchObject({ idle: 1, replace: 0 })
    teardowns.get('a')?.resolve()
    await store.settled('a')
  })
})

describe('settled(key)', () => {
  it('resolves at once (after a tick) for a key with no teardown running', async () => {
    const { store } = asyncStore()
    await expect(store.settled('a')).resolves.toBeUndefined()
  })

  it('waits for every teardown under the key, replaced sessions included', async () => {
    const { store, teardowns } = asyncStore()
    store.set('a', session('a1'))
    store.set('a', session('a2')) // a1 is torn down with 'replace'
    const first = teardowns.get('a')
    store.delete('a') // a2 too
    const second = teardowns.get('a')
    let done = false
    const waiting = store.settled('a').then(() => (done = true))
    first?.resolve()
    await later()
    expect(done).toBe(false)
    second?.resolve()
    await waiting
    expect(store.stats().tearingDown).toBe(0)
  })
})

describe('getOrCreateAsync', () => {
  it('returns the live session without calling create, refreshing it as get does', async () => {
    const { store } = asyncStore()
    const a = session('a')
    store.set('a', a)
    const create = vi.fn(async (k: string) => session(k))
    await expect(store.getOrCreateAsync('a', create)).resolves.toBe(a)
    expect(create).not.toHaveBeenCalled()
    expect(store.stats().hits).toBe(1)
  })

  it('awaits an async create and stores its session', async () => {
    const { store } = asyncStore()
    const made = await store.getOrCreateAsync('a', async (k) => {
      await later()
      return session(k)
    })
    expect(store.get('a')).toBe(made)
    expect(store.stats().misses).toBe(1)
  })

  it('waits for the previous session’s teardown before calling create', async () => {
    const { store, teardowns, log } = asyncStore()
    store.set('a', session('a'))
    store.delete('a')
    const getting = store.getOrCreateAsync('a', (k) => {
      log.push('create')
      return session(`${k}-new`)
    })
    await later()
    expect(log).toEqual(['start a delete'])
    teardowns.get('a')?.resolve()
    const fresh = await getting
    expect(log).toEqual(['start a delete', 'end a', 'create'])
    expect(store.peek('a')).toBe(fresh)
  })

  it('concurrent calls for one key share one create', async () => {
    const { store } = asyncStore()
    const create = vi.fn(async (k: string) => {
      await later()
      return session(k)
    })
    const [x, y] = await Promise.all([store.getOrCreateAsync('a', create), store.getOrCreateAsync('a', create)])
    expect(x).toBe(y)
    expect(create).toHaveBeenCalledTimes(1)
  })

  it('a create that rejects leaves the store unchanged, and the next call creates again', async () => {
    const { store } = asyncStore()
    await expect(store.getOrCreateAsync('a', () => Promise.reject(new Error('db down')))).rejects.toThrow('db down')
    expect(store.size).toBe(0)
    await expect(store.getOrCreateAsync('a', (k) => session(k))).resolves.toMatchObject({ id: 'a' })
  })

  it('when the store is closed while create runs, the made session is disposed and the call rejects', async () => {
    const { store, disposed } = setupStore<TestSession>()
    const gate = deferred()
    const getting = store.getOrCreateAsync('a', async (k) => {
      await gate.promise
      return session(k)
    })
    const closing = store.close()
    gate.resolve()
    await expect(getting).rejects.toMatchObject({ code: 'ERR_STORE_CLOSED' })
    await closing
    expect(disposed).toEqual([['a', 'close']])
    expect(store.size).toBe(0)
  })

  it("with whenFull: 'reject' a full store refuses before create runs", async () => {
    const { store } = asyncStore({ maxSessions: 1, whenFull: 'reject' })
    store.set('x', session('x'))
    const create = vi.fn((k: string) => session(k))
    await expect(store.getOrCreateAsync('a', create)).rejects.toMatchObject({ code: 'ERR_SESSION_LIMIT' })
    expect(create).not.toHaveBeenCalled()
  })
})

describe('disposeTimeoutMs', () => {
  it('defaults to 30 s: close() stops waiting for a dispose that never settles and reports ERR_DISPOSE_TIMEOUT', async () => {
    vi.useFakeTimers()
    const store = new BoundedSessionStore<string, TestSession>({ sweepIntervalMs: 0, dispose: () => new Promise<void>(() => {}) })
    const errors: unknown[] = []
    store.on('error', (e, key) => errors.push([e, key]))
    store.set('a', session('a'))
    let closed = false
    const closing = store.close().then(() => (closed = true))
    await vi.advanceTimersByTimeAsync(29_999)
    expect(closed).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    await closing
    expect(closed).toBe(true)
    expect(errors).toHaveLength(1)
    const [error, key] = errors[0] as [DisposeTimeoutError, string]
    expect(error).toBeInstanceOf(DisposeTimeoutError)
    expect(error).toMatchObject({ code: 'ERR_DISPOSE_TIMEOUT', key: 'a', timeoutMs: 30_000 })
    expect(key).toBe('a')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('remove() and settled() stop waiting too, and the key is no longer reserved', async () => {
    vi.useFakeTimers()
    const { store } = setupStore<TestSession>({ now: () => Date.now(), disposeTimeoutMs: 1000, dispose: () => new Promise<void>(() => {}) })
    const errors: unknown[] = []
    store.on('error', (e) => errors.push(e))
    store.set('a', session('a'))
    let done = false
    const removing = store.remove('a').then(() => (done = true))
    await vi.advanceTimersByTimeAsync(999)
    expect(done).toBe(false)
    expect(() => store.set('a', session('a2'))).toThrow(SessionClosingError)
    await vi.advanceTimersByTimeAsync(1)
    await removing
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_DISPOSE_TIMEOUT' })])
    store.set('a', session('a2'))
    expect(store.peek('a')?.id).toBe('a2')
  })

  it('a key whose teardown is past its deadline by the monotonic clock is free even before the timer runs', () => {
    const mono = { t: 0 }
    const { store, clock } = setupStore<TestSession>({
      monotonicNow: () => mono.t,
      disposeTimeoutMs: 100,
      dispose: () => new Promise<void>(() => {}),
    })
    const errors: unknown[] = []
    store.on('error', (e) => errors.push(e))
    store.set('a', session('a'))
    store.delete('a')
    mono.t = 99
    expect(() => store.set('a', session('a2'))).toThrow(SessionClosingError)
    mono.t = 100
    store.set('a', session('a2'))
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_DISPOSE_TIMEOUT', key: 'a' })])
    const closing = store.close() // a2's teardown never settles either: close() gives up on it by the deadline
    mono.t = 1000
    clock.t = 1000
    return closing
  })

  it('is validated as a positive finite number', () => {
    for (const bad of [0, -1, Infinity, NaN, '1']) {
      expect(() => new BoundedSessionStore({ disposeTimeoutMs: bad as number })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'disposeTimeoutMs' }),
      )
    }
  })
})

describe('close() is the whole shutdown', () => {
  it('a dispose that calls close() during an eviction leaves no session behind undisposed', async () => {
    const { store, disposed } = setupStore<TestSession>({
      maxSessions: 2,
      dispose: (_v, key, reason) => {
        disposed.push([key, reason])
        if (reason === 'capacity') void store.close()
      },
    })
    store.set('a', session('a')).set('b', session('b'))
    store.set('c', session('c')) // evicts 'a', whose dispose closes the store
    await store.close()
    expect(store.size).toBe(0)
    expect(disposed).toEqual([
      ['a', 'capacity'],
      ['b', 'close'],
      ['c', 'close'],
    ])
    expect(() => store.set('d', session('d'))).toThrow(expect.objectContaining({ code: 'ERR_STORE_CLOSED' }))
  })

  it('a dispose that adds a session during close() is refused, and close() reports it', async () => {
    const { store } = setupStore<TestSession>({
      dispose: (_v, key) => {
        if (key === 'a') store.set('z', session('z'))
      },
    })
    const errors: unknown[] = []
    store.on('error', (e) => errors.push(e))
    store.set('a', session('a'))
    await store.close()
    expect(store.size).toBe(0)
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_STORE_CLOSED' })])
  })

  it('waits for teardowns started before it, within disposeTimeoutMs', async () => {
    const { store, teardowns } = asyncStore()
    store.set('a', session('a')).set('b', session('b'))
    store.delete('a')
    let closed = false
    const closing = store.close().then(() => (closed = true))
    teardowns.get('b')?.resolve()
    await later()
    expect(closed).toBe(false)
    teardowns.get('a')?.resolve()
    await closing
    expect(closed).toBe(true)
  })
})
