import { EventEmitter } from 'eventemitter3'
import { LRUCache } from 'lru-cache'
// InvalidMeasurementError and SessionLimitError are thrown by the seams; imported for the TSDoc links.
import {
  InvalidArgumentError,
  InvalidClockError,
  InvalidMeasurementError,
  SessionClosingError,
  SessionCreatingError,
  SessionLimitError,
  StoreClosedError,
} from '../errors.js'
import { Entry, type IndexKey, SIZE_ONE } from './entry.js'
import { follow, historiesOf, onHistoryResized, weigh } from './history-weights.js'
import { type BoundedSessionStoreOptions, parseOptions, type ResolvedOptions } from './options.js'
import { BusyTracker } from './busy.js'
import { StoreClock } from './clock.js'
import { Eviction } from './eviction.js'
import { Expiry } from './expiry.js'
import { OperationQueue, type Task } from './operation-queue.js'
import { RemovalLog } from './removal-log.js'
import { Teardowns } from './teardowns.js'
import type {
  DeleteOptions,
  RemovalReason,
  RemovalRecord,
  SessionLease,
  SessionStoreEvents,
  SessionStoreStats,
  SetOptions,
} from './types.js'

// How the store keeps its sessions: an LRUCache maps each key to one Entry, and keeps the keys
// in order of activity (every activity moves the session to the most recent end). The cache is
// unbounded (an effectively infinite maxSize, each entry of size 1): the store decides every
// eviction itself, since busy sessions may exceed the bounds.
//
// A removal takes the session out at once (index, bytes, watched histories) and queues its
// teardown; dispose and the events run from that queue once the operation's state is complete
// (lru-cache's disposeAfter discipline), so no loop of the store ever meets a callback that
// changed the store under it.

const WARNING_CODE = 'BOUNDED_SESSION_STORE_ERROR'
function noRemovals(): Record<RemovalReason, number> {
  return { idle: 0, 'max-age': 0, capacity: 0, size: 0, pressure: 0, delete: 0, replace: 0, clear: 0, close: 0 }
}

// The reason a delete gives: 'delete', or the host's own (a string).
function reasonOf(options: { reason?: unknown } | undefined): string {
  const reason = options?.reason
  if (reason === undefined) return 'delete'
  if (typeof reason !== 'string' || reason === '') throw new InvalidArgumentError('reason', reason, 'a non-empty string')
  return reason
}

function isThenable(value: unknown): value is PromiseLike<void> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<void>).then === 'function'
}

/**
 * A drop-in for the `Map` that holds an agent host's sessions, which can never grow without
 * bound: sessions expire when idle or too old, the least recently active idle ones make way when
 * `maxSessions` or `maxBytes` is reached, busy sessions are never torn down, and every session
 * removed gets exactly one `dispose` with its reason, which `remove()` and `close()` let the
 * host await. Built on `lru-cache`.
 *
 * Iteration (`keys`, `values`, `entries`, `for…of`, `forEach`) goes from the most recently
 * active session to the least, skips expired sessions, and refreshes nothing.
 *
 * @typeParam K - the key type
 * @typeParam V - the session type
 * @typeParam R - the host's own removal reasons, given to `delete` and `remove` (none by default)
 *
 * @example
 * ```ts
 * import { BoundedSessionStore } from 'bounded-session'
 *
 * const sessions = new BoundedSessionStore<number, ActiveSession>({
 *   maxSessions: 100,
 *   idleTtlMs: 60 * 60_000,
 *   isBusy: (s) => s.generatorPromise !== null,
 *   dispose: async (s) => {
 *     s.abortController.abort()
 *     await s.generatorPromise
 *   },
 * })
 * sessions.on('remove', (id, _session, reason) => logger.info('SESSION', 'removed', { id, reason }))
 * const session = await sessions.getOrCreateAsync(sessionDbId, loadSession)
 * ```
 */
export class BoundedSessionStore<K, V, R extends string = never> extends EventEmitter<SessionStoreEvents<K, V, R>> {
  static {
    onHistoryResized((store, entry, delta) => (store as BoundedSessionStore<unknown, unknown, string>).#resized(entry, delta))
  }

  readonly #o: ResolvedOptions<K, V>
  readonly #clockSource: StoreClock
  readonly #lru = new LRUCache<IndexKey<K>, Entry<K, V>>({ maxSize: Number.MAX_SAFE_INTEGER })
  readonly #self = new WeakRef(this as BoundedSessionStore<K, V, string>)
  #sweepTimer: ReturnType<typeof setInterval> | undefined

  #closing: Promise<void> | undefined
  // Why the newest removed keys left (a key the store holds again has none: see lastRemoval).
  readonly #removalLog: RemovalLog<K, RemovalReason | R>
  #creating: Map<K, Promise<V>> | undefined
  readonly #ops = new OperationQueue<K, V>(
    (task) => this.#run(task),
    (error) => this.#warn(error),
    () => this.#peaks(),
  )
  readonly #teardowns: Teardowns<K>
  readonly #busyTracker: BusyTracker<K, V>
  readonly #time: Expiry<K, V>
  readonly #evict: Eviction<K, V>
  #removals = 0
  #warned = false
  readonly #stats = { peakSize: 0, peakBytes: 0, hits: 0, misses: 0, errors: 0, removed: noRemovals() }

  /**
   * @param options - bounds and callbacks, see {@link BoundedSessionStoreOptions}
   * @throws {@link InvalidOptionsError} when an option is invalid
   */
  constructor(options?: BoundedSessionStoreOptions<K, V, R>) {
    super()
    const o = parseOptions(options)
    this.#o = {
      maxSessions: o.maxSessions ?? 100,
      idleTtl: o.idleTtlMs ?? 3_600_000,
      maxAge: o.maxAgeMs ?? Infinity,
      maxBytes: o.maxBytes ?? Infinity,
      sizeOf: o.sizeOf as ResolvedOptions<K, V>['sizeOf'],
      isBusy: o.isBusy as ResolvedOptions<K, V>['isBusy'],
      dispose: o.dispose as ResolvedOptions<K, V>['dispose'],
      maxBusy: o.maxBusyMs ?? Infinity,
      disposeTimeout: o.disposeTimeoutMs ?? 30_000,
      reject: o.whenFull === 'reject',
      allowReserved: o.whenReserved === 'allow',
      heapHighWater: o.heapHighWaterBytes ?? Infinity,
      now: o.now as ResolvedOptions<K, V>['now'],
      monotonicNow: o.monotonicNow as ResolvedOptions<K, V>['now'],
    }
    this.#clockSource = new StoreClock(this.#o.now)
    this.#removalLog = new RemovalLog(this.#o.maxSessions)
    this.#busyTracker = new BusyTracker<K, V>(this.#o.isBusy, this.#o.maxBusy, {
      now: () => this.#clockSource.last,
      report: (error, key) => this.#ops.report(error, key),
      stranded: (entry, busyForMs) => {
        if (this.#hears('stranded')) this.#ops.push(['stranded', entry, busyForMs])
      },
    })
    this.#time = new Expiry<K, V>(this.#o.idleTtl, this.#o.maxAge, {
      oldestFirst: () => this.#entries(true),
      live: () => this.#lru.size,
      busy: (entry) => this.#busyTracker.busy(entry),
      take: (entry, reason) => this.#take(entry, reason),
      toFront: (entry) => {
        if (!entry.gone) this.#lru.get(entry.key as IndexKey<K>)
      },
    })
    this.#evict = new Eviction<K, V>(this.#o.maxSessions, this.#o.maxBytes, this.#o.reject, {
      size: () => this.#lru.size,
      oldestFirst: () => this.#entries(true),
      pop: () => this.#lru.pop() as Entry<K, V>,
      busy: (entry) => this.#busyTracker.busy(entry),
      neverBusy: () => this.#busyTracker.never,
      take: (entry, reason, indexed) => this.#take(entry, reason, indexed),
      timeUp: (entry, now) => this.#time.timeUp(entry, now),
      stamp: (entry, now) => this.#time.stamp(entry, now),
      toFront: (entry) => {
        if (!entry.gone) this.#lru.get(entry.key as IndexKey<K>)
      },
      removeExpired: (now) => void this.#time.findExpired(now, true),
      overflow: (info) => {
        if (this.#hears('overflow')) this.#ops.push(['overflow', info])
      },
    })
    this.#teardowns = new Teardowns<K>({
      timeoutMs: this.#o.disposeTimeout,
      now: () => this.#monotonic(),
      report: (error, key) => this.#ops.report(error, key),
      deliver: () => this.#ops.deliver(),
    })
    const interval = o.sweepIntervalMs ?? 60_000
    if (interval > 0) this.#sweepTimer = BoundedSessionStore.#startSweeps(this.#self, interval)
  }

  // The timer holds the store weakly, so a store dropped without close() can still be collected.
  // (A static method: a closure made in the constructor would hold `this`.)
  static #startSweeps<K, V>(store: WeakRef<BoundedSessionStore<K, V, string>>, interval: number): ReturnType<typeof setInterval> {
    const timer = setInterval(() => {
      const self = store.deref()
      if (self === undefined) clearInterval(timer)
      else self.#sweep(false)
    }, interval)
    timer.unref?.()
    return timer
  }

  /** Live sessions held: what iteration yields (expired sessions no sweep has removed yet do not count). */
  get size(): number {
    const size = this.#lru.size
    if (size === 0) return 0
    return size - this.#checked(() => this.#time.countExpired(this.#clock(), false))
  }

  /**
   * Bytes of the live sessions (those `size` counts), as `sizeOf` weighs them; follows their
   * histories as they grow.
   */
  get bytes(): number {
    if (this.#lru.size === 0) return 0
    return this.#evict.bytes - this.#checked(() => this.#time.countExpired(this.#clock(), true))
  }

  /**
   * The live session under `key`, refreshing its idle time and recency. An expired session is
   * removed (reason `idle` or `max-age`) and not returned.
   */
  get(key: K): V | undefined {
    const entry = this.#read(key, this.#clock())
    if (entry === undefined) {
      this.#stats.misses++
      return undefined
    }
    this.#stats.hits++
    return entry.value
  }

  /**
   * Refreshes a session's idle time and recency, as `get` does, and tells the store that sessions
   * may have become idle: a bound that busy sessions kept exceeded is settled again.
   *
   * @returns whether a live session was found
   */
  touch(key: K): boolean {
    const now = this.#clock()
    // A touch says the session changed: a bound that busy sessions kept exceeded is looked at again.
    this.#evict.allBusy = false
    return this.#read(key, now) !== undefined
  }

  /**
   * The live session under `key`, refreshing nothing. An expired session is removed then (reason
   * `idle` or `max-age`, once) and not returned.
   */
  peek(key: K): V | undefined {
    const now = this.#clock()
    const entry = this.#lru.peek(key as IndexKey<K>)
    if (entry === undefined || (this.#time.timeUp(entry, now) !== undefined && this.#checked(() => this.#removeExpired(entry, now)))) {
      return undefined
    }
    return entry.value
  }

  /**
   * Whether a live session is held under `key`. Refreshes nothing; an expired session is removed
   * then (reason `idle` or `max-age`, once).
   */
  has(key: K): boolean {
    const now = this.#clock()
    const entry = this.#lru.peek(key as IndexKey<K>)
    return entry !== undefined && (this.#time.timeUp(entry, now) === undefined || !this.#checked(() => this.#removeExpired(entry, now)))
  }

  /**
   * Stores `value` under `key` as the most recently active session. A different value under the
   * same key replaces the old one, which is disposed with reason `replace`; the same value is
   * only refreshed (and its histories looked up again), even if it had expired. Under a key whose
   * session has expired (and is a different value), it is an insert after the expired session is
   * removed with its expiry reason. Adding a session to a full store evicts the least recently
   * active idle one (reason `capacity`), or throws with `whenFull: 'reject'`.
   *
   * @throws {@link SessionLimitError} with `whenFull: 'reject'` when `maxSessions` live sessions are held
   * @param options - `whenReserved` for this call only
   * @throws {@link SessionClosingError} when no session is under `key` but the teardown of a previous one is still running (unless `whenReserved: 'allow'`)
   * @throws {@link InvalidMeasurementError} when `sizeOf` returns an invalid number (the store is unchanged)
   * @throws {@link StoreClosedError} once `close()` was called
   * @throws {@link InvalidArgumentError} when `options.whenReserved` is not `'reject'` or `'allow'` (the store is unchanged)
   */
  set(key: K, value: V, options?: SetOptions): this {
    this.#assertOpen('set')
    const allowReserved = this.#allowReserved(options)
    const now = this.#clock()
    this.#ops.begin()
    try {
      this.#put(key, value, now, allowReserved)
    } finally {
      this.#ops.end(true)
    }
    return this
  }

  /**
   * The live session under `key` (refreshed, as by `get`), or a new one made by `create(key)`
   * and stored. If `create` throws, the store is unchanged. With `whenFull: 'reject'` and
   * `maxSessions` live sessions held, it throws {@link SessionLimitError} without calling
   * `create`; under a reserved key, {@link SessionClosingError} without calling it.
   *
   * @throws {@link SessionLimitError} with `whenFull: 'reject'` when `maxSessions` live sessions are held
   * @throws {@link SessionClosingError} when the teardown of a previous session under `key` is still running (unless `whenReserved: 'allow'`)
   * @throws {@link SessionCreatingError} when no live session is under `key` and a `getOrCreateAsync` of it is still creating one
   * @throws {@link StoreClosedError} once `close()` was called
   * @example
   * ```ts
   * const session = store.getOrCreate(id, (id) => createSession(id))
   * ```
   */
  getOrCreate(key: K, create: (key: K) => V, options?: SetOptions): V {
    this.#assertOpen('getOrCreate')
    const allowReserved = this.#allowReserved(options)
    const now = this.#clock()
    const found = this.#peekLive(key, now)
    if (found !== undefined) return found.value
    // A dispose run by settling a bound may have closed the store.
    this.#assertOpen('getOrCreate')
    // One create per key: a session made now would be replaced when the async one is stored.
    if (this.#creating !== undefined && this.#creating.has(key)) throw new SessionCreatingError(key)
    this.#stats.misses++
    this.#ops.begin()
    try {
      this.#admit(key, now, allowReserved)
      // create runs before anything else changes, so that if it throws, even an expired session
      // under this key is still in place.
      const value = create(key)
      this.#assertOpen('getOrCreate')
      this.#put(key, value, this.#clock(), allowReserved)
      return value
    } finally {
      this.#ops.end(true)
    }
  }

  /**
   * The live session under `key` (refreshed, as by `get`), or a new one made by `create(key)`,
   * which may be async (loading a session from a database), and stored. If the previous session
   * under `key` is still being torn down, it waits for that teardown (at most `disposeTimeoutMs`)
   * before calling `create`. Concurrent calls for one key share one `create`. If a session was
   * stored under `key` by `set` meanwhile, the created one replaces it. If the store was closed
   * (or filled, with `whenFull: 'reject'`) while `create` ran, the created session is disposed
   * (reason `close` or `capacity`) and the promise rejects.
   *
   * @throws {@link SessionLimitError} with `whenFull: 'reject'` when `maxSessions` live sessions are held
   * @throws {@link StoreClosedError} once `close()` was called
   * @example
   * ```ts
   * const session = await store.getOrCreateAsync(id, (id) => db.loadSession(id))
   * ```
   */
  async getOrCreateAsync(key: K, create: (key: K) => V | Promise<V>): Promise<V> {
    for (;;) {
      this.#assertOpen('getOrCreateAsync')
      const creating = this.#creating?.get(key)
      if (creating !== undefined) return creating
      const found = this.#peekLive(key, this.#clock())
      if (found !== undefined) return found.value
      if (!this.#reserved(key)) break
      await this.settled(key)
    }
    this.#stats.misses++
    const made = (async () => {
      this.#checked(() => this.#admit(key, this.#clock()))
      const value = await create(key)
      while (this.#reserved(key) && this.#closing === undefined) await this.settled(key)
      try {
        this.set(key, value)
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code
        if (code === 'ERR_STORE_CLOSED' || code === 'ERR_SESSION_LIMIT') {
          // The session made for the store could not be stored: it gets its teardown all the same.
          const reason = code === 'ERR_STORE_CLOSED' ? 'close' : 'capacity'
          this.#stats.removed[reason]++
          this.#checked(() => this.#ops.push(['remove', new Entry<K, V>(key, value as V, 0, 0), reason]))
        }
        throw error
      }
      return value
    })()
    const creating = (this.#creating ??= new Map())
    creating.set(key, made)
    try {
      return await made
    } finally {
      if (creating.get(key) === made) creating.delete(key)
    }
  }

  /**
   * Removes the session under `key`, busy or not, and disposes it (reason `delete`). An expired
   * session is disposed with its own reason. Like `Map#delete`, it does not wait for the
   * teardown: see {@link BoundedSessionStore.remove}.
   *
   * @param options - `reason`: the host's own reason, given to `dispose`, the `remove` event and
   * `lastRemoval` instead of `'delete'`
   * @returns whether a live session was removed
   * @throws {@link InvalidArgumentError} when `options.reason` is not a string (nothing is removed)
   * @example
   * ```ts
   * sessions.delete(id, { reason: 'generator-exited' })
   * ```
   */
  delete(key: K, options?: DeleteOptions<R>): boolean {
    const reason = reasonOf(options)
    const entry = this.#lru.peek(key as IndexKey<K>)
    if (entry === undefined) return false
    const now = this.#clock()
    this.#ops.begin()
    try {
      const expiry = this.#time.expired(entry, now, false)
      if (entry.gone) return false
      this.#take(entry, expiry ?? reason)
      if (this.#evict.overflowed) this.#evict.enforce(undefined, now)
      return expiry === undefined
    } finally {
      this.#ops.end(true)
    }
  }

  /**
   * Removes the session under `key` as `delete` does, and resolves once its `dispose` has settled
   * (or `disposeTimeoutMs` has passed): then nothing of the old session runs any more.
   *
   * @param options - `reason`, as for `delete`
   * @returns whether a live session was removed (it rejects with `delete`'s errors)
   * @example
   * ```ts
   * await store.remove(id) // the old session's teardown is over
   * const fresh = await store.getOrCreateAsync(id, load)
   * ```
   */
  remove(key: K, options?: DeleteOptions<R>): Promise<boolean> {
    let removed: boolean
    try {
      removed = this.delete(key, options)
    } catch (error) {
      return this.settled(key).then(() => Promise.reject(error))
    }
    return this.settled(key).then(() => removed)
  }

  /**
   * Resolves once no teardown of a session under `key` is running: every `dispose` promise of a
   * session removed under it has settled or timed out (`disposeTimeoutMs`). Never rejects.
   */
  async settled(key: K): Promise<void> {
    // Teardowns queued by an operation still running (this may be called from a dispose) start
    // before the operation returns, so before this continues.
    await undefined
    await this.#teardowns.settled(key)
  }

  /**
   * Why the session under `key` left the store, and when, for the newest `maxSessions` removals
   * (a key stored again is forgotten): tells an eviction (`'capacity'`, `'idle'`, …) from the
   * host's own `delete` (`'delete'` or its `reason`). `undefined` for a key never removed, stored
   * again since, or removed longer ago.
   *
   * @example
   * ```ts
   * const gone = sessions.lastRemoval(id)
   * if (gone?.reason === 'capacity') resumeFromDatabase(id) // evicted, not a worker restart
   * ```
   */
  lastRemoval(key: K): RemovalRecord<R> | undefined {
    // Storing a key again forgets its removals: every way out of the store records one, so a key
    // not held has its newest removal in the log (or is too old for it).
    if (this.#lru.has(key as IndexKey<K>)) return undefined
    const found = this.#removalLog.find(key)
    return found === undefined ? undefined : { reason: found.reason, at: this.#clockSource.epoch + found.time }
  }

  /**
   * Whether the session under `key` is busy: leased, or busy by `isBusy`, and not stranded (see
   * `maxBusyMs`). `false` when there is no live session under `key`. Refreshes nothing.
   */
  isBusy(key: K): boolean {
    const entry = this.#lru.peek(key as IndexKey<K>)
    if (entry === undefined) return false
    if (this.#o.maxBusy !== Infinity) this.#clock() // the stretch is timed by now
    return this.#checked(() => this.#busy(entry))
  }

  /**
   * Holds the session under `key` busy until the lease is released: it is never evicted in the
   * meantime. Refreshes it as `get` does; so does the release.
   *
   * @returns the lease, or `undefined` when no live session is held under `key`
   * @example
   * ```ts
   * const lease = store.acquire(id)
   * try { await work(lease?.value) } finally { lease?.release() }
   * ```
   */
  acquire(key: K): SessionLease<K, V> | undefined {
    const entry = this.#read(key, this.#clock(), true)
    if (entry === undefined) {
      this.#stats.misses++
      return undefined
    }
    this.#stats.hits++
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      if (entry.gone) return
      this.#busyTracker.release(entry)
      this.#evict.allBusy = false
      const now = this.#clock()
      this.#time.stamp(entry, now)
      this.#lru.get(key as IndexKey<K>)
      if (this.#evict.overflowed) this.#checked(() => this.#evict.enforce(undefined, now))
    }
    return { key, value: entry.value, release, [Symbol.dispose]: release }
  }

  /**
   * Removes every expired session (reason `idle` or `max-age`), then evicts idle sessions over
   * `maxSessions` or `maxBytes` (busy ones may have become idle), then applies
   * `heapHighWaterBytes`. Runs by itself every `sweepIntervalMs`.
   *
   * @returns how many sessions it removed
   */
  sweep(): number {
    return this.#sweep(true)
  }

  /** Removes every session, disposing each with reason `clear`. */
  clear(): void {
    this.#removeAll('clear', true)
  }

  /**
   * The whole shutdown: stops the sweep timer, removes every session (reason `close`) and
   * resolves once every `dispose` has settled, those of earlier removals included (each waited
   * for at most `disposeTimeoutMs`). From the call on, the adding methods (`set`, `getOrCreate`,
   * `getOrCreateAsync`) throw {@link StoreClosedError}; the reading ones (`get`, `peek`, `has`,
   * `size`, iteration, `stats`) keep working and see what is left. Calling it again returns the
   * same promise. A listener error thrown while closing rejects it, once every teardown settled.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    let failed = false
    let error: unknown
    this.#closing = (async () => {
      // The teardowns of this operation (or of the one running it, from a dispose) start first.
      await undefined
      await this.#teardowns.allSettled()
      this.#teardowns.stop()
      if (failed) throw error
    })()
    // The host now waits for the teardowns: their timeout must keep the process alive.
    this.#teardowns.closing()
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer)
    this.#sweepTimer = undefined
    this.#clockSource.stop()
    try {
      this.#removeAll('close', true)
    } catch (e) {
      // A listener threw; every session is out all the same. Report it once all have settled.
      failed = true
      error = e
    }
    return this.#closing
  }

  /** Same as {@link BoundedSessionStore.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** The keys of the live sessions, most recently active first. */
  *keys(): IterableIterator<K> {
    for (const [key] of this.#live()) yield key
  }

  /** The live sessions, most recently active first. */
  *values(): IterableIterator<V> {
    for (const [, value] of this.#live()) yield value
  }

  /** `[key, session]` pairs of the live sessions, most recently active first. */
  entries(): IterableIterator<[K, V]> {
    return this.#live()
  }

  /** Same as {@link BoundedSessionStore.entries}. */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries()
  }

  /** Calls `fn` for every live session, most recently active first, as `Map.prototype.forEach` does. */
  forEach(fn: (value: V, key: K, store: this) => void): void {
    for (const [key, value] of this.#live()) fn(value, key, this)
  }

  /** A snapshot of the store's counters. */
  stats(): SessionStoreStats {
    const s = this.#stats
    return {
      size: this.size,
      peakSize: s.peakSize,
      bytes: this.bytes,
      peakBytes: s.peakBytes,
      hits: s.hits,
      misses: s.misses,
      removed: { ...s.removed },
      errors: s.errors,
      tearingDown: this.#teardowns.running,
    }
  }

  // --- internals -------------------------------------------------------------------------

  // The time, in milliseconds since the first reading (see StoreClock).
  #clock(): number {
    return this.#clockSource.read(this.#closing === undefined)
  }

  #assertOpen(method: string): void {
    if (this.#closing !== undefined) throw new StoreClosedError(method)
  }

  // Runs `fn` as an operation of its own, so that what it reports is delivered before returning.
  #checked<T>(fn: () => T): T {
    this.#ops.begin()
    try {
      return fn()
    } finally {
      this.#ops.end(true)
    }
  }

  // The outermost operation ended: the peaks are what it left.
  #peaks(): void {
    const s = this.#stats
    if (this.#lru.size > s.peakSize) s.peakSize = this.#lru.size
    if (this.#evict.bytes > s.peakBytes) s.peakBytes = this.#evict.bytes
  }

  #run(task: Task<K, V>): void {
    switch (task[0]) {
      case 'create':
        this.emit('create', task[1], task[2])
        return
      case 'remove': {
        const { key, value } = task[1]
        const dispose = this.#o.dispose
        if (dispose !== undefined) {
          let result: unknown
          let thenable = false
          try {
            result = dispose(value, key, task[2])
            // A `then` getter may throw too: that is the dispose's error, not the operation's.
            thenable = isThenable(result)
          } catch (error) {
            this.#ops.report(error, key)
          }
          if (thenable) this.#teardowns.track(key, result as PromiseLike<void>)
        }
        if (this.#hears('remove')) this.emit('remove', key, value, task[2] as RemovalReason | R)
        return
      }
      case 'stranded':
        this.emit('stranded', task[1].key, task[1].value, task[2])
        return
      case 'overflow':
        this.emit('overflow', task[1])
        return
      case 'error':
        this.#stats.errors++
        if (this.listenerCount('error') > 0) this.emit('error', task[1], task[2])
        else this.#warn(task[1])
    }
  }

  // Errors with no listener: one warning per store (later ones are only counted).
  #warn(error: unknown): void {
    if (this.#warned) return
    this.#warned = true
    const shown = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    process.emitWarning?.(`A BoundedSessionStore error had no 'error' listener (later ones are counted in stats().errors): ${shown}`, {
      type: 'BoundedSessionStoreWarning',
      code: WARNING_CODE,
    })
  }

  // Events nobody listens to are not queued. A listener added while an operation runs hears
  // from the next one.
  #hears(event: keyof SessionStoreEvents<K, V>): boolean {
    // eventemitter3 counts its listeners in `_eventsCount`: none at all is the common case, and
    // reading it is much cheaper than a listenerCount() lookup by name.
    if ((this as unknown as { _eventsCount?: number })._eventsCount === 0) return false
    return this.listenerCount(event) > 0
  }

  // The monotonic time that teardowns are timed by (never throws: a teardown must be tracked).
  #monotonic(): number {
    const clock = this.#o.monotonicNow
    if (clock === undefined) return performance.now()
    const now = clock()
    if (typeof now === 'number' && Number.isFinite(now)) return now
    this.#ops.report(new InvalidClockError(now), undefined)
    return performance.now()
  }

  // Whether a session's teardown is still running (or about to start) under `key`, which holds
  // no session: then nothing new may be stored under it yet.
  #reserved(key: K): boolean {
    if (this.#teardowns.size > 0 && this.#checked(() => this.#teardowns.holds(key))) return true
    // Teardowns queued but not yet run (a dispose or listener calling back into the store).
    return this.#o.dispose !== undefined && this.#ops.removing(key)
  }

  // The read path of get, touch and acquire: the live entry, refreshed (and leased, with
  // `lease`), or undefined. A lease is held before a pending bound is settled.
  #read(key: K, now: number, lease = false): Entry<K, V> | undefined {
    const entry = this.#lru.get(key as IndexKey<K>)
    const settle = this.#evict.overflowed && (!this.#evict.allBusy || this.#hears('overflow'))
    if (entry === undefined) {
      if (settle) this.#checked(() => this.#evict.enforce(undefined, now))
      return undefined
    }
    if (settle || this.#time.timeUp(entry, now) !== undefined) {
      this.#checked(() => {
        const expiry = this.#time.expired(entry, now, false)
        if (expiry !== undefined && !entry.gone) {
          this.#take(entry, expiry)
          // A session past its time was found idle: others may be idle too.
          this.#evict.allBusy = false
        } else {
          this.#time.stamp(entry, now)
          if (lease) this.#busyTracker.lease(entry)
        }
        if (this.#evict.overflowed) this.#evict.enforce(entry.gone ? undefined : entry, now)
      })
      // A dispose run meanwhile may have removed it: then the read misses.
      return entry.gone ? undefined : entry
    }
    this.#time.stamp(entry, now)
    if (lease) this.#busyTracker.lease(entry)
    return entry
  }

  // getOrCreate's hit: the live entry (refreshed and counted), or undefined. Changes nothing on a miss.
  #peekLive(key: K, now: number): Entry<K, V> | undefined {
    const found = this.#lru.peek(key as IndexKey<K>)
    if (found === undefined) return undefined
    if (this.#time.timeUp(found, now) !== undefined && this.#checked(() => this.#time.expired(found, now, false)) !== undefined) return undefined
    const entry = this.#read(key, now)
    if (entry !== undefined) this.#stats.hits++
    return entry
  }

  // Checks, before `create` runs, that a new session may be stored under `key`.
  #admit(key: K, now: number, allowReserved = this.#o.allowReserved): void {
    // A key that holds an (expired) session is not reserved, and needs no room: that one goes.
    if (this.#lru.has(key as IndexKey<K>)) return
    if (!allowReserved && this.#reserved(key)) throw new SessionClosingError(key)
    if (this.#o.reject && this.#lru.size >= this.#o.maxSessions) this.#evict.makeRoom(now)
  }

  // Whether busy protects the session (see BusyTracker).
  #busy(entry: Entry<K, V>): boolean {
    return this.#busyTracker.busy(entry)
  }

  #allowReserved(options: SetOptions | undefined): boolean {
    if (options === undefined) return this.#o.allowReserved
    const when = (options as SetOptions | null)?.whenReserved
    if (when === undefined) return this.#o.allowReserved
    if (when !== 'reject' && when !== 'allow') throw new InvalidArgumentError('whenReserved', when, "'reject' or 'allow'")
    return when === 'allow'
  }

  // A read that finds the session past its time: removes it if it has expired (it is not busy),
  // and says whether it did (a dispose run meanwhile may have removed it too).
  #removeExpired(entry: Entry<K, V>, now: number): boolean {
    const expiry = this.#time.expired(entry, now, false)
    if (expiry === undefined) return entry.gone
    this.#take(entry, expiry)
    // A session past its time was found idle: others may be idle too.
    this.#evict.allBusy = false
    return true
  }

  // The one way out of the store: the session is out at once, its teardown queued. `indexed`:
  // whether it is still in the LRU index (every session that is not gone is, but for the ones
  // `pop()` and `clear()` just took out).
  #take(entry: Entry<K, V>, reason: string, indexed = true): void {
    if (entry.gone) return
    if (indexed) this.#lru.delete(entry.key as IndexKey<K>)
    this.#evict.unweigh(entry)
    this.#busyTracker.forget(entry)
    follow(entry, undefined, this.#self)
    this.#removalLog.record(entry.key, reason as RemovalReason | R, this.#clockSource.last)
    this.#stats.removed[(Object.hasOwn(this.#stats.removed, reason) ? reason : 'delete') as RemovalReason]++
    this.#removals++
    if (this.#o.dispose !== undefined || this.#hears('remove')) this.#ops.push(['remove', entry, reason])
  }

  // set() and the insert half of getOrCreate().
  #put(key: K, value: V, now: number, allowReserved = this.#o.allowReserved): void {
    const histories = historiesOf(value)
    const weight = weigh(this.#o.sizeOf, key, value, histories)
    // One lookup: a session found becomes the most recent (a different one leaves at once).
    const found = this.#lru.get(key as IndexKey<K>)
    if (found !== undefined && Object.is(found.value, value)) {
      // The same value is a refresh even if it had expired: it stays, so it must not be disposed.
      // Past its max age it starts a new life, as an insert would (else it would still be expired).
      this.#evict.allBusy = false
      this.#busyTracker.restart(found)
      if (this.#time.timeUp(found, now) === 'max-age' && !this.#busy(found)) this.#time.born(found, now)
      this.#time.stamp(found, now)
      follow(found, histories, this.#self)
      this.#evict.setWeight(found, weight)
      this.#evict.enforce(found, now)
      return
    }
    if (found === undefined) {
      if (!allowReserved && this.#reserved(key)) throw new SessionClosingError(key)
    } else {
      const expiry = this.#time.expired(found, now, false)
      this.#take(found, expiry ?? 'replace')
    }
    this.#evict.allBusy = false
    if (this.#lru.size >= this.#o.maxSessions) this.#evict.makeRoom(now)
    const entry = new Entry(key, value, now, 0)
    this.#time.stamp(entry, now)
    if (this.#o.maxAge !== Infinity) this.#time.born(entry, now)
    this.#lru.set(key as IndexKey<K>, entry, SIZE_ONE)
    this.#evict.setWeight(entry, weight)
    follow(entry, histories, this.#self)
    if (this.#hears('create')) this.#ops.push(['create', key, value])
    this.#evict.enforce(entry, now)
  }

  #sweep(surface: boolean): number {
    const before = this.#removals
    let now: number
    try {
      now = this.#clock()
    } catch (error) {
      if (surface) throw error
      this.#ops.begin()
      this.#ops.report(error, undefined)
      this.#ops.end(false)
      return 0
    }
    let removed = 0
    this.#ops.begin()
    this.#evict.allBusy = false
    try {
      this.#time.findExpired(now, true)
      this.#evict.enforce(undefined, now)
      const heap = this.#o.heapHighWater === Infinity ? 0 : process.memoryUsage().heapUsed
      if (heap > this.#o.heapHighWater) {
        // The heap is not measured again meanwhile: every picked session goes.
        for (const entry of this.#evict.pickIdle(undefined, heap - this.#o.heapHighWater, true, -1, now)) {
          this.#take(entry, this.#time.timeUp(entry, now) ?? 'pressure')
        }
      }
      // What the disposes remove when they run is not the sweep's doing.
      removed = this.#removals - before
    } finally {
      this.#ops.end(surface)
    }
    return removed
  }

  // A push to one of the session's histories changed its bytes. Never throws into the push:
  // what goes wrong is reported as an `error` event.
  #resized(entry: Entry<K, V>, delta: number): void {
    this.#ops.begin()
    try {
      let weight = entry.weight + delta
      if (this.#o.sizeOf !== undefined) {
        try {
          weight = weigh(this.#o.sizeOf, entry.key, entry.value, entry.watcher?.histories)
        } catch (error) {
          this.#ops.report(error, entry.key)
          weight = entry.weight
        }
        // A sizeOf that removed the session (it should not call back into the store) leaves it removed.
        if (entry.gone) return
      }
      this.#evict.setWeight(entry, weight)
      if (this.#evict.bytes > this.#o.maxBytes || this.#evict.overflowed) this.#evict.enforce(entry, this.#clock())
    } catch (error) {
      this.#ops.report(error, entry.key)
    } finally {
      this.#ops.end(false)
    }
  }

  #removeAll(reason: 'clear' | 'close', surface: boolean): void {
    this.#ops.begin()
    try {
      // Least recently active first. Sessions stored by a dispose meanwhile were not there: they stay.
      const entries = [...this.#entries(true)]
      this.#lru.clear()
      for (const entry of entries) this.#take(entry, reason, false)
      this.#time.clear()
      this.#evict.reset()
    } finally {
      this.#ops.end(surface)
    }
  }

  // lru-cache types its values as possibly undefined (for its fetch feature, unused here).
  #entries(oldestFirst: boolean): IterableIterator<Entry<K, V>> {
    return (oldestFirst ? this.#lru.rvalues() : this.#lru.values()) as IterableIterator<Entry<K, V>>
  }

  // The live sessions, most recently active first: those present when iteration starts, skipping
  // any that leave or expire before their turn.
  *#live(): Generator<[K, V], undefined, undefined> {
    const entries = [...this.#entries(false)]
    const now = this.#clock()
    for (const entry of entries) {
      if (entry.gone) continue
      if (this.#time.timeUp(entry, now) !== undefined && this.#checked(() => this.#time.expired(entry, now, false)) !== undefined) continue
      yield [entry.key, entry.value]
    }
    return undefined
  }
}

