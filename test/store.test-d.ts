import { describe, expectTypeOf, it } from 'vitest'
import {
  BoundedSessionStore,
  DisposeTimeoutError,
  InvalidClockError,
  RingBufferHistory,
  SessionClosingError,
  SessionCreatingError,
  SESSION_OVERHEAD_BYTES,
  SessionLimitError,
  StoreClosedError,
  type BoundedSessionStoreOptions,
  type DeleteOptions,
  type RemovalReason,
  type RemovalRecord,
  type SetOptions,
  type OverflowInfo,
  type SessionLease,
  type SessionStoreEvents,
  type SessionStoreStats,
} from '../src/index.js'

interface ActiveSession {
  sessionDbId: number
  generatorPromise: Promise<void> | null
  abortController: AbortController
  conversationHistory: RingBufferHistory<{ role: 'user' | 'assistant'; content: string }>
}

declare const store: BoundedSessionStore<number, ActiveSession>
declare const session: ActiveSession

describe('BoundedSessionStore types', () => {
  it('RemovalReason is the union of the nine reasons', () => {
    expectTypeOf<RemovalReason>().toEqualTypeOf<
      'idle' | 'max-age' | 'capacity' | 'size' | 'pressure' | 'delete' | 'replace' | 'clear' | 'close'
    >()
  })

  it('events are labelled tuples over K and V', () => {
    expectTypeOf<SessionStoreEvents<number, ActiveSession>['create']>().toEqualTypeOf<
      [key: number, value: ActiveSession]
    >()
    expectTypeOf<SessionStoreEvents<number, ActiveSession>['remove']>().toEqualTypeOf<
      [key: number, value: ActiveSession, reason: RemovalReason]
    >()
    expectTypeOf<SessionStoreEvents<number, ActiveSession>['overflow']>().toEqualTypeOf<[info: OverflowInfo]>()
    expectTypeOf<SessionStoreEvents<number, ActiveSession>['error']>().toEqualTypeOf<
      [error: unknown, key: number | undefined]
    >()
  })

  it('listeners get typed arguments', () => {
    store.on('create', (key, value) => {
      expectTypeOf(key).toEqualTypeOf<number>()
      expectTypeOf(value).toEqualTypeOf<ActiveSession>()
    })
    store.on('remove', (key, value, reason) => {
      expectTypeOf(key).toEqualTypeOf<number>()
      expectTypeOf(value).toEqualTypeOf<ActiveSession>()
      expectTypeOf(reason).toEqualTypeOf<RemovalReason>()
    })
    store.on('overflow', (info) => {
      expectTypeOf(info).toEqualTypeOf<OverflowInfo>()
      expectTypeOf(info.bound).toEqualTypeOf<'maxSessions' | 'maxBytes'>()
      expectTypeOf(info.size).toEqualTypeOf<number>()
      expectTypeOf(info.bytes).toEqualTypeOf<number>()
      expectTypeOf(info.limit).toEqualTypeOf<number>()
    })
    store.on('error', (error, key) => {
      expectTypeOf(error).toEqualTypeOf<unknown>()
      expectTypeOf(key).toEqualTypeOf<number | undefined>()
    })
    expectTypeOf(store.on('create', () => {})).toEqualTypeOf(store)
    store.off('create', () => {})
    store.once('remove', () => {})
  })

  it('rejects a wrong event name or a wrongly typed listener', () => {
    // @ts-expect-error: no such event
    store.on('evicted', () => {})
    // @ts-expect-error: no such event
    store.off('dispose', () => {})
    // @ts-expect-error: keys are numbers here
    store.on('create', (key: string) => void key)
    // @ts-expect-error: the reason is an RemovalReason, not a number
    store.on('remove', (_key: number, _value: ActiveSession, reason: number) => void reason)
  })

  it('options are typed over K and V', () => {
    const options: BoundedSessionStoreOptions<number, ActiveSession> = {
      maxSessions: 100,
      idleTtlMs: 3_600_000,
      maxAgeMs: 86_400_000,
      maxBytes: 50_000_000,
      sizeOf: (value, key) => {
        expectTypeOf(value).toEqualTypeOf<ActiveSession>()
        expectTypeOf(key).toEqualTypeOf<number>()
        return 1
      },
      isBusy: (s) => s.generatorPromise !== null,
      dispose: async (value, key, reason) => {
        expectTypeOf(value).toEqualTypeOf<ActiveSession>()
        expectTypeOf(key).toEqualTypeOf<number>()
        expectTypeOf(reason).toEqualTypeOf<RemovalReason>()
        value.abortController.abort()
        await value.generatorPromise
      },
      whenFull: 'reject',
      sweepIntervalMs: 0,
      heapHighWaterBytes: 1_000_000_000,
      now: () => Date.now(),
    }
    new BoundedSessionStore(options)
    new BoundedSessionStore<number, ActiveSession>()
    new BoundedSessionStore<number, ActiveSession>({})
    new BoundedSessionStore<number, ActiveSession>({ dispose: () => {} })
    // @ts-expect-error: whenFull is 'evict' | 'reject'
    new BoundedSessionStore<number, ActiveSession>({ whenFull: 'drop' })
    // @ts-expect-error: unknown option
    new BoundedSessionStore<number, ActiveSession>({ maxSession: 5 })
    // @ts-expect-error: sizeOf returns a number
    new BoundedSessionStore<number, ActiveSession>({ sizeOf: () => 'big' })
    // @ts-expect-error: isBusy returns a boolean
    new BoundedSessionStore<number, ActiveSession>({ isBusy: () => 'yes' })
  })

  it('K and V are inferred from the options', () => {
    const inferred = new BoundedSessionStore({ dispose: (_v: ActiveSession, _k: number) => {} })
    expectTypeOf(inferred).toEqualTypeOf<BoundedSessionStore<number, ActiveSession>>()
  })

  it('methods are typed like a Map over K and V', () => {
    expectTypeOf(store.get(1)).toEqualTypeOf<ActiveSession | undefined>()
    expectTypeOf(store.peek(1)).toEqualTypeOf<ActiveSession | undefined>()
    expectTypeOf(store.has(1)).toEqualTypeOf<boolean>()
    expectTypeOf(store.set(1, session)).toEqualTypeOf(store)
    expectTypeOf(store.getOrCreate(1, (key) => ({ ...session, sessionDbId: key }))).toEqualTypeOf<ActiveSession>()
    expectTypeOf(store.delete(1)).toEqualTypeOf<boolean>()
    expectTypeOf(store.touch(1)).toEqualTypeOf<boolean>()
    expectTypeOf(store.sweep()).toEqualTypeOf<number>()
    expectTypeOf(store.clear()).toEqualTypeOf<void>()
    expectTypeOf(store.close()).toEqualTypeOf<Promise<void>>()
    expectTypeOf(store[Symbol.asyncDispose]()).toEqualTypeOf<Promise<void>>()
    expectTypeOf(store.size).toEqualTypeOf<number>()
    expectTypeOf(store.bytes).toEqualTypeOf<number>()
    expectTypeOf([...store.keys()]).toEqualTypeOf<number[]>()
    expectTypeOf([...store.values()]).toEqualTypeOf<ActiveSession[]>()
    expectTypeOf([...store.entries()]).toEqualTypeOf<Array<[number, ActiveSession]>>()
    expectTypeOf([...store]).toEqualTypeOf<Array<[number, ActiveSession]>>()
    store.forEach((value, key, self) => {
      expectTypeOf(value).toEqualTypeOf<ActiveSession>()
      expectTypeOf(key).toEqualTypeOf<number>()
      expectTypeOf(self).toEqualTypeOf(store)
    })
    for (const [id, s] of store) {
      expectTypeOf(id).toEqualTypeOf<number>()
      expectTypeOf(s).toEqualTypeOf<ActiveSession>()
    }
    // @ts-expect-error: keys are numbers
    store.get('1')
    // @ts-expect-error: values are ActiveSession
    store.set(1, { sessionDbId: 1 })
  })

  it('readonly size and bytes', () => {
    // @ts-expect-error: size is read-only
    store.size = 3
    // @ts-expect-error: bytes is read-only
    store.bytes = 3
  })

  it('acquire returns a lease over K and V', () => {
    const lease = store.acquire(1)
    expectTypeOf(lease).toEqualTypeOf<SessionLease<number, ActiveSession> | undefined>()
    if (lease) {
      expectTypeOf(lease.key).toEqualTypeOf<number>()
      expectTypeOf(lease.value).toEqualTypeOf<ActiveSession>()
      expectTypeOf(lease.release).toEqualTypeOf<() => void>()
      expectTypeOf(lease[Symbol.dispose]).toEqualTypeOf<() => void>()
      expectTypeOf(lease).toExtend<Disposable>()
      // @ts-expect-error: the key is read-only
      lease.key = 2
    }
  })

  it('stats() counts removed by every reason', () => {
    const stats = store.stats()
    expectTypeOf(stats).toEqualTypeOf<SessionStoreStats>()
    expectTypeOf(stats.removed).toEqualTypeOf<Record<RemovalReason, number>>()
    expectTypeOf(stats.size).toEqualTypeOf<number>()
    expectTypeOf(stats.peakSize).toEqualTypeOf<number>()
    expectTypeOf(stats.bytes).toEqualTypeOf<number>()
    expectTypeOf(stats.peakBytes).toEqualTypeOf<number>()
    expectTypeOf(stats.hits).toEqualTypeOf<number>()
    expectTypeOf(stats.misses).toEqualTypeOf<number>()
  })

  it('the store is AsyncDisposable and the errors carry literal codes', () => {
    expectTypeOf(store).toExtend<AsyncDisposable>()
    expectTypeOf(SESSION_OVERHEAD_BYTES).toExtend<number>()
    expectTypeOf<SessionLimitError['code']>().toEqualTypeOf<'ERR_SESSION_LIMIT'>()
    expectTypeOf<SessionLimitError['limit']>().toEqualTypeOf<number>()
    expectTypeOf<StoreClosedError['code']>().toEqualTypeOf<'ERR_STORE_CLOSED'>()
  })

  it('teardown methods: remove, settled, getOrCreateAsync, isBusy', () => {
    expectTypeOf(store.remove(1)).toEqualTypeOf<Promise<boolean>>()
    expectTypeOf(store.settled(1)).toEqualTypeOf<Promise<void>>()
    expectTypeOf(store.isBusy(1)).toEqualTypeOf<boolean>()
    expectTypeOf(store.getOrCreateAsync(1, async () => session)).toEqualTypeOf<Promise<ActiveSession>>()
    expectTypeOf(store.getOrCreateAsync(1, () => session)).toEqualTypeOf<Promise<ActiveSession>>()
    // @ts-expect-error the key type is number
    void store.remove('1')
    // @ts-expect-error create must make a session
    void store.getOrCreateAsync(1, async () => 42)
  })

  it('teardown options and the errors of teardown and clock carry literal codes', () => {
    expectTypeOf<BoundedSessionStoreOptions<number, ActiveSession>['disposeTimeoutMs']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<BoundedSessionStoreOptions<number, ActiveSession>['whenReserved']>().toEqualTypeOf<'reject' | 'allow' | undefined>()
    expectTypeOf<SessionClosingError['code']>().toEqualTypeOf<'ERR_SESSION_CLOSING'>()
    expectTypeOf<DisposeTimeoutError['code']>().toEqualTypeOf<'ERR_DISPOSE_TIMEOUT'>()
    expectTypeOf<DisposeTimeoutError['timeoutMs']>().toEqualTypeOf<number>()
    expectTypeOf<InvalidClockError['code']>().toEqualTypeOf<'ERR_INVALID_CLOCK'>()
    expectTypeOf<SessionStoreStats['errors']>().toEqualTypeOf<number>()
    expectTypeOf<SessionStoreStats['tearingDown']>().toEqualTypeOf<number>()
  })

  it('host reasons (R), lastRemoval, stranded, per-call whenReserved and maxBusyMs', () => {
    type Why = 'generator-exited' | 'deleted-by-request'
    const typed = new BoundedSessionStore<number, ActiveSession, Why>({
      maxBusyMs: 60_000,
      dispose: (_session, _id, reason) => {
        expectTypeOf(reason).toEqualTypeOf<RemovalReason | Why>()
      },
    })
    typed.delete(1, { reason: 'generator-exited' })
    typed.delete(1, { reason: 'delete' })
    void typed.remove(1, { reason: 'deleted-by-request' })
    // @ts-expect-error a reason the store was not declared with
    typed.delete(1, { reason: 'restart' })
    // @ts-expect-error a store without host reasons takes none but 'delete'
    store.delete(1, { reason: 'generator-exited' })
    expectTypeOf(typed.lastRemoval(1)).toEqualTypeOf<RemovalRecord<Why> | undefined>()
    expectTypeOf(store.lastRemoval(1)).toEqualTypeOf<RemovalRecord | undefined>()
    expectTypeOf<RemovalRecord<Why>['reason']>().toEqualTypeOf<RemovalReason | Why>()
    expectTypeOf<RemovalRecord['at']>().toEqualTypeOf<number>()
    expectTypeOf<DeleteOptions<Why>['reason']>().toEqualTypeOf<Why | 'delete' | undefined>()
    typed.on('remove', (_id, _session, reason) => expectTypeOf(reason).toEqualTypeOf<RemovalReason | Why>())
    typed.on('stranded', (id, value, busyForMs) => {
      expectTypeOf(id).toEqualTypeOf<number>()
      expectTypeOf(value).toEqualTypeOf<ActiveSession>()
      expectTypeOf(busyForMs).toEqualTypeOf<number>()
    })
    expectTypeOf<SessionStoreEvents<number, ActiveSession>['stranded']>().toEqualTypeOf<[key: number, value: ActiveSession, busyForMs: number]>()
    expectTypeOf<SetOptions['whenReserved']>().toEqualTypeOf<'reject' | 'allow' | undefined>()
    store.set(1, session, { whenReserved: 'allow' })
    store.getOrCreate(1, () => session, { whenReserved: 'reject' })
    // @ts-expect-error whenReserved takes 'reject' or 'allow'
    store.set(1, session, { whenReserved: 'yes' })
    expectTypeOf<BoundedSessionStoreOptions<number, ActiveSession>['maxBusyMs']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<BoundedSessionStoreOptions<number, ActiveSession>['monotonicNow']>().toEqualTypeOf<(() => number) | undefined>()
    expectTypeOf<SessionCreatingError['code']>().toEqualTypeOf<'ERR_SESSION_CREATING'>()
  })
})
