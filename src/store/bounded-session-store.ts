import { EventEmitter } from 'eventemitter3'
// InvalidArgumentError, InvalidMeasurementError, SessionClosingError and SessionLimitError are thrown by
// the seams; imported for the TSDoc links.
import {
  InvalidArgumentError,
  InvalidMeasurementError,
  SessionClosingError,
  SessionCreatingError,
  SessionLimitError,
  StoreClosedError,
} from '../errors.js'
import { Admission } from './admission.js'
import { Creating } from './creating.js'
import type { Entry, IndexKey } from './entry.js'
import { onHistoryResized, reweigh } from './history-weights.js'
import { allowReservedOf, type BoundedSessionStoreOptions, reasonOf, resolveOptions } from './options.js'
import { makeParts, type StoreParts } from './parts.js'
import { Reads } from './reads.js'
import { Sweeper } from './sweeper.js'
import type { DeleteOptions, RemovalRecord, SessionLease, SessionStoreEvents, SessionStoreStats, SetOptions } from './types.js'

// The public class: the Map-like API, over parts it owns, each behind its own seam (parts.ts
// lists what they share: the options, the index of sessions, the clock):
// - the way in (admission.ts), the way out (removal.ts, with the removal log) and the reads
//   (reads.ts) change and read the index;
// - expiry (expiry.ts), eviction (eviction.ts), busy (busy.ts) and history weights
//   (history-weights.ts) are the rules they apply;
// - every operation runs through the operation queue (operation-queue.ts): dispose, the events
//   and errors wait there until the operation is complete, then run (delivery.ts), and the
//   teardowns of disposes that return a promise are tracked (teardowns.ts);
// - the creates in flight of getOrCreateAsync (creating.ts), and the sweep and its timer
//   (sweeper.ts).

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
    onHistoryResized((store, entry, delta) => reweigh((store as BoundedSessionStore<unknown, unknown, string>).#p, entry, delta))
  }

  readonly #p: StoreParts<K, V>
  readonly #admission: Admission<K, V>
  readonly #reads: Reads<K, V>
  readonly #sweeper: Sweeper<K, V>
  readonly #creating: Creating<K, V>
  #closing: Promise<void> | undefined
  readonly #stats = { peakSize: 0, peakBytes: 0, hits: 0, misses: 0 }

  /**
   * @param options - bounds and callbacks, see {@link BoundedSessionStoreOptions}
   * @throws {@link InvalidOptionsError} when an option is invalid
   */
  constructor(options?: BoundedSessionStoreOptions<K, V, R>) {
    super()
    const p = (this.#p = makeParts(resolveOptions<K, V>(options), this, () => this.#peaks()))
    const admission = (this.#admission = new Admission<K, V>(p))
    this.#reads = new Reads<K, V>(p)
    this.#creating = new Creating<K, V>(p, admission, {
      open: () => this.#assertOpen('getOrCreateAsync'),
      closing: () => this.#closing !== undefined,
      hit: (key) => this.#hit(key, p.clock.read()),
      miss: () => void this.#stats.misses++,
      settled: (key) => this.settled(key),
      set: (key, value) => void this.set(key, value),
    })
    this.#sweeper = new Sweeper<K, V>(p, p.o.sweepInterval)
  }

  /** Live sessions held: what iteration yields (expired sessions no sweep has removed yet do not count). */
  get size(): number {
    const { index, clock, time, ops } = this.#p
    const size = index.size
    if (size === 0) return 0
    return size - ops.checked(() => time.countExpired(clock.read(), false))
  }

  /**
   * Bytes of the live sessions (those `size` counts), as `sizeOf` weighs them; follows their
   * histories as they grow.
   */
  get bytes(): number {
    const { index, clock, time, evict, ops } = this.#p
    if (index.size === 0) return 0
    return evict.bytes - ops.checked(() => time.countExpired(clock.read(), true))
  }

  /**
   * The live session under `key`, refreshing its idle time and recency. An expired session is
   * removed (reason `idle` or `max-age`) and not returned.
   */
  get(key: K): V | undefined {
    const entry = this.#reads.read(key, this.#p.clock.read())
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
    const now = this.#p.clock.read()
    // A touch says the session changed: a bound that busy sessions kept exceeded is looked at again.
    this.#p.evict.allBusy = false
    return this.#reads.read(key, now) !== undefined
  }

  /**
   * The live session under `key`, refreshing nothing. An expired session is removed then (reason
   * `idle` or `max-age`, once) and not returned.
   */
  peek(key: K): V | undefined {
    return this.#reads.peek(key, this.#p.clock.read())?.value
  }

  /**
   * Whether a live session is held under `key`. Refreshes nothing; an expired session is removed
   * then (reason `idle` or `max-age`, once).
   */
  has(key: K): boolean {
    return this.#reads.peek(key, this.#p.clock.read()) !== undefined
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
    const allowReserved = allowReservedOf(options, this.#p.o.allowReserved)
    const now = this.#p.clock.read()
    this.#p.ops.begin()
    try {
      this.#admission.put(key, value, now, allowReserved)
    } finally {
      this.#p.ops.end(true)
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
    const allowReserved = allowReservedOf(options, this.#p.o.allowReserved)
    const now = this.#p.clock.read()
    const found = this.#hit(key, now)
    if (found !== undefined) return found.value
    // A dispose run by settling a bound may have closed the store.
    this.#assertOpen('getOrCreate')
    // One create per key: a session made now would be replaced when the async one is stored.
    if (this.#creating.has(key)) throw new SessionCreatingError(key)
    this.#stats.misses++
    this.#p.ops.begin()
    try {
      this.#admission.admit(key, now, allowReserved)
      // create runs before anything else changes, so that if it throws, even an expired session
      // under this key is still in place.
      const value = create(key)
      this.#assertOpen('getOrCreate')
      this.#admission.put(key, value, this.#p.clock.read(), allowReserved)
      return value
    } finally {
      this.#p.ops.end(true)
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
  getOrCreateAsync(key: K, create: (key: K) => V | Promise<V>): Promise<V> {
    return this.#creating.getOrCreate(key, create)
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
    const { index, time, evict } = this.#p
    const entry = index.peek(key as IndexKey<K>)
    if (entry === undefined) return false
    const now = this.#p.clock.read()
    this.#p.ops.begin()
    try {
      const expiry = time.expired(entry, now, false)
      if (entry.gone) return false
      this.#p.removal.take(entry, expiry ?? reason)
      if (evict.overflowed) evict.enforce(undefined, now)
      return expiry === undefined
    } finally {
      this.#p.ops.end(true)
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
    await this.#p.teardowns.settled(key)
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
    return this.#p.removal.last<R>(key)
  }

  /**
   * Whether the session under `key` is busy: leased, or busy by `isBusy`, and not stranded (see
   * `maxBusyMs`). `false` when there is no live session under `key`. Refreshes nothing.
   */
  isBusy(key: K): boolean {
    const { o, index, busy, ops } = this.#p
    const entry = index.peek(key as IndexKey<K>)
    if (entry === undefined) return false
    if (o.maxBusy !== Infinity) this.#p.clock.read() // the stretch is timed by now
    return ops.checked(() => busy.busy(entry))
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
    const entry = this.#reads.read(key, this.#p.clock.read(), true)
    if (entry === undefined) {
      this.#stats.misses++
      return undefined
    }
    this.#stats.hits++
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      this.#reads.release(entry)
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
    return this.#sweeper.sweep(true)
  }

  /** Removes every session, disposing each with reason `clear`. */
  clear(): void {
    this.#p.removal.takeAll('clear', true)
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
    const teardowns = this.#p.teardowns
    let failed = false
    let error: unknown
    this.#closing = (async () => {
      // The teardowns of this operation (or of the one running it, from a dispose) start first.
      await undefined
      await teardowns.allSettled()
      teardowns.stop()
      if (failed) throw error
    })()
    // The host now waits for the teardowns: their timeout must keep the process alive.
    teardowns.closing()
    this.#sweeper.stop()
    this.#p.clock.stop()
    try {
      this.#p.removal.takeAll('close', true)
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
    for (const [key] of this.#reads.live()) yield key
  }

  /** The live sessions, most recently active first. */
  *values(): IterableIterator<V> {
    for (const [, value] of this.#reads.live()) yield value
  }

  /** `[key, session]` pairs of the live sessions, most recently active first. */
  entries(): IterableIterator<[K, V]> {
    return this.#reads.live()
  }

  /** Same as {@link BoundedSessionStore.entries}. */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries()
  }

  /** Calls `fn` for every live session, most recently active first, as `Map.prototype.forEach` does. */
  forEach(fn: (value: V, key: K, store: this) => void): void {
    for (const [key, value] of this.#reads.live()) fn(value, key, this)
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
      removed: { ...this.#p.removal.removed },
      errors: this.#p.delivery.errors,
      tearingDown: this.#p.teardowns.running,
    }
  }

  // --- internals -------------------------------------------------------------------------

  #assertOpen(method: string): void {
    if (this.#closing !== undefined) throw new StoreClosedError(method)
  }

  // getOrCreate's hit: the live session (refreshed and counted), or undefined. Changes nothing on a miss.
  #hit(key: K, now: number): Entry<K, V> | undefined {
    const entry = this.#reads.found(key, now)
    if (entry !== undefined) this.#stats.hits++
    return entry
  }

  // The outermost operation ended: the peaks are what it left.
  #peaks(): void {
    const s = this.#stats
    const { index, evict } = this.#p
    if (index.size > s.peakSize) s.peakSize = index.size
    if (evict.bytes > s.peakBytes) s.peakBytes = evict.bytes
  }
}
