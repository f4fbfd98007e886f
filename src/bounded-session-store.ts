import { EventEmitter } from 'eventemitter3'
import { LRUCache } from 'lru-cache'
import * as z from 'zod/mini'
import { InvalidMeasurementError, SessionLimitError, StoreClosedError } from './errors.js'
import { type HistoryWatcher, isWatchableHistory, type WatchableHistory, watchKey } from './history-watch.js'
import { callback, lazyOptionsParser, positiveInteger, positiveNumber } from './options.js'

/**
 * Why a session left the store, as given to `dispose` and to the `evict` event.
 *
 * - `'idle'`: not read for `idleTtlMs`.
 * - `'max-age'`: older than `maxAgeMs`.
 * - `'capacity'`: evicted to keep `maxSessions`.
 * - `'size'`: evicted to keep `maxBytes`.
 * - `'pressure'`: evicted because the process heap was above `heapHighWaterBytes`.
 * - `'delete'`: removed by `delete()`.
 * - `'replace'`: `set()` put a different value under its key.
 * - `'clear'`: removed by `clear()`.
 * - `'close'`: removed by `close()`.
 */
export type EvictionReason =
  | 'idle'
  | 'max-age'
  | 'capacity'
  | 'size'
  | 'pressure'
  | 'delete'
  | 'replace'
  | 'clear'
  | 'close'

/** What the `overflow` event reports: a bound the store could not meet because the sessions over it are busy. */
export interface OverflowInfo {
  /** The bound that is exceeded. */
  bound: 'maxSessions' | 'maxBytes'
  /** Sessions held now. */
  size: number
  /** Bytes held now. */
  bytes: number
  /** The bound's limit. */
  limit: number
}

/**
 * The events of a {@link BoundedSessionStore}, as labelled tuples of listener arguments.
 *
 * @typeParam K - the key type
 * @typeParam V - the session type
 */
export interface SessionStoreEvents<K, V> {
  /** A session was added (by `set` or `getOrCreate`). */
  create: [key: K, value: V]
  /** A session left the store; `dispose` has been called for it. */
  evict: [key: K, value: V, reason: EvictionReason]
  /** A bound could not be met because the sessions over it are busy or leased. */
  overflow: [info: OverflowInfo]
  /** A `dispose` (or `isBusy`, or a custom `sizeOf` re-run after a push) threw or rejected. */
  error: [error: unknown, key: K | undefined]
}

/**
 * A hold on a session, from {@link BoundedSessionStore.acquire}: until it is released the
 * session counts as busy and is never evicted. Works with `using`.
 *
 * @example
 * ```ts
 * using lease = store.acquire(id)
 * if (lease) await handle(lease.value)
 * ```
 */
export interface SessionLease<K, V> {
  /** The session's key. */
  readonly key: K
  /** The session. */
  readonly value: V
  /** Ends the hold. Releasing twice is harmless. */
  release(): void
  /** Same as `release()`, for `using`. */
  [Symbol.dispose](): void
}

/** Counters returned by {@link BoundedSessionStore.stats}. */
export interface SessionStoreStats {
  /** Sessions held now (including expired ones not yet removed). */
  size: number
  /** The most sessions held at the end of any operation. */
  peakSize: number
  /** Bytes held now, as `sizeOf` weighs them. */
  bytes: number
  /** The most bytes held at the end of any operation. */
  peakBytes: number
  /** Reads (`get`, `getOrCreate`, `acquire`) that found a live session. */
  hits: number
  /** Reads that did not. */
  misses: number
  /** Sessions that left the store, by reason. */
  departures: Record<EvictionReason, number>
}

/**
 * Options of {@link BoundedSessionStore}. Every field is optional.
 *
 * @typeParam K - the key type
 * @typeParam V - the session type
 */
export interface BoundedSessionStoreOptions<K, V> {
  /**
   * The most sessions held. A positive integer. When it is reached, adding a session evicts the
   * least recently used idle one (or throws, with `whenFull: 'reject'`).
   *
   * @defaultValue 100
   */
  maxSessions?: number | undefined
  /**
   * How long a session may go unread (`get`, `getOrCreate`, `touch`, `acquire`, `set`, or the
   * release of a lease) before it expires, in milliseconds. Any finite positive number: no timer
   * is started per session, so values beyond 2^31 ms work.
   *
   * @defaultValue 3_600_000 (one hour)
   */
  idleTtlMs?: number | undefined
  /**
   * The longest a session may live from its creation, whatever its activity, in milliseconds.
   *
   * @defaultValue no limit
   */
  maxAgeMs?: number | undefined
  /**
   * The most bytes held, as `sizeOf` weighs the sessions. A positive integer. Weights follow the
   * sessions' histories as they grow.
   *
   * @defaultValue no limit
   */
  maxBytes?: number | undefined
  /**
   * The weight of one session in bytes, a finite number from 0 to 2^32 - 1. Run when the session
   * is added or set again, and again after every push to one of its histories.
   *
   * @defaultValue {@link SESSION_OVERHEAD_BYTES} plus the `bytes` of every `RingBufferHistory`
   * among the session's own enumerable properties (found when it is added or set again)
   */
  sizeOf?: ((value: V, key: K) => number) | undefined
  /**
   * Whether a session is at work and must not be torn down (for the claude-mem worker:
   * `s => s.generatorPromise !== null`). Busy sessions are never removed by `idle`, `max-age`,
   * `capacity`, `size` or `pressure`. Called only when such a removal is considered.
   *
   * @defaultValue never busy
   */
  isBusy?: ((value: V, key: K) => boolean) | undefined
  /**
   * Tears a session down (abort its controller, await its work, free its queues). Called exactly
   * once for every session that leaves the store, for whatever reason, after it has left. A
   * promise it returns is awaited by `close()`; a throw or rejection is reported as an `error`
   * event and stops nothing else.
   *
   * @defaultValue none
   */
  dispose?: ((value: V, key: K, reason: EvictionReason) => void | Promise<void>) | undefined
  /**
   * What adding a session does when `maxSessions` are held: `'evict'` the least recently used
   * idle session, or `'reject'` the new one with {@link SessionLimitError} (expired sessions are
   * removed first; no live session is evicted). Use `'reject'` where a flood of new sessions
   * must not push out legitimate ones.
   *
   * @defaultValue 'evict'
   */
  whenFull?: 'evict' | 'reject' | undefined
  /**
   * How often to sweep expired sessions out, in milliseconds: one `unref()`ed timer per store.
   * `0` starts no timer; then call `sweep()` yourself.
   *
   * @defaultValue 60_000
   */
  sweepIntervalMs?: number | undefined
  /**
   * On each sweep, if the process heap (`process.memoryUsage().heapUsed`) is above this many
   * bytes, evict idle sessions, least recently used first, until the heap less the bytes of the
   * sessions evicted is below it or no idle session is left.
   *
   * @defaultValue no heap check
   */
  heapHighWaterBytes?: number | undefined
  /**
   * The clock, in milliseconds. Inject one for deterministic tests.
   *
   * @defaultValue `Date.now`
   */
  now?: (() => number) | undefined
}

/**
 * The fixed weight in bytes that the default `sizeOf` gives every session beside its histories:
 * about what a worker's session object holds besides them (an AbortController, a few strings,
 * numbers and a queue).
 */
export const SESSION_OVERHEAD_BYTES = 1024

const parseOptions = /* @__PURE__ */ lazyOptionsParser(() => ({
  schema: z.strictObject({
    maxSessions: z.optional(z.number().check(z.int(), z.positive(), z.lte(2 ** 31 - 1))),
    idleTtlMs: positiveNumber(),
    maxAgeMs: positiveNumber(),
    maxBytes: positiveInteger(),
    sizeOf: callback(),
    isBusy: callback(),
    dispose: callback(),
    whenFull: z.optional(z.enum(['evict', 'reject'])),
    sweepIntervalMs: z.optional(z.number().check(z.int(), z.nonnegative(), z.lte(2 ** 31 - 1))),
    heapHighWaterBytes: positiveInteger(),
    now: callback(),
  }),
  expected: {
    maxSessions: 'an integer from 1 to 2147483647',
    idleTtlMs: 'a positive finite number',
    maxAgeMs: 'a positive finite number',
    maxBytes: 'a positive integer',
    sizeOf: 'a function',
    isBusy: 'a function',
    dispose: 'a function',
    whenFull: "'evict' or 'reject'",
    sweepIntervalMs: 'an integer from 0 to 2147483647',
    heapHighWaterBytes: 'a positive integer',
    now: 'a function',
  },
}))

interface ResizeHandler<K, V> {
  resized(entry: Entry<K, V>, delta: number): void
}

// One per stored session: the value and what the store knows of it.
class Entry<K, V> implements HistoryWatcher {
  lastRead: number
  leases = 0
  live = true
  constructor(
    readonly owner: ResizeHandler<K, V>,
    readonly key: K,
    readonly value: V,
    readonly created: number,
    public bytes: number,
    public histories: WatchableHistory[] | undefined,
  ) {
    this.lastRead = created
  }

  historyResized(delta: number): void {
    this.owner.resized(this, delta)
  }
}

type QueuedEvent<K, V> =
  | ['create', K, V]
  | ['evict', K, V, EvictionReason]
  | ['overflow', OverflowInfo]
  | ['error', unknown, K | undefined]

function historiesOf(value: unknown): WatchableHistory[] | undefined {
  if (value === null || typeof value !== 'object') return undefined
  let found: WatchableHistory[] | undefined
  // for…in over an object's own keys allocates nothing, unlike Object.keys.
  for (const name in value) {
    if (!Object.hasOwn(value, name)) continue
    const property = (value as Record<string, unknown>)[name]
    if (isWatchableHistory(property) && !found?.includes(property)) (found ??= []).push(property)
  }
  return found
}

function sameHistories(a: WatchableHistory[] | undefined, b: WatchableHistory[] | undefined): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function noDepartures(): Record<EvictionReason, number> {
  return { idle: 0, 'max-age': 0, capacity: 0, size: 0, pressure: 0, delete: 0, replace: 0, clear: 0, close: 0 }
}

/**
 * A drop-in for the `Map` that holds an agent host's sessions, which can never grow without
 * bound: sessions expire when idle or too old, the least recently used idle ones make way when
 * `maxSessions` or `maxBytes` is reached, busy sessions are never torn down, and every session
 * that leaves gets exactly one `dispose` with its reason. Built on `lru-cache`.
 *
 * Iteration (`keys`, `values`, `entries`, `for…of`, `forEach`) goes from the most recently used
 * session to the least, skips expired sessions, and refreshes nothing.
 *
 * @typeParam K - the key type
 * @typeParam V - the session type
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
 * sessions.on('evict', (id, _session, reason) => logger.info('SESSION', 'evicted', { id, reason }))
 * const session = sessions.getOrCreate(sessionDbId, createSession)
 * ```
 */
export class BoundedSessionStore<K, V> extends EventEmitter<SessionStoreEvents<K, V>> {
  #lru: LRUCache<K & {}, Entry<K, V>>
  readonly #maxSessions: number
  readonly #idleTtl: number
  readonly #maxAge: number
  readonly #maxBytes: number
  readonly #sizeOf: ((value: V, key: K) => number) | undefined
  readonly #isBusy: ((value: V, key: K) => boolean) | undefined
  readonly #dispose: ((value: V, key: K, reason: EvictionReason) => void | Promise<void>) | undefined
  readonly #reject: boolean
  readonly #heapHighWater: number
  readonly #now: () => number
  readonly #resizeHandler: ResizeHandler<K, V>
  #timer: ReturnType<typeof setInterval> | undefined

  #bytes = 0
  #overflowed = false
  #closed = false
  #closing: Promise<void> | undefined
  #pending = new Set<Promise<void>>()
  #queue: QueuedEvent<K, V>[] = []
  #depth = 0
  #removed = 0

  #peakSize = 0
  #peakBytes = 0
  #hits = 0
  #misses = 0
  #departures = noDepartures()

  /**
   * @param options - bounds and callbacks, see {@link BoundedSessionStoreOptions}
   * @throws {@link InvalidOptionsError} when an option is invalid
   */
  constructor(options?: BoundedSessionStoreOptions<K, V>) {
    super()
    const o = parseOptions(options)
    this.#maxSessions = o.maxSessions ?? 100
    this.#idleTtl = o.idleTtlMs ?? 3_600_000
    this.#maxAge = o.maxAgeMs ?? Infinity
    this.#maxBytes = o.maxBytes ?? Infinity
    this.#sizeOf = o.sizeOf as ((value: V, key: K) => number) | undefined
    this.#isBusy = o.isBusy as ((value: V, key: K) => boolean) | undefined
    this.#dispose = o.dispose as ((value: V, key: K, reason: EvictionReason) => void | Promise<void>) | undefined
    this.#reject = o.whenFull === 'reject'
    this.#heapHighWater = o.heapHighWaterBytes ?? Infinity
    this.#now = (o.now as (() => number) | undefined) ?? Date.now
    // Start small and double (see #growIndex): lru-cache allocates its whole index up front.
    this.#lru = new LRUCache({ max: Math.min(this.#maxSessions, 1024) })
    this.#resizeHandler = { resized: (entry, delta) => this.#resized(entry, delta) }
    const interval = o.sweepIntervalMs ?? 60_000
    if (interval > 0) {
      this.#timer = setInterval(() => this.#timedSweep(), interval)
      this.#timer.unref?.()
    }
  }

  /** Sessions held, including expired ones that no sweep has removed yet. */
  get size(): number {
    return this.#lru.size
  }

  /** Bytes held, as `sizeOf` weighs the sessions; follows their histories as they grow. */
  get bytes(): number {
    return this.#bytes
  }

  /**
   * The live session under `key`, refreshing its idle time and recency. An expired session is
   * removed (reason `idle` or `max-age`) and not returned.
   *
   * @throws {@link StoreClosedError} after `close()`
   */
  get(key: K): V | undefined {
    const entry = this.#read(key, 'get')
    if (entry === undefined) {
      this.#misses++
      return undefined
    }
    this.#hits++
    return entry.value
  }

  /**
   * Refreshes a session's idle time and recency, as `get` does.
   *
   * @returns whether a live session was found
   * @throws {@link StoreClosedError} after `close()`
   */
  touch(key: K): boolean {
    return this.#read(key, 'touch') !== undefined
  }

  /**
   * The live session under `key`, refreshing nothing and removing nothing.
   *
   * @throws {@link StoreClosedError} after `close()`
   */
  peek(key: K): V | undefined {
    this.#assertOpen('peek')
    const entry = this.#lru.peek(key as K & {})
    if (entry === undefined || this.#expiry(entry, this.#now()) !== undefined) return undefined
    return entry.value
  }

  /**
   * Whether a live session is held under `key`. Refreshes nothing.
   *
   * @throws {@link StoreClosedError} after `close()`
   */
  has(key: K): boolean {
    this.#assertOpen('has')
    const entry = this.#lru.peek(key as K & {})
    return entry !== undefined && this.#expiry(entry, this.#now()) === undefined
  }

  /**
   * Stores `value` under `key` as the most recently used session. A different value under the
   * same key replaces the old one, which is disposed with reason `replace`; the same value is
   * only refreshed (and its histories looked up again). Adding a session to a full store evicts
   * the least recently used idle one (reason `capacity`), or throws with `whenFull: 'reject'`.
   *
   * @throws {@link SessionLimitError} with `whenFull: 'reject'` when `maxSessions` live sessions are held
   * @throws {@link InvalidMeasurementError} when `sizeOf` returns an invalid number (the store is unchanged)
   * @throws {@link StoreClosedError} after `close()`
   */
  set(key: K, value: V): this {
    this.#assertOpen('set')
    this.#depth++
    try {
      this.#put(key, value, this.#now())
    } finally {
      this.#end()
    }
    return this
  }

  /**
   * The live session under `key` (refreshed, as by `get`), or a new one made by `create(key)`
   * and stored. If `create` throws, the store is unchanged.
   *
   * @throws {@link StoreClosedError} after `close()`
   * @example
   * ```ts
   * const session = store.getOrCreate(id, (id) => createSession(id))
   * ```
   */
  getOrCreate(key: K, create: (key: K) => V): V {
    this.#assertOpen('getOrCreate')
    // peek first: a miss must leave the order alone if create throws.
    const entry = this.#lru.peek(key as K & {})
    const now = this.#now()
    if (entry !== undefined && this.#expiry(entry, now) === undefined) {
      this.#lru.get(key as K & {})
      entry.lastRead = now
      this.#hits++
      if (this.#overflowed) this.#settle(entry)
      return entry.value
    }
    this.#misses++
    this.#depth++
    try {
      // create runs first, so that if it throws, even an expired session is still in place.
      const value = create(key)
      this.#assertOpen('getOrCreate')
      this.#put(key, value, this.#now())
      return value
    } finally {
      this.#end()
    }
  }

  /**
   * Removes the session under `key`, busy or not, and disposes it (reason `delete`). An expired
   * session is disposed with its own reason.
   *
   * @returns whether a live session was removed
   */
  delete(key: K): boolean {
    const entry = this.#lru.peek(key as K & {})
    if (entry === undefined) return false
    this.#depth++
    try {
      const expiry = this.#expiry(entry, this.#now())
      this.#remove(entry, expiry ?? 'delete')
      if (this.#overflowed) this.#enforce(undefined)
      return expiry === undefined
    } finally {
      this.#end()
    }
  }

  /**
   * Holds the session under `key` busy until the lease is released: it is never evicted in the
   * meantime. Refreshes it as `get` does.
   *
   * @returns the lease, or `undefined` when no live session is held under `key`
   * @throws {@link StoreClosedError} after `close()`
   * @example
   * ```ts
   * const lease = store.acquire(id)
   * try { await work(lease?.value) } finally { lease?.release() }
   * ```
   */
  acquire(key: K): SessionLease<K, V> | undefined {
    const entry = this.#read(key, 'acquire')
    if (entry === undefined) {
      this.#misses++
      return undefined
    }
    this.#hits++
    entry.leases++
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      this.#release(entry)
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
    this.#depth++
    const before = this.#removed
    try {
      const now = this.#now()
      // Collect first, remove after: dispose may call back into the store.
      const expired: [Entry<K, V>, EvictionReason][] = []
      for (const entry of this.#lru.rvalues()) {
        if (entry === undefined) continue
        const expiry = this.#expiry(entry, now)
        if (expiry !== undefined) expired.push([entry, expiry])
      }
      for (const [entry, reason] of expired) if (entry.live) this.#remove(entry, reason)
      this.#enforce(undefined)
      if (this.#heapHighWater !== Infinity) this.#relievePressure()
      return this.#removed - before
    } finally {
      this.#end()
    }
  }

  /** Removes every session, disposing each with reason `clear`. */
  clear(): void {
    this.#removeAll('clear')
  }

  /**
   * Stops the sweep timer, removes every session (reason `close`) and resolves once every
   * `dispose` has settled. Afterwards, the methods that read or add sessions throw
   * {@link StoreClosedError}. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    this.#closed = true
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    this.#closing = this.#closeAll()
    return this.#closing
  }

  async #closeAll(): Promise<void> {
    let failed = false
    let error: unknown
    try {
      this.#removeAll('close')
    } catch (e) {
      // A listener threw; every session is out all the same. Report it once all have settled.
      failed = true
      error = e
    }
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending])
    if (failed) throw error
  }

  /** Same as {@link BoundedSessionStore.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** The keys of the live sessions, most recently used first. */
  *keys(): IterableIterator<K> {
    for (const entry of this.#live()) yield entry.key
  }

  /** The live sessions, most recently used first. */
  *values(): IterableIterator<V> {
    for (const entry of this.#live()) yield entry.value
  }

  /** `[key, session]` pairs of the live sessions, most recently used first. */
  *entries(): IterableIterator<[K, V]> {
    for (const entry of this.#live()) yield [entry.key, entry.value]
  }

  /** Same as {@link BoundedSessionStore.entries}. */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries()
  }

  /** Calls `fn` for every live session, most recently used first, as `Map.prototype.forEach` does. */
  forEach(fn: (value: V, key: K, store: this) => void): void {
    for (const entry of this.#live()) fn(entry.value, entry.key, this)
  }

  /** A snapshot of the store's counters. */
  stats(): SessionStoreStats {
    return {
      size: this.#lru.size,
      peakSize: this.#peakSize,
      bytes: this.#bytes,
      peakBytes: this.#peakBytes,
      hits: this.#hits,
      misses: this.#misses,
      departures: { ...this.#departures },
    }
  }

  // --- internals -------------------------------------------------------------------------

  #assertOpen(method: string): void {
    if (this.#closed) throw new StoreClosedError(method)
  }

  // Finishes an operation: at the outermost level, deliver the queued events.
  #end(): void {
    this.#depth--
    if (this.#depth === 0) {
      const size = this.#lru.size
      if (size > this.#peakSize) this.#peakSize = size
      if (this.#bytes > this.#peakBytes) this.#peakBytes = this.#bytes
      this.#flush()
    }
  }

  #flush(): void {
    const queue = this.#queue
    if (queue.length === 0) return
    this.#queue = []
    let failed = false
    let error: unknown
    for (const event of queue) {
      try {
        switch (event[0]) {
          case 'create':
            this.emit('create', event[1], event[2])
            break
          case 'evict':
            this.emit('evict', event[1], event[2], event[3])
            break
          case 'overflow':
            this.emit('overflow', event[1])
            break
          case 'error':
            this.emit('error', event[1], event[2])
            break
        }
      } catch (e) {
        if (!failed) {
          failed = true
          error = e
        }
      }
    }
    // Events queued by listeners that called back into the store.
    if (this.#queue.length > 0) {
      try {
        this.#flush()
      } catch (e) {
        if (!failed) {
          failed = true
          error = e
        }
      }
    }
    if (failed) throw error
  }

  // The read path shared by get, touch, getOrCreate and acquire.
  #read(key: K, method: string): Entry<K, V> | undefined {
    this.#assertOpen(method)
    const entry = this.#lru.get(key as K & {})
    if (entry === undefined) {
      if (this.#overflowed) this.#settle(undefined)
      return undefined
    }
    const now = this.#now()
    if (now - entry.lastRead >= this.#idleTtl || now - entry.created >= this.#maxAge) {
      const expiry = this.#expiry(entry, now)
      if (expiry !== undefined) {
        this.#depth++
        try {
          this.#remove(entry, expiry)
          if (this.#overflowed) this.#enforce(undefined)
        } finally {
          this.#end()
        }
        return undefined
      }
    }
    entry.lastRead = now
    // The session being read is about to be used: never evict it to settle a bound.
    if (this.#overflowed) this.#settle(entry)
    return entry
  }

  // Retries the bounds that busy sessions kept exceeded: some may be idle by now.
  #settle(exclude: Entry<K, V> | undefined): void {
    this.#depth++
    try {
      this.#enforce(exclude)
    } finally {
      this.#end()
    }
  }

  #busy(entry: Entry<K, V>): boolean {
    if (entry.leases > 0) return true
    if (this.#isBusy === undefined) return false
    try {
      return this.#isBusy(entry.value, entry.key) === true
    } catch (error) {
      // A failing check must not lead to tearing down a session that may be at work.
      this.#queue.push(['error', error, entry.key])
      return true
    }
  }

  #expiry(entry: Entry<K, V>, now: number): 'idle' | 'max-age' | undefined {
    const old = now - entry.created >= this.#maxAge
    if (!old && now - entry.lastRead < this.#idleTtl) return undefined
    if (this.#busy(entry)) return undefined
    return old ? 'max-age' : 'idle'
  }

  #weigh(key: K, value: V, histories: WatchableHistory[] | undefined): number {
    if (this.#sizeOf !== undefined) {
      const size = this.#sizeOf(value, key)
      if (typeof size !== 'number' || !(size >= 0) || size > 0xffff_ffff) {
        throw new InvalidMeasurementError('sizeOf', size)
      }
      return size
    }
    let bytes = SESSION_OVERHEAD_BYTES
    if (histories !== undefined) for (const history of histories) bytes += history.bytes
    return bytes
  }

  #watch(entry: Entry<K, V>, subscribe: boolean): void {
    if (entry.histories !== undefined) for (const history of entry.histories) history[watchKey](entry, subscribe)
  }

  // set() and the insert half of getOrCreate().
  #put(key: K, value: V, now: number): void {
    const histories = historiesOf(value)
    const bytes = this.#weigh(key, value, histories)
    const old = this.#lru.peek(key as K & {})
    if (old !== undefined) {
      // The same value is a refresh even if it had expired: it stays, so it must not be disposed.
      if (Object.is(old.value, value)) {
        this.#lru.get(key as K & {})
        old.lastRead = now
        if (!sameHistories(old.histories, histories)) {
          this.#watch(old, false)
          old.histories = histories
          this.#watch(old, true)
        }
        this.#bytes += bytes - old.bytes
        old.bytes = bytes
        this.#enforce(old)
        return
      }
      this.#remove(old, this.#expiry(old, now) ?? 'replace')
    } else if (this.#lru.size >= this.#maxSessions) {
      this.#makeRoom(now)
    }
    // A dispose that ran above may have stored something under this key: that one is replaced.
    for (let other = this.#lru.peek(key as K & {}); other !== undefined; other = this.#lru.peek(key as K & {})) {
      this.#remove(other, 'replace')
    }
    if (this.#lru.size >= this.#lru.max) this.#growIndex()
    const entry = new Entry<K, V>(this.#resizeHandler, key, value, now, bytes, histories)
    this.#lru.set(key as K & {}, entry)
    this.#bytes += bytes
    this.#watch(entry, true)
    this.#queue.push(['create', key, value])
    this.#enforce(entry)
  }

  #makeRoom(now: number): void {
    if (this.#reject) {
      const expired: [Entry<K, V>, EvictionReason][] = []
      for (const entry of this.#lru.rvalues()) {
        if (entry === undefined) continue
        const expiry = this.#expiry(entry, now)
        if (expiry !== undefined) expired.push([entry, expiry])
      }
      for (const [entry, reason] of expired) if (entry.live) this.#remove(entry, reason)
      if (this.#lru.size >= this.#maxSessions) throw new SessionLimitError(this.#maxSessions)
      return
    }
    // Room for one more: the insertion itself then finds the store within maxSessions.
    while (this.#lru.size >= this.#maxSessions) {
      const victim = this.#leastRecentIdle(undefined)
      if (victim === undefined) return
      this.#remove(victim, this.#expiry(victim, now) ?? 'capacity')
    }
  }

  // lru-cache evicts on its own when full, and a busy session must never be evicted, so the
  // index is rebuilt larger (keeping recency) in the rare case that busy sessions overflow it.
  #growIndex(): void {
    const bigger = new LRUCache<K & {}, Entry<K, V>>({ max: this.#lru.max * 2 })
    for (const entry of this.#lru.rvalues()) if (entry !== undefined) bigger.set(entry.key as K & {}, entry)
    this.#lru = bigger
  }

  #leastRecentIdle(exclude: Entry<K, V> | undefined): Entry<K, V> | undefined {
    for (const entry of this.#lru.rvalues()) {
      if (entry !== undefined && entry !== exclude && !this.#busy(entry)) return entry
    }
    return undefined
  }

  // Evicts idle sessions, least recently used first, until both bounds hold; reports the bound
  // that busy sessions keep exceeded.
  #enforce(exclude: Entry<K, V> | undefined): void {
    let overflowed = false
    if (this.#lru.size > this.#maxSessions) overflowed = this.#evictWhile('maxSessions', 'capacity', exclude)
    if (this.#bytes > this.#maxBytes) overflowed = this.#evictWhile('maxBytes', 'size', exclude) || overflowed
    this.#overflowed = overflowed
  }

  #evictWhile(bound: 'maxSessions' | 'maxBytes', reason: EvictionReason, exclude: Entry<K, V> | undefined): boolean {
    const over = bound === 'maxSessions' ? () => this.#lru.size > this.#maxSessions : () => this.#bytes > this.#maxBytes
    let now: number | undefined
    while (over()) {
      const victim = this.#leastRecentIdle(exclude)
      if (victim === undefined) {
        const limit = bound === 'maxSessions' ? this.#maxSessions : this.#maxBytes
        this.#queue.push(['overflow', { bound, size: this.#lru.size, bytes: this.#bytes, limit }])
        return true
      }
      now ??= this.#now()
      this.#remove(victim, this.#expiry(victim, now) ?? reason)
    }
    return false
  }

  #relievePressure(): void {
    let heap = process.memoryUsage().heapUsed
    while (heap > this.#heapHighWater) {
      const victim = this.#leastRecentIdle(undefined)
      if (victim === undefined) return
      heap -= victim.bytes
      this.#remove(victim, 'pressure')
    }
  }

  // The one way out of the store. The session is fully out before dispose runs.
  #remove(entry: Entry<K, V>, reason: EvictionReason): void {
    if (!entry.live) return
    entry.live = false
    if (this.#lru.peek(entry.key as K & {}) === entry) this.#lru.delete(entry.key as K & {})
    this.#bytes -= entry.bytes
    this.#watch(entry, false)
    this.#departures[reason]++
    this.#removed++
    this.#disposeEntry(entry, reason)
    this.#queue.push(['evict', entry.key, entry.value, reason])
  }

  #disposeEntry(entry: Entry<K, V>, reason: EvictionReason): void {
    if (this.#dispose === undefined) return
    const key = entry.key
    try {
      const result = this.#dispose(entry.value, key, reason)
      if (result !== undefined && result !== null && typeof (result as Promise<void>).then === 'function') {
        const settled: Promise<void> = Promise.resolve(result).then(
          () => {
            this.#pending.delete(settled)
          },
          (error: unknown) => {
            this.#pending.delete(settled)
            this.#queue.push(['error', error, key])
            if (this.#depth === 0) {
              try {
                this.#flush()
              } catch {
                // An error listener threw while reporting an async teardown: no caller to give it to.
              }
            }
          },
        )
        this.#pending.add(settled)
      }
    } catch (error) {
      this.#queue.push(['error', error, key])
    }
  }

  #release(entry: Entry<K, V>): void {
    if (!entry.live) return
    entry.leases--
    this.#depth++
    try {
      entry.lastRead = this.#now()
      if (this.#lru.peek(entry.key as K & {}) === entry) this.#lru.get(entry.key as K & {})
      if (this.#overflowed) this.#enforce(undefined)
    } finally {
      this.#end()
    }
  }

  #resized(entry: Entry<K, V>, delta: number): void {
    if (!entry.live) return
    this.#depth++
    try {
      let bytes = entry.bytes + delta
      if (this.#sizeOf !== undefined) {
        try {
          bytes = this.#weigh(entry.key, entry.value, entry.histories)
        } catch (error) {
          this.#queue.push(['error', error, entry.key])
          bytes = entry.bytes
        }
      }
      this.#bytes += bytes - entry.bytes
      entry.bytes = bytes
      if (this.#bytes > this.#maxBytes || this.#overflowed) this.#enforce(entry)
    } finally {
      this.#end()
    }
  }

  #removeAll(reason: 'clear' | 'close'): void {
    this.#depth++
    try {
      const all: Entry<K, V>[] = []
      for (const entry of this.#lru.rvalues()) if (entry !== undefined) all.push(entry)
      for (const entry of all) this.#remove(entry, reason)
      this.#overflowed = false
    } finally {
      this.#end()
    }
  }

  #timedSweep(): void {
    try {
      this.sweep()
    } catch (error) {
      // A listener threw; no caller to give it to, so report it as the store's own error.
      try {
        this.emit('error', error, undefined)
      } catch {
        // Nothing more can be done without printing, which a library must not do.
      }
    }
  }

  *#live(): Generator<Entry<K, V>, void, undefined> {
    const all: Entry<K, V>[] = []
    for (const entry of this.#lru.values()) if (entry !== undefined) all.push(entry)
    const now = this.#now()
    for (const entry of all) {
      if (entry.live && this.#expiry(entry, now) === undefined) yield entry
    }
  }
}
