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
 * They are delivered once the operation that caused them is complete, in the order they
 * happened; a listener added while an operation runs hears from the next one.
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
   * sessions' histories as they grow. A session that alone outweighs it evicts no other session;
   * the next operation that does not use it evicts it (unless it is busy).
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
   * removed first; no live session is evicted; `getOrCreate` rejects before calling `create`). Use `'reject'` where a flood of new sessions
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
   * @defaultValue `Date.now`, read at most once per millisecond (the value is kept until an
   * `unref()`ed 1 ms timer clears it, as lru-cache's `ttlResolution` does)
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

// How the store keeps its sessions: the inner LRUCache maps each key to a slot number and keeps
// the recency order; what the store knows of a session (value, last read, weight, ...) lives in
// columns indexed by that slot. There is no object per session, so a stored session costs little
// more than it does in lru-cache itself (BENCHMARKS.md has the figures).

type IndexKey<K> = K & {}

/** A slot's weight while it is free. Real weights are never negative. */
const FREE = -1

interface ResizeHandler<K> {
  resized(watcher: SlotWatcher<K>, delta: number): void
}

// Follows the histories of one session; only sessions that hold histories have one.
class SlotWatcher<K> implements HistoryWatcher {
  constructor(
    readonly owner: ResizeHandler<K>,
    readonly key: K,
    readonly slot: number,
    public histories: WatchableHistory[],
  ) {}

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
    const property = (value as Record<string, unknown>)[name]
    if (typeof property !== 'object' || property === null || !isWatchableHistory(property)) continue
    if (Object.hasOwn(value, name) && !found?.includes(property)) (found ??= []).push(property)
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

// Sessions picked for removal, in order.
interface Picked<K, V> {
  slots: number[]
  keys: K[]
  values: V[]
}

function noneYet<K, V>(): Picked<K, V> {
  return { slots: [], keys: [], values: [] }
}

function grownFloats(column: Float64Array, capacity: number): Float64Array {
  const bigger = new Float64Array(capacity)
  bigger.set(column)
  return bigger
}

function grownInts(column: Uint32Array, capacity: number): Uint32Array {
  const bigger = new Uint32Array(capacity)
  bigger.set(column)
  return bigger
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
  // key → slot, in recency order.
  #lru: LRUCache<IndexKey<K>, number>
  // The columns, one element per slot. A free slot has weight FREE and no value.
  #values: (V | undefined)[]
  #lastRead: Float64Array
  #weights: Float64Array
  #created: Float64Array | undefined // only with maxAgeMs
  #leases: Uint32Array | undefined // from the first acquire()
  #generations: Uint32Array | undefined // with #leases: a lease of a session that left must do nothing
  #watchers: (SlotWatcher<K> | undefined)[] | undefined // from the first session with a history
  #free: Uint32Array
  #freeCount = 0
  #nextSlot = 0

  readonly #maxSessions: number
  readonly #idleTtl: number
  readonly #maxAge: number
  readonly #maxBytes: number
  readonly #sizeOf: ((value: V, key: K) => number) | undefined
  readonly #isBusy: ((value: V, key: K) => boolean) | undefined
  readonly #dispose: ((value: V, key: K, reason: EvictionReason) => void | Promise<void>) | undefined
  readonly #reject: boolean
  readonly #heapHighWater: number
  readonly #now: (() => number) | undefined
  readonly #resizeHandler: ResizeHandler<K>
  #timer: ReturnType<typeof setInterval> | undefined
  // The default clock is read at most once per millisecond, as lru-cache does (`ttlResolution`).
  #cachedNow = 0
  #clockTimer: ReturnType<typeof setTimeout> | undefined
  readonly #forgetNow = (): void => {
    this.#cachedNow = 0
    this.#clockTimer = undefined
  }

  #bytes = 0
  #oversized = 0 // sessions that alone outweigh maxBytes
  #leased = 0 // leases held on all sessions
  #popped: K | undefined // the key of the session lru.pop() took, from the index's dispose hook
  // Counters that show whether a callback called back into the store meanwhile.
  #inserts = 0 // sessions added: a slot may have been reused
  #touches = 0 // recency changed
  #overflowed = false
  #closed = false
  #closing: Promise<void> | undefined
  #pending = new Set<Promise<void>>()
  #queue: QueuedEvent<K, V>[] = []
  #flushing = false
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
    this.#now = o.now as (() => number) | undefined
    // Start small and grow (see #grow): lru-cache allocates its whole index up front.
    const capacity = Math.min(this.#maxSessions, 1024)
    this.#lru = this.#newIndex(capacity)
    this.#values = new Array<V | undefined>(capacity)
    this.#lastRead = new Float64Array(capacity)
    this.#weights = new Float64Array(capacity)
    this.#created = this.#maxAge === Infinity ? undefined : new Float64Array(capacity)
    this.#free = new Uint32Array(capacity)
    this.#resizeHandler = { resized: (watcher, delta) => this.#resized(watcher, delta) }
    const interval = o.sweepIntervalMs ?? 60_000
    if (interval > 0) this.#timer = BoundedSessionStore.#startSweeps(new WeakRef(this), interval)
  }

  // The timer holds the store weakly, so a store dropped without close() can still be collected.
  // (A static method: a closure made in the constructor would hold `this`.)
  static #startSweeps<K, V>(store: WeakRef<BoundedSessionStore<K, V>>, interval: number): ReturnType<typeof setInterval> {
    const timer = setInterval(() => {
      const self = store.deref()
      if (self === undefined) clearInterval(timer)
      else self.#timedSweep()
    }, interval)
    timer.unref?.()
    return timer
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
    const slot = this.#read(key, 'get')
    if (slot < 0) {
      this.#misses++
      return undefined
    }
    this.#hits++
    const value = this.#values[slot] as V
    // Settling runs disposes; one that removes this very session makes the read a miss after all.
    if (this.#overflowed && !this.#settleKeeping(slot, key, value)) return undefined
    return value
  }

  /**
   * Refreshes a session's idle time and recency, as `get` does.
   *
   * @returns whether a live session was found
   * @throws {@link StoreClosedError} after `close()`
   */
  touch(key: K): boolean {
    const slot = this.#read(key, 'touch')
    if (slot < 0) return false
    return !this.#overflowed || this.#settleKeeping(slot, key, this.#values[slot] as V)
  }

  /**
   * The live session under `key`, refreshing nothing and removing nothing.
   *
   * @throws {@link StoreClosedError} after `close()`
   */
  peek(key: K): V | undefined {
    this.#assertOpen('peek')
    const slot = this.#lru.peek(key as IndexKey<K>)
    if (slot === undefined) return undefined
    const now = this.#clock()
    if (this.#outOfTime(slot, now) && this.#checkedExpiry(slot, key, now) !== undefined) return undefined
    return this.#values[slot] as V
  }

  /**
   * Whether a live session is held under `key`. Refreshes nothing.
   *
   * @throws {@link StoreClosedError} after `close()`
   */
  has(key: K): boolean {
    this.#assertOpen('has')
    const slot = this.#lru.peek(key as IndexKey<K>)
    if (slot === undefined) return false
    const now = this.#clock()
    return !this.#outOfTime(slot, now) || this.#checkedExpiry(slot, key, now) === undefined
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
      this.#put(key, value, this.#clock())
    } finally {
      this.#end()
    }
    return this
  }

  /**
   * The live session under `key` (refreshed, as by `get`), or a new one made by `create(key)`
   * and stored. If `create` throws, the store is unchanged. With `whenFull: 'reject'` and
   * `maxSessions` live sessions held, it throws {@link SessionLimitError} without calling `create`.
   *
   * @throws {@link SessionLimitError} with `whenFull: 'reject'` when `maxSessions` live sessions are held
   * @throws {@link StoreClosedError} after `close()`
   * @example
   * ```ts
   * const session = store.getOrCreate(id, (id) => createSession(id))
   * ```
   */
  getOrCreate(key: K, create: (key: K) => V): V {
    this.#assertOpen('getOrCreate')
    this.#depth++
    try {
      // peek first: a miss must leave the order alone if create throws.
      const inserts = this.#inserts
      const found = this.#lru.peek(key as IndexKey<K>)
      const now = this.#clock()
      if (found !== undefined && this.#expiry(found, key, now) === undefined && this.#holds(found, key, inserts)) {
        this.#lru.get(key as IndexKey<K>)
        this.#touches++
        this.#lastRead[found] = now
        this.#hits++
        const value = this.#values[found] as V
        if (!this.#overflowed) return value
        const before = this.#inserts
        this.#enforce(found, true)
        if (this.#holdsValue(found, key, value, before)) return value
        // A dispose run to settle the overflow removed it: start again.
        this.#hits--
        return this.getOrCreate(key, create)
      }
      this.#misses++
      // A store that must reject the new session does so before create runs: nothing to undo.
      if (found === undefined && this.#reject && this.#lru.size >= this.#maxSessions) this.#makeRoom(now)
      // create runs before anything else changes, so that if it throws, even an expired session
      // under this key is still in place.
      const value = create(key)
      this.#assertOpen('getOrCreate')
      this.#put(key, value, this.#clock())
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
    const slot = this.#lru.peek(key as IndexKey<K>)
    if (slot === undefined) return false
    this.#depth++
    try {
      const expiry = this.#expiry(slot, key, this.#clock())
      this.#remove(slot, key, expiry ?? 'delete', true)
      if (this.#overflowed) this.#enforce(-1, false)
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
    const slot = this.#read(key, 'acquire')
    if (slot < 0) {
      this.#misses++
      return undefined
    }
    this.#hits++
    if (this.#leases === undefined || this.#generations === undefined) {
      this.#leases = new Uint32Array(this.#capacity)
      this.#generations = new Uint32Array(this.#capacity)
    }
    // Held before settling a pending overflow. If a dispose run by settling removes the session
    // all the same, the lease is void and there is nothing to return.
    this.#leases[slot]!++
    this.#leased++
    const generation = this.#generations[slot] as number
    const value = this.#values[slot] as V
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      this.#release(slot, key, generation)
    }
    if (this.#overflowed && !this.#settleKeeping(slot, key, value)) return undefined
    return { key, value, release, [Symbol.dispose]: release }
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
      this.#removeExpired(this.#clock())
      this.#enforce(-1, false)
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
    if (this.#clockTimer !== undefined) clearTimeout(this.#clockTimer)
    this.#forgetNow()
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
    for (const [key] of this.#live()) yield key
  }

  /** The live sessions, most recently used first. */
  *values(): IterableIterator<V> {
    for (const [, value] of this.#live()) yield value
  }

  /** `[key, session]` pairs of the live sessions, most recently used first. */
  entries(): IterableIterator<[K, V]> {
    return this.#live()
  }

  /** Same as {@link BoundedSessionStore.entries}. */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries()
  }

  /** Calls `fn` for every live session, most recently used first, as `Map.prototype.forEach` does. */
  forEach(fn: (value: V, key: K, store: this) => void): void {
    for (const [key, value] of this.#live()) fn(value, key, this)
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

  #newIndex(max: number): LRUCache<IndexKey<K>, number> {
    return new LRUCache<IndexKey<K>, number>({
      max,
      // Called for every key that leaves the index; only pop() needs to know which one it was.
      dispose: (_slot, key) => {
        this.#popped = key
      },
    })
  }

  get #capacity(): number {
    return this.#lastRead.length
  }

  #clock(): number {
    if (this.#now !== undefined) return this.#now()
    if (this.#cachedNow !== 0) return this.#cachedNow
    const now = Date.now()
    if (!this.#closed) {
      this.#cachedNow = now
      this.#clockTimer = setTimeout(this.#forgetNow, 1)
      this.#clockTimer.unref?.()
    }
    return now
  }

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
      if (this.#queue.length > 0) this.#flush()
    }
  }

  // Delivers the queued events in order. Events queued by listeners that call back into the store
  // are delivered by the same loop, after the ones already queued.
  #flush(): void {
    if (this.#flushing) return
    this.#flushing = true
    let failed = false
    let error: unknown
    try {
      while (this.#queue.length > 0) {
        const queue = this.#queue
        this.#queue = []
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
      }
    } finally {
      this.#flushing = false
    }
    if (failed) throw error
  }

  // Events nobody listens to are not queued. A listener added while an operation runs hears
  // from the next one.
  #hears(event: keyof SessionStoreEvents<K, V>): boolean {
    // eventemitter3 counts its listeners in `_eventsCount`: none at all is the common case, and
    // reading it is much cheaper than a listenerCount() lookup by name. If a later version drops
    // the field, listenerCount() answers.
    if ((this as unknown as { _eventsCount?: number })._eventsCount === 0) return false
    return this.listenerCount(event) > 0
  }

  #queueError(error: unknown, key: K | undefined): void {
    if (this.#hears('error')) this.#queue.push(['error', error, key])
  }

  // The read path shared by get, touch and acquire: the session's slot, or -1. The caller
  // settles a pending overflow once it has what it needs from the slot.
  #read(key: K, method: string): number {
    this.#assertOpen(method)
    const slot = this.#lru.get(key as IndexKey<K>)
    if (slot === undefined) {
      if (this.#overflowed) this.#settle(-1, false)
      return -1
    }
    this.#touches++
    const now = this.#clock()
    if (this.#outOfTime(slot, now)) {
      const inserts = this.#inserts
      this.#depth++
      try {
        const expiry = this.#expiry(slot, key, now)
        // isBusy must not call back into the store; if it did and the session went, it is a miss.
        if (!this.#holds(slot, key, inserts)) return -1
        if (expiry !== undefined) {
          this.#remove(slot, key, expiry, true)
          if (this.#overflowed) this.#enforce(-1, false)
          return -1
        }
      } finally {
        this.#end()
      }
    }
    this.#lastRead[slot] = now
    return slot
  }

  // Settles a pending overflow for a read of the session in `slot`; whether it is still there.
  #settleKeeping(slot: number, key: K, value: V): boolean {
    const inserts = this.#inserts
    this.#settle(slot, true)
    return this.#holdsValue(slot, key, value, inserts)
  }

  // Retries the bounds that busy sessions kept exceeded: some may be idle by now.
  #settle(exclude: number, recent: boolean): void {
    this.#depth++
    try {
      this.#enforce(exclude, recent)
    } finally {
      this.#end()
    }
  }

  #busy(slot: number, key: K): boolean {
    if (this.#leases !== undefined && (this.#leases[slot] as number) > 0) return true
    if (this.#isBusy === undefined) return false
    try {
      return this.#isBusy(this.#values[slot] as V, key) === true
    } catch (error) {
      // A failing check must not lead to tearing down a session that may be at work.
      this.#queueError(error, key)
      return true
    }
  }

  // Whether the session is past its idle time or its max age (busy or not).
  #outOfTime(slot: number, now: number): boolean {
    return now - (this.#lastRead[slot] as number) >= this.#idleTtl || (this.#created !== undefined && now - (this.#created[slot] as number) >= this.#maxAge)
  }

  #expiry(slot: number, key: K, now: number): 'idle' | 'max-age' | undefined {
    const old = this.#created !== undefined && now - (this.#created[slot] as number) >= this.#maxAge
    if (!old && now - (this.#lastRead[slot] as number) < this.#idleTtl) return undefined
    if (this.#busy(slot, key)) return undefined
    return old ? 'max-age' : 'idle'
  }

  // #expiry for the paths that are not inside an operation: delivers an isBusy error at once.
  #checkedExpiry(slot: number, key: K, now: number): 'idle' | 'max-age' | undefined {
    this.#depth++
    try {
      return this.#expiry(slot, key, now)
    } finally {
      this.#end()
    }
  }

  // Whether `slot` still holds the session that was under `key` when `inserts` was read: a slot
  // is reused only by an insert.
  #holds(slot: number, key: K, inserts: number): boolean {
    if ((this.#weights[slot] as number) < 0) return false
    return this.#inserts === inserts || this.#lru.peek(key as IndexKey<K>) === slot
  }

  // #holds, and the session is still `value` (not a new one stored under the same key since).
  #holdsValue(slot: number, key: K, value: V, inserts: number): boolean {
    return this.#holds(slot, key, inserts) && (this.#inserts === inserts || this.#values[slot] === value)
  }

  // Sets a session's weight, keeping the total and the count of oversized sessions.
  #setWeight(slot: number, bytes: number): void {
    const old = this.#weights[slot] as number
    if (old > this.#maxBytes) this.#oversized--
    if (bytes > this.#maxBytes) this.#oversized++
    this.#bytes += bytes - (old < 0 ? 0 : old)
    this.#weights[slot] = bytes
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

  #watch(slot: number, key: K, histories: WatchableHistory[] | undefined): void {
    const current = this.#watchers?.[slot]
    if (sameHistories(current?.histories, histories)) return
    if (current !== undefined) {
      for (const history of current.histories) history[watchKey](current, false)
      ;(this.#watchers as (SlotWatcher<K> | undefined)[])[slot] = undefined
    }
    if (histories === undefined) return
    this.#watchers ??= new Array<SlotWatcher<K> | undefined>(this.#capacity)
    const watcher = new SlotWatcher(this.#resizeHandler, key, slot, histories)
    this.#watchers[slot] = watcher
    for (const history of histories) history[watchKey](watcher, true)
  }

  // set() and the insert half of getOrCreate().
  #put(key: K, value: V, now: number): void {
    const histories = historiesOf(value)
    let bytes = this.#weigh(key, value, histories)
    const inserts = this.#inserts
    const removed = this.#removed
    const found = this.#lru.get(key as IndexKey<K>)
    if (found !== undefined) {
      this.#touches++
      // The same value is a refresh even if it had expired: it stays, so it must not be disposed.
      if (Object.is(this.#values[found], value)) {
        this.#lastRead[found] = now
        if (histories !== undefined || this.#watchers !== undefined) this.#watch(found, key, histories)
        this.#setWeight(found, bytes)
        if (this.#mustEnforce()) this.#enforce(found, true)
        return
      }
      this.#remove(found, key, this.#expiry(found, key, now) ?? 'replace', true)
    } else if (this.#lru.size >= this.#maxSessions) {
      this.#makeRoom(now)
    }
    // A dispose that ran above may have stored something under this key: that one is replaced.
    if (this.#inserts !== inserts) {
      for (let other = this.#lru.peek(key as IndexKey<K>); other !== undefined; other = this.#lru.peek(key as IndexKey<K>)) {
        this.#remove(other, key, 'replace', true)
      }
    }
    if (this.#removed !== removed && this.#dispose !== undefined) {
      // A dispose that ran above may have pushed to this session's histories, which are not
      // watched yet: weigh it again. (The first weighing checked sizeOf before anything changed.)
      try {
        bytes = this.#weigh(key, value, histories)
      } catch (error) {
        this.#queueError(error, key)
      }
    }
    if (this.#lru.size >= this.#lru.max) this.#grow()
    const slot = this.#freeCount > 0 ? (this.#free[--this.#freeCount] as number) : this.#nextSlot++
    this.#values[slot] = value
    this.#lastRead[slot] = now
    this.#setWeight(slot, bytes)
    if (this.#created !== undefined) this.#created[slot] = now
    this.#lru.set(key as IndexKey<K>, slot)
    this.#inserts++
    this.#touches++
    if (histories !== undefined) this.#watch(slot, key, histories)
    if (this.#hears('create')) this.#queue.push(['create', key, value])
    if (this.#mustEnforce()) this.#enforce(slot, true)
  }

  // Makes room for one more session when maxSessions are held.
  #makeRoom(now: number): void {
    if (this.#reject) {
      this.#removeExpired(now)
      if (this.#lru.size >= this.#maxSessions) throw new SessionLimitError(this.#maxSessions)
      return
    }
    // Room for one more: the insertion itself then finds the store within maxSessions. If busy
    // sessions leave no room, the insertion reports the overflow.
    this.#evictWhile(false, this.#maxSessions - 1, 'capacity', -1, false)
  }

  // The index and the columns grow together: by doubling up to maxSessions, and beyond it only
  // in the rare case that busy sessions overflow it (lru-cache would evict on its own when full,
  // and a busy session must never be evicted).
  #grow(): void {
    const max = this.#lru.max
    const capacity = max < this.#maxSessions ? Math.min(max * 2, this.#maxSessions) : max * 2
    const index = this.#newIndex(capacity)
    this.#lru.rforEach((slot, key) => {
      index.set(key, slot)
    })
    this.#lru = index
    this.#values.length = capacity
    this.#lastRead = grownFloats(this.#lastRead, capacity)
    this.#weights = grownFloats(this.#weights, capacity)
    if (this.#created !== undefined) this.#created = grownFloats(this.#created, capacity)
    if (this.#leases !== undefined) this.#leases = grownInts(this.#leases, capacity)
    if (this.#generations !== undefined) this.#generations = grownInts(this.#generations, capacity)
    if (this.#watchers !== undefined) this.#watchers.length = capacity
    this.#free = grownInts(this.#free, capacity)
  }

  // Evicts idle sessions, least recently used first, until both bounds hold; reports the bound
  // that busy sessions keep exceeded. `exclude` (a slot, or -1) is never evicted; `recent` says
  // that it is the most recently used session.
  #enforce(exclude: number, recent: boolean): void {
    let overflowed = false
    if (this.#lru.size > this.#maxSessions && this.#evictWhile(false, this.#maxSessions, 'capacity', exclude, recent)) {
      overflowed = true
      this.#reportOverflow('maxSessions', this.#maxSessions)
    }
    if (this.#bytes > this.#maxBytes) {
      // A session that alone outweighs maxBytes can never fit: idle ones go first. The one this
      // operation uses stays, and evicting the others for it would only empty the store: they
      // stay too, the overflow is reported, and the next operation that does not use it evicts it.
      const hopeless = exclude >= 0 && (this.#weights[exclude] as number) > this.#maxBytes
      if (this.#oversized > (hopeless ? 1 : 0)) this.#evictOversized(exclude)
      if (this.#bytes > this.#maxBytes && (hopeless || this.#evictWhile(true, this.#maxBytes, 'size', exclude, recent))) {
        overflowed = true
        this.#reportOverflow('maxBytes', this.#maxBytes)
      }
    }
    this.#overflowed = overflowed
  }

  // Whether #enforce has anything to do: a bound is exceeded, or one was.
  #mustEnforce(): boolean {
    return this.#overflowed || this.#lru.size > this.#maxSessions || this.#bytes > this.#maxBytes
  }

  #reportOverflow(bound: 'maxSessions' | 'maxBytes', limit: number): void {
    if (this.#hears('overflow')) {
      this.#queue.push(['overflow', { bound, size: this.#lru.size, bytes: this.#bytes, limit }])
    }
  }

  #over(bytes: boolean, limit: number): boolean {
    return bytes ? this.#bytes > limit : this.#lru.size > limit
  }

  // Evicts while the store holds more than `limit` sessions (or bytes). Returns whether it had to
  // stop because every session left is busy (or excluded).
  #evictWhile(bytes: boolean, limit: number, reason: EvictionReason, exclude: number, recent: boolean): boolean {
    const touches = this.#touches
    let now = 0
    while (this.#over(bytes, limit)) {
      // Nothing can be busy, and the excluded session (if any) is the most recent: the least
      // recently used session is the one to go, and the index hands it over without a search.
      if (
        this.#isBusy === undefined &&
        this.#leased === 0 &&
        (exclude < 0 || (recent && this.#touches === touches && this.#lru.size > 1)) &&
        this.#lru.size > 0
      ) {
        const slot = this.#lru.pop() as number
        const key = this.#popped as K
        this.#popped = undefined
        now ||= this.#clock()
        this.#remove(slot, key, this.#expiry(slot, key, now) ?? reason, false)
        continue
      }
      if (!this.#evictScan(bytes, limit, reason, exclude)) return true
    }
    return false
  }

  // One pass from the least recently used end: picks the idle sessions whose removal brings the
  // store within the bound, then removes them. Returns whether it picked any.
  #evictScan(bytes: boolean, limit: number, reason: EvictionReason, exclude: number): boolean {
    const picked = this.#pickIdle(exclude, bytes ? this.#bytes - limit : this.#lru.size - limit, bytes, -1)
    if (picked.slots.length === 0) return false
    this.#removePicked(picked, reason, bytes, limit)
    return true
  }

  // Evicts the idle sessions (but `exclude`) that alone outweigh maxBytes: they can never fit.
  #evictOversized(exclude: number): void {
    const picked = this.#pickIdle(exclude, this.#bytes - this.#maxBytes, true, this.#maxBytes)
    this.#removePicked(picked, 'size', true, this.#maxBytes)
  }

  // Picks idle sessions other than `exclude`, least recently used first, until they make up
  // `excess`: a number of sessions, or of bytes with `byWeight`. Only sessions that weigh more
  // than `heavierThan` are picked.
  #pickIdle(exclude: number, excess: number, byWeight: boolean, heavierThan: number): Picked<K, V> {
    const picked = noneYet<K, V>()
    for (const key of this.#lru.rkeys()) {
      if (excess <= 0) break
      const slot = this.#lru.peek(key) as number
      const weight = this.#weights[slot] as number
      if (slot === exclude || weight <= heavierThan || this.#busy(slot, key)) continue
      this.#pick(picked, slot, key)
      excess -= byWeight ? weight : 1
    }
    return picked
  }

  #pick(picked: Picked<K, V>, slot: number, key: K): void {
    picked.slots.push(slot)
    picked.keys.push(key)
    picked.values.push(this.#values[slot] as V)
  }

  // Removes picked sessions while the store holds more than `limit` sessions (or bytes). The
  // dispose of one may have changed the others: each is checked again (still held, still idle).
  #removePicked(picked: Picked<K, V>, reason: EvictionReason, bytes: boolean, limit: number): void {
    const { slots, keys, values } = picked
    const inserts = this.#inserts
    const now = this.#clock()
    for (let i = 0; i < slots.length; i++) {
      if (!this.#over(bytes, limit)) return
      const slot = slots[i] as number
      const key = keys[i] as K
      if (!this.#holdsValue(slot, key, values[i] as V, inserts)) continue
      if (i > 0 && this.#busy(slot, key)) continue
      this.#remove(slot, key, this.#expiry(slot, key, now) ?? reason, true)
    }
  }

  #removeExpired(now: number): void {
    if (this.#dispose === undefined) {
      // No callback can run while a session goes (events wait for the end of the operation), so
      // sessions go as the walk meets them. lru-cache's own purgeStale() deletes the same way: a
      // deleted entry keeps its link to the next one.
      this.#lru.rforEach((slot, key) => {
        if (!this.#outOfTime(slot, now)) return
        const expiry = this.#expiry(slot, key, now)
        if (expiry !== undefined) this.#remove(slot, key, expiry, true)
      })
      return
    }
    // Collect first, remove after: dispose may call back into the store.
    const picked = noneYet<K, V>()
    const reasons: EvictionReason[] = []
    this.#lru.rforEach((slot, key) => {
      if (!this.#outOfTime(slot, now)) return
      const expiry = this.#expiry(slot, key, now)
      if (expiry === undefined) return
      this.#pick(picked, slot, key)
      reasons.push(expiry)
    })
    const { slots, keys, values } = picked
    const inserts = this.#inserts
    const touches = this.#touches
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i] as number
      const key = keys[i] as K
      if (!this.#holdsValue(slot, key, values[i] as V, inserts)) continue
      // A dispose or a read may have refreshed it or made it busy meanwhile: then it is checked again.
      const unchanged = i === 0 || (this.#dispose === undefined && this.#touches === touches && this.#leased === 0)
      const reason = unchanged ? reasons[i] : this.#expiry(slot, key, now)
      if (reason !== undefined) this.#remove(slot, key, reason, true)
    }
  }

  #relievePressure(): void {
    const heap = process.memoryUsage().heapUsed
    if (heap <= this.#heapHighWater) return
    const picked = this.#pickIdle(-1, heap - this.#heapHighWater, true, -1)
    // A limit of -1 bytes: every picked session goes (the heap is not measured again meanwhile).
    this.#removePicked(picked, 'pressure', true, -1)
  }

  // The one way out of the store. The session is fully out before dispose runs. `indexed`: the
  // key is still in the index (pop() has already taken it out otherwise).
  #remove(slot: number, key: K, reason: EvictionReason, indexed: boolean): void {
    // Already gone (an isBusy that called back into the store): nothing to do twice.
    if ((this.#weights[slot] as number) < 0) return
    if (indexed) {
      this.#lru.delete(key as IndexKey<K>)
      this.#popped = undefined // the index's dispose hook noted the key: hold no reference to it
    }
    const value = this.#values[slot] as V
    const weight = this.#weights[slot] as number
    if (weight > this.#maxBytes) this.#oversized--
    this.#bytes -= weight
    const watcher = this.#watchers?.[slot]
    if (watcher !== undefined) {
      for (const history of watcher.histories) history[watchKey](watcher, false)
      ;(this.#watchers as (SlotWatcher<K> | undefined)[])[slot] = undefined
    }
    if (this.#leases !== undefined && this.#generations !== undefined) {
      this.#leased -= this.#leases[slot] as number
      this.#leases[slot] = 0
      this.#generations[slot]!++
    }
    this.#weights[slot] = FREE
    this.#values[slot] = undefined
    this.#free[this.#freeCount++] = slot
    this.#departures[reason]++
    this.#removed++
    this.#disposeSession(value, key, reason)
    if (this.#hears('evict')) this.#queue.push(['evict', key, value, reason])
  }

  #disposeSession(value: V, key: K, reason: EvictionReason): void {
    if (this.#dispose === undefined) return
    try {
      const result = this.#dispose(value, key, reason)
      if (result !== undefined && result !== null && typeof (result as Promise<void>).then === 'function') {
        const settled: Promise<void> = Promise.resolve(result).then(
          () => {
            this.#pending.delete(settled)
          },
          (error: unknown) => {
            this.#pending.delete(settled)
            this.#queueError(error, key)
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
      this.#queueError(error, key)
    }
  }

  #release(slot: number, key: K, generation: number): void {
    // The session left (and the slot may hold another one now): nothing to release.
    if (this.#generations?.[slot] !== generation || this.#leases === undefined) return
    this.#leases[slot]!--
    this.#leased--
    this.#depth++
    try {
      this.#lastRead[slot] = this.#clock()
      this.#lru.get(key as IndexKey<K>)
      this.#touches++
      if (this.#overflowed) this.#enforce(-1, false)
    } finally {
      this.#end()
    }
  }

  #resized(watcher: SlotWatcher<K>, delta: number): void {
    const slot = watcher.slot
    if (this.#watchers?.[slot] !== watcher) return
    this.#depth++
    try {
      const old = this.#weights[slot] as number
      let bytes = old + delta
      if (this.#sizeOf !== undefined) {
        try {
          bytes = this.#weigh(watcher.key, this.#values[slot] as V, watcher.histories)
        } catch (error) {
          this.#queueError(error, watcher.key)
          bytes = old
        }
      }
      this.#setWeight(slot, bytes)
      if (this.#bytes > this.#maxBytes || this.#overflowed) this.#enforce(slot, false)
    } finally {
      this.#end()
    }
  }

  #removeAll(reason: 'clear' | 'close'): void {
    this.#depth++
    try {
      // Sessions stored by a dispose while this runs were not there when it started: they stay.
      const { slots, keys, values } = this.#snapshot(true)
      const inserts = this.#inserts
      for (let i = 0; i < slots.length; i++) {
        const slot = slots[i] as number
        const key = keys[i] as K
        if (this.#holdsValue(slot, key, values[i] as V, inserts)) this.#remove(slot, key, reason, true)
      }
      this.#overflowed = false
    } finally {
      this.#end()
    }
  }

  // Every session, least recently used first or most recently used first.
  #snapshot(oldestFirst: boolean): Picked<K, V> {
    const picked = noneYet<K, V>()
    const add = (slot: number, key: K): void => this.#pick(picked, slot, key)
    if (oldestFirst) this.#lru.rforEach(add)
    else this.#lru.forEach(add)
    return picked
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

  // The live sessions, most recently used first: those present when iteration starts, skipping
  // any that leave or expire before their turn.
  *#live(): Generator<[K, V], undefined, undefined> {
    const { slots, keys } = this.#snapshot(false)
    const inserts = this.#inserts
    const now = this.#clock()
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i] as number
      const key = keys[i] as K
      if (!this.#holds(slot, key, inserts)) continue
      if (this.#outOfTime(slot, now) && this.#checkedExpiry(slot, key, now) !== undefined) continue
      yield [key, this.#values[slot] as V]
    }
    return undefined
  }
}
