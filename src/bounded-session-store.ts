import { EventEmitter } from 'eventemitter3'
import { LRUCache } from 'lru-cache'
import * as z from 'zod/mini'
import {
  DisposeTimeoutError,
  InvalidArgumentError,
  InvalidClockError,
  InvalidMeasurementError,
  SessionClosingError,
  SessionCreatingError,
  SessionLimitError,
  StoreClosedError,
} from './errors.js'
import { type HistoryWatcher, isWatchableHistory, type WatchableHistory, watchKey } from './history-watch.js'
import { callback, lazyOptionsParser, positiveInteger, positiveNumber } from './options.js'

/**
 * Why a session was removed from the store, as given to `dispose`, to the `remove` event and
 * counted in `stats().removed`.
 *
 * - `'idle'`: not active for `idleTtlMs`.
 * - `'max-age'`: older than `maxAgeMs`.
 * - `'capacity'`: evicted to keep `maxSessions`.
 * - `'size'`: evicted to keep `maxBytes`.
 * - `'pressure'`: evicted because the process heap was above `heapHighWaterBytes`.
 * - `'delete'`: removed by `delete()` or `remove()`.
 * - `'replace'`: `set()` put a different value under its key.
 * - `'clear'`: removed by `clear()`.
 * - `'close'`: removed by `close()`.
 */
export type RemovalReason =
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
 * happened, before the method that caused them returns; a listener added while an operation
 * runs hears from the next one.
 *
 * @typeParam K - the key type
 * @typeParam V - the session type
 * @typeParam R - the host's own removal reasons, given to `delete` and `remove`
 */
export interface SessionStoreEvents<K, V, R extends string = never> {
  /** A session was added (by `set`, `getOrCreate` or `getOrCreateAsync`). */
  create: [key: K, value: V]
  /** A session was removed from the store; its `dispose` has been called. */
  remove: [key: K, value: V, reason: RemovalReason | R]
  /**
   * A session has been found busy without a break for longer than `maxBusyMs`: from now on being
   * busy no longer protects it (it expires when idle for `idleTtlMs` and can be evicted). Once
   * per stretch: a session found idle again, or stored again, starts afresh.
   */
  stranded: [key: K, value: V, busyForMs: number]
  /** A bound could not be met because the sessions over it are busy or leased. */
  overflow: [info: OverflowInfo]
  /**
   * A `dispose` threw, rejected or did not settle in `disposeTimeoutMs`, or `isBusy` or a
   * re-run `sizeOf` threw, or a listener threw where no caller could be given the error. With
   * no `error` listener, the first such error of a store is reported by `process.emitWarning`.
   */
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
  /** Ends the hold and counts as activity of the session. Releasing twice is harmless. */
  release(): void
  /** Same as `release()`, for `using`. */
  [Symbol.dispose](): void
}

/** Why a key's session left, and when: what {@link BoundedSessionStore.lastRemoval} returns. */
export interface RemovalRecord<R extends string = never> {
  /** The reason given to `dispose` and the `remove` event. */
  readonly reason: RemovalReason | R
  /** When, by the store's clock (`now`; `Date.now()` by default), in milliseconds. */
  readonly at: number
}

/** Options of {@link BoundedSessionStore.delete} and {@link BoundedSessionStore.remove}. */
export interface DeleteOptions<R extends string = never> {
  /**
   * The host's own reason for the removal (such as `'generator-exited'`), given to `dispose`, the
   * `remove` event and `lastRemoval` instead of `'delete'`; counted as `delete` in `stats()`.
   *
   * @defaultValue 'delete'
   */
  reason?: R | 'delete' | undefined
}

/** Options of {@link BoundedSessionStore.set} and {@link BoundedSessionStore.getOrCreate}. */
export interface SetOptions {
  /**
   * What to do for this call with a key whose previous session is still being torn down, as the
   * store-wide `whenReserved` option (which it overrides).
   *
   * @defaultValue the store's `whenReserved`
   */
  whenReserved?: 'reject' | 'allow' | undefined
}

/** Counters returned by {@link BoundedSessionStore.stats}. */
export interface SessionStoreStats {
  /** Live sessions held now (what iteration yields), as `size`. */
  size: number
  /** The most sessions held at the end of any operation. */
  peakSize: number
  /** Bytes held now, as `sizeOf` weighs the sessions. */
  bytes: number
  /** The most bytes held at the end of any operation. */
  peakBytes: number
  /** Reads (`get`, `getOrCreate`, `getOrCreateAsync`, `acquire`) that found a live session. */
  hits: number
  /** Reads that did not. */
  misses: number
  /** Sessions removed from the store, by reason. */
  removed: Record<RemovalReason, number>
  /** Errors reported (`error` events, or warnings when nobody listened). */
  errors: number
  /** Teardowns (`dispose` promises) still running, timed-out ones excluded. */
  tearingDown: number
}

/**
 * Options of {@link BoundedSessionStore}. Every field is optional.
 *
 * @typeParam K - the key type
 * @typeParam V - the session type
 * @typeParam R - the host's own removal reasons, given to `delete` and `remove`
 */
export interface BoundedSessionStoreOptions<K, V, R extends string = never> {
  /**
   * The most sessions held. A positive integer. When it is reached, adding a session evicts the
   * least recently active idle one (or throws, with `whenFull: 'reject'`).
   *
   * @defaultValue 100
   */
  maxSessions?: number | undefined
  /**
   * How long a session may go without activity before it expires, in milliseconds. Activity is a
   * read (`get`, `getOrCreate`, `touch`, `acquire`, `set`), the release of a lease, or being
   * found busy by `isBusy` when a sweep or an eviction considers it. Any finite positive number:
   * no timer is started per session, so values beyond 2^31 ms work.
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
   * sessions' histories as they grow. An idle session that alone outweighs it is removed before
   * any other session is evicted or a new one refused.
   *
   * @defaultValue no limit
   */
  maxBytes?: number | undefined
  /**
   * The weight of one session in bytes, a finite number from 0 to 2^32 - 1. Run when the session
   * is added or set again, and again after every push to one of its histories.
   *
   * @defaultValue {@link SESSION_OVERHEAD_BYTES} plus the `bytes` of every `RingBufferHistory`
   * among the session's own enumerable properties (found when it is added or set again), or of
   * the session itself when it is a `RingBufferHistory`
   */
  sizeOf?: ((value: V, key: K) => number) | undefined
  /**
   * Whether a session is at work and must not be torn down (for the claude-mem worker:
   * `s => s.generatorPromise !== null`). Busy sessions are never removed by `idle`, `max-age`,
   * `capacity`, `size` or `pressure`, and being found busy counts as activity. Called only when
   * such a removal is considered. It must not call back into the store.
   *
   * Over a bound with every session busy, the store does not ask again on every operation: it
   * asks again once something can have become idle (a lease released, a `sweep()` (every
   * `sweepIntervalMs`), a `set`, a `touch` of any session), so a host whose session finished its
   * work can `touch` it to have the bound settled at once.
   *
   * @defaultValue never busy
   */
  isBusy?: ((value: V, key: K) => boolean) | undefined
  /**
   * Tears a session down (abort its controller, await its work, free its queues). Called exactly
   * once for every session removed, for whatever reason, after the operation that removed it is
   * complete and before that operation returns. It may call back into the store. A promise it
   * returns is awaited by `close()`, `remove()` and `settled()` (at most `disposeTimeoutMs`), and
   * keeps the key reserved until it settles; a throw or rejection is reported as an `error`.
   *
   * @defaultValue none
   */
  dispose?: ((value: V, key: K, reason: RemovalReason | R) => void | Promise<void>) | undefined
  /**
   * The longest a session may be found busy without a break (by `isBusy` or a lease) and still be
   * protected, in milliseconds: past it the session is stranded (buffered work nothing will
   * resume), a `stranded` event fires once, and from then on being busy no longer protects it.
   * Busy is found by the sweep and the eviction scans, so a stretch counts from the first time
   * one found it busy. Any finite positive number.
   *
   * @defaultValue no limit
   */
  maxBusyMs?: number | undefined
  /**
   * How long `close()`, `remove()`, `settled()` and a key's reservation wait for a `dispose`
   * promise, in milliseconds, from 1 to 2^31 - 1 (what `setTimeout` can wait; about 24.8
   * days). A teardown that takes longer is reported as an `error` ({@link DisposeTimeoutError},
   * `ERR_DISPOSE_TIMEOUT`) and no longer waited for. Timed by `monotonicNow`, so a wall clock
   * that goes back cannot keep a teardown pending.
   *
   * @defaultValue 30_000
   */
  disposeTimeoutMs?: number | undefined
  /**
   * What adding a session does when `maxSessions` are held: `'evict'` the least recently active
   * idle session, or `'reject'` the new one with {@link SessionLimitError} (expired sessions and
   * idle sessions that alone outweigh `maxBytes` are removed first; no other session is ever
   * evicted for `capacity`; `getOrCreate` rejects before calling `create`). Use `'reject'` where
   * a flood of new sessions must not push out legitimate ones.
   *
   * @defaultValue 'evict'
   */
  whenFull?: 'evict' | 'reject' | undefined
  /**
   * What `set` and `getOrCreate` do with a key whose previous session is still being torn down
   * (its `dispose` promise has not settled): `'reject'` throws {@link SessionClosingError}
   * (`ERR_SESSION_CLOSING`); `'allow'` stores the new session beside the running teardown.
   * `getOrCreateAsync` waits for the teardown in either case.
   *
   * @defaultValue 'reject'
   */
  whenReserved?: 'reject' | 'allow' | undefined
  /**
   * How often to sweep expired sessions out, in milliseconds: one `unref()`ed timer per store.
   * `0` starts no timer; then call `sweep()` yourself.
   *
   * @defaultValue 60_000
   */
  sweepIntervalMs?: number | undefined
  /**
   * On each sweep, if the process heap (`process.memoryUsage().heapUsed`) is above this many
   * bytes, evict idle sessions, least recently active first, until the heap less the bytes of the
   * sessions evicted is below it or no idle session is left.
   *
   * @defaultValue no heap check
   */
  heapHighWaterBytes?: number | undefined
  /**
   * The clock, in milliseconds. Inject one for deterministic tests. A clock that returns anything
   * but a finite number makes the method that read it throw {@link InvalidClockError}.
   *
   * @defaultValue `Date.now`, read at most once per millisecond (the value is kept until an
   * `unref()`ed 1 ms timer clears it, as lru-cache's `ttlResolution` does)
   */
  now?: (() => number) | undefined
  /**
   * The monotonic clock, in milliseconds, that times teardowns against `disposeTimeoutMs`.
   * Inject one for deterministic tests; a reading that is not a finite number is reported as an
   * `error` ({@link InvalidClockError}) and replaced by `performance.now()`.
   *
   * @defaultValue `performance.now`
   */
  monotonicNow?: (() => number) | undefined
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
    maxBusyMs: positiveNumber(),
    disposeTimeoutMs: z.optional(z.number().check(z.positive(), z.lte(2 ** 31 - 1))),
    whenFull: z.optional(z.enum(['evict', 'reject'])),
    whenReserved: z.optional(z.enum(['reject', 'allow'])),
    sweepIntervalMs: z.optional(z.number().check(z.int(), z.nonnegative(), z.lte(2 ** 31 - 1))),
    heapHighWaterBytes: positiveInteger(),
    now: callback(),
    monotonicNow: callback(),
  }),
  expected: {
    maxSessions: 'an integer from 1 to 2147483647',
    idleTtlMs: 'a positive finite number',
    maxAgeMs: 'a positive finite number',
    maxBytes: 'a positive integer',
    sizeOf: 'a function',
    isBusy: 'a function',
    dispose: 'a function',
    maxBusyMs: 'a positive finite number',
    disposeTimeoutMs: 'a positive number up to 2147483647',
    whenFull: "'evict' or 'reject'",
    whenReserved: "'reject' or 'allow'",
    sweepIntervalMs: 'an integer from 0 to 2147483647',
    heapHighWaterBytes: 'a positive integer',
    now: 'a function',
    monotonicNow: 'a function',
  },
}))

// How the store keeps its sessions: an LRUCache maps each key to one Entry, and keeps the keys
// in order of activity (every activity moves the session to the most recent end). The cache is
// unbounded (an effectively infinite maxSize, each entry of size 1): the store decides every
// eviction itself, since busy sessions may exceed the bounds.
//
// A removal takes the session out at once (index, bytes, watched histories) and queues its
// teardown; dispose and the events run from that queue once the operation's state is complete
// (lru-cache's disposeAfter discipline), so no loop of the store ever meets a callback that
// changed the store under it.

type IndexKey<K> = K & {}

interface Options<K, V> {
  maxSessions: number
  idleTtl: number
  maxAge: number
  maxBytes: number
  sizeOf: ((value: V, key: K) => number) | undefined
  isBusy: ((value: V, key: K) => boolean) | undefined
  dispose: ((value: V, key: K, reason: string) => void | Promise<void>) | undefined
  maxBusy: number
  disposeTimeout: number
  reject: boolean
  allowReserved: boolean
  heapHighWater: number
  now: (() => number) | undefined
  monotonicNow: (() => number) | undefined
}

// Set once by the store's static block: lets a watcher reach its store's private resize handler.
let resized: <K, V>(store: BoundedSessionStore<K, V, string>, entry: Entry<K, V>, delta: number) => void

/**
 * What the store knows of one session. Its times are milliseconds since the store's first clock
 * reading: small integers, which V8 keeps in the object itself, where an absolute `Date.now()`
 * takes a heap number of 16 B per field. (Past 2^31 ms, about 24.8 days after that first
 * reading, V8 moves the fields to heap numbers: only the memory changes.)
 */
class Entry<K, V> {
  // Its bytes as sizeOf weighs it; -1 once it has left the store (no session weighs less than 0),
  // which is what `gone` reads: one field less per session than a flag of its own.
  weight = 0
  watcher: Watcher<K, V> | undefined = undefined

  constructor(
    readonly key: K,
    readonly value: V,
    public lastActive: number,
    public created: number,
  ) {}

  /** Whether the session has left the store. */
  get gone(): boolean {
    return this.weight < 0
  }
}

/** The watcher of one session's histories: made only for sessions that have any. */
class Watcher<K, V> implements HistoryWatcher {
  constructor(
    readonly entry: Entry<K, V>,
    readonly histories: WatchableHistory[],
    // The store, held weakly: a history the host keeps must not keep the store alive.
    readonly store: WeakRef<BoundedSessionStore<K, V, string>>,
  ) {}

  historyResized(delta: number): void {
    const store = this.store.deref()
    if (store !== undefined && !this.entry.gone) resized(store, this.entry, delta)
  }
}

// The sessions in order of creation, kept with maxAgeMs: those past their max age are a run from
// the head while creation times rise (`ordered`; the clock going back clears it until the next
// compaction sorts the slots). A slot whose session left, or was born again by a set of the same
// value (its `created` no longer matches the slot's stamp), is stale and skipped; stale slots are
// compacted away once they outnumber the live ones, so a removed session is not held for long.
class CreationOrder<K, V> {
  #entries: Entry<K, V>[] = []
  #stamps: number[] = []
  #head = 0
  #ordered = true

  add(entry: Entry<K, V>, live: number): void {
    const n = this.#stamps.length
    if (n > this.#head && (this.#stamps[n - 1] as number) > entry.created) this.#ordered = false
    this.#entries.push(entry)
    this.#stamps.push(entry.created)
    if (n - this.#head > 2 * live + 64) this.#compact()
  }

  // The live sessions past `maxAge` at `now` (busy or not), oldest first.
  *pastMaxAge(now: number, maxAge: number): Generator<Entry<K, V>, undefined, undefined> {
    const entries = this.#entries
    const stamps = this.#stamps
    for (let i = this.#head; i < entries.length; i++) {
      const entry = entries[i] as Entry<K, V>
      if (entry.gone || entry.created !== stamps[i]) {
        if (i === this.#head) this.#drop()
        continue
      }
      if (now - entry.created < maxAge) {
        if (this.#ordered) return undefined
        continue
      }
      yield entry
    }
    return undefined
  }

  clear(): void {
    this.#entries = []
    this.#stamps = []
    this.#head = 0
    this.#ordered = true
  }

  #drop(): void {
    this.#entries[this.#head] = undefined as never
    if (++this.#head > 1024 && this.#head * 2 > this.#entries.length) this.#compact()
  }

  #compact(): void {
    const kept: Entry<K, V>[] = []
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i] as Entry<K, V>
      if (entry !== undefined && !entry.gone && entry.created === this.#stamps[i]) kept.push(entry)
    }
    if (!this.#ordered) kept.sort((a, b) => a.created - b.created)
    this.#entries = kept
    this.#stamps = kept.map((entry) => entry.created)
    this.#head = 0
    this.#ordered = true
  }
}

// A running teardown under one key: the dispose promises not yet settled.
interface Teardown {
  running: number
  deadline: number
  done: Promise<void>
  finish: () => void
}

type Task<K, V> =
  | ['create', K, V]
  | ['remove', Entry<K, V>, string]
  | ['stranded', Entry<K, V>, number]
  | ['overflow', OverflowInfo]
  | ['error', unknown, K | undefined]

// lru-cache counts every entry as size 1 against an unreachable maxSize: no max, no eviction of
// its own, no warning.
const SIZE_ONE = { size: 1 } as const
const WARNING_CODE = 'BOUNDED_SESSION_STORE_ERROR'

function historiesOf(value: unknown): WatchableHistory[] | undefined {
  if (value === null || typeof value !== 'object') return undefined
  // A history stored as the session itself (a `Map<id, history>` port) is weighed and followed.
  if (isWatchableHistory(value)) return [value]
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
    resized = (store, entry, delta) => store.#resized(entry, delta)
  }

  readonly #o: Options<K, V>
  readonly #lru = new LRUCache<IndexKey<K>, Entry<K, V>>({ maxSize: Number.MAX_SAFE_INTEGER })
  readonly #self = new WeakRef(this as BoundedSessionStore<K, V, string>)
  #sweepTimer: ReturnType<typeof setInterval> | undefined
  #timeoutTimer: ReturnType<typeof setTimeout> | undefined
  // The default clock is read at most once per millisecond, as lru-cache does (`ttlResolution`).
  #cachedNow = 0
  #epoch: number | undefined // the first clock reading: the store's times count from it
  #clockTimer: ReturnType<typeof setTimeout> | undefined

  #bytes = 0
  #oversized = 0 // sessions that alone outweigh maxBytes
  readonly #leases = new Map<Entry<K, V>, number>() // the leased sessions: how many leases each
  #oldestCreated = Infinity // no session was created before this (with maxAgeMs)
  readonly #byAge = new CreationOrder<K, V>() // with maxAgeMs
  // Over a bound, the last eviction scan found every session busy (but the one it excluded, busy
  // too): no scan runs again until something can have become idle (see the isBusy option).
  #allBusy = false
  #latest = -Infinity // the latest activity stamped
  #ordered = true // activity times rise from the least recently active end (false after the clock went back)
  #overflowed = false
  #closing: Promise<void> | undefined
  readonly #tearingDown = new Map<K, Teardown>()
  #running = 0 // dispose promises still running, timed-out ones excluded
  #lastNow = 0 // the latest clock reading (what an operation that read the clock stands at)
  // Why the newest removed keys left (at most maxSessions, oldest first); storing a key forgets it.
  readonly #removals_ = new Map<K, RemovalRecord<R>>()
  // With maxBusyMs: when each session found busy was first found so without a break, and the
  // sessions found stranded.
  readonly #busySince = new Map<Entry<K, V>, number>()
  readonly #stranded = new Set<Entry<K, V>>()
  #creating: Map<K, Promise<V>> | undefined
  #queue: Task<K, V>[] = []
  #next = 0 // the next task of the queue to run
  #depth = 0
  #removals = 0
  #warned = false
  #inIsBusy = false
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
      sizeOf: o.sizeOf as Options<K, V>['sizeOf'],
      isBusy: o.isBusy as Options<K, V>['isBusy'],
      dispose: o.dispose as Options<K, V>['dispose'],
      maxBusy: o.maxBusyMs ?? Infinity,
      disposeTimeout: o.disposeTimeoutMs ?? 30_000,
      reject: o.whenFull === 'reject',
      allowReserved: o.whenReserved === 'allow',
      heapHighWater: o.heapHighWaterBytes ?? Infinity,
      now: o.now as Options<K, V>['now'],
      monotonicNow: o.monotonicNow as Options<K, V>['now'],
    }
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
    return size - this.#checked(() => this.#countExpired(this.#clock(), false))
  }

  /**
   * Bytes of the live sessions (those `size` counts), as `sizeOf` weighs them; follows their
   * histories as they grow.
   */
  get bytes(): number {
    if (this.#lru.size === 0) return 0
    return this.#bytes - this.#checked(() => this.#countExpired(this.#clock(), true))
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
    this.#allBusy = false
    return this.#read(key, now) !== undefined
  }

  /** The live session under `key`, refreshing nothing and removing nothing. */
  peek(key: K): V | undefined {
    const now = this.#clock()
    const entry = this.#lru.peek(key as IndexKey<K>)
    if (entry === undefined || (this.#timeUp(entry, now) !== undefined && this.#checked(() => this.#expiry(entry, now, false)) !== undefined)) {
      return undefined
    }
    return entry.value
  }

  /** Whether a live session is held under `key`. Refreshes nothing. */
  has(key: K): boolean {
    const now = this.#clock()
    const entry = this.#lru.peek(key as IndexKey<K>)
    return entry !== undefined && (this.#timeUp(entry, now) === undefined || this.#checked(() => this.#expiry(entry, now, false)) === undefined)
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
    this.#depth++
    try {
      this.#put(key, value, now, allowReserved)
    } finally {
      this.#end(true)
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
    this.#depth++
    try {
      this.#admit(key, now, allowReserved)
      // create runs before anything else changes, so that if it throws, even an expired session
      // under this key is still in place.
      const value = create(key)
      this.#assertOpen('getOrCreate')
      this.#put(key, value, this.#clock(), allowReserved)
      return value
    } finally {
      this.#end(true)
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
          this.#checked(() => this.#queue.push(['remove', new Entry<K, V>(key, value as V, 0, 0), reason]))
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
    this.#depth++
    try {
      const expiry = this.#expiry(entry, now, false)
      if (entry.gone) return false
      this.#take(entry, expiry ?? reason)
      if (this.#overflowed) this.#enforce(undefined, now)
      return expiry === undefined
    } finally {
      this.#end(true)
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
    for (let t = this.#tearingDown.get(key); t !== undefined; t = this.#tearingDown.get(key)) await t.done
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
    return this.#removals_.get(key)
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
      const held = this.#leases.get(entry) ?? 1
      if (held > 1) this.#leases.set(entry, held - 1)
      else this.#leases.delete(entry)
      this.#allBusy = false
      const now = this.#clock()
      this.#stamp(entry, now)
      this.#lru.get(key as IndexKey<K>)
      if (this.#overflowed) this.#checked(() => this.#enforce(undefined, now))
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
      while (this.#tearingDown.size > 0) await Promise.all([...this.#tearingDown.values()].map((t) => t.done))
      if (this.#timeoutTimer !== undefined) clearTimeout(this.#timeoutTimer)
      this.#timeoutTimer = undefined
      if (failed) throw error
    })()
    // The host now waits for the teardowns: their timeout must keep the process alive.
    this.#timeoutTimer?.ref?.()
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer)
    this.#sweepTimer = undefined
    if (this.#clockTimer !== undefined) clearTimeout(this.#clockTimer)
    this.#clockTimer = undefined
    this.#cachedNow = 0
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
      tearingDown: this.#running,
    }
  }

  // --- internals -------------------------------------------------------------------------

  // The time, in milliseconds since the first reading (see Entry).
  #clock(): number {
    const clock = this.#o.now
    let now: number
    if (clock !== undefined) {
      now = clock()
      if (typeof now !== 'number' || !Number.isFinite(now)) throw new InvalidClockError(now)
    } else if (this.#cachedNow !== 0) {
      now = this.#cachedNow
    } else {
      now = Date.now()
      if (this.#closing === undefined) {
        this.#cachedNow = now
        this.#clockTimer = setTimeout(() => {
          this.#cachedNow = 0
          this.#clockTimer = undefined
        }, 1)
        this.#clockTimer.unref?.()
      }
    }
    this.#epoch ??= now
    this.#lastNow = now - this.#epoch
    return this.#lastNow
  }

  #assertOpen(method: string): void {
    if (this.#closing !== undefined) throw new StoreClosedError(method)
  }

  // Runs `fn` as an operation of its own, so that what it reports is delivered before returning.
  #checked<T>(fn: () => T): T {
    this.#depth++
    try {
      return fn()
    } finally {
      this.#end(true)
    }
  }

  // Finishes an operation: at the outermost level, run the queued teardowns and deliver the
  // events. `surface`: a listener's error is thrown to the caller (else it is reported).
  #end(surface: boolean): void {
    if (--this.#depth !== 0) return
    const size = this.#lru.size
    const s = this.#stats
    if (size > s.peakSize) s.peakSize = size
    if (this.#bytes > s.peakBytes) s.peakBytes = this.#bytes
    if (this.#queue.length > this.#next && this.#next === 0) this.#flush(surface)
  }

  // Runs the queue in order. Tasks queued by dispose and listeners that call back into the store
  // run in the same loop, after the ones already queued.
  #flush(surface: boolean): void {
    let failure: { error: unknown; inErrorListener: boolean } | undefined
    const queue = this.#queue
    try {
      while (this.#next < queue.length) {
        const task = queue[this.#next++] as Task<K, V>
        try {
          this.#run(task)
        } catch (error) {
          failure ??= { error, inErrorListener: task[0] === 'error' }
        }
      }
    } finally {
      this.#queue = []
      this.#next = 0
    }
    if (failure === undefined) return
    if (surface) throw failure.error
    // No caller to give it to (a history's push, a timer, a settling promise).
    if (failure.inErrorListener) this.#warn(failure.error)
    else {
      this.#report(failure.error, undefined)
      this.#flush(false)
    }
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
            this.#report(error, key)
          }
          if (thenable) this.#track(key, result as PromiseLike<void>)
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

  #report(error: unknown, key: K | undefined): void {
    this.#queue.push(['error', error, key])
  }

  // The monotonic time that teardowns are timed by (never throws: a teardown must be tracked).
  #monotonic(): number {
    const clock = this.#o.monotonicNow
    if (clock === undefined) return performance.now()
    const now = clock()
    if (typeof now === 'number' && Number.isFinite(now)) return now
    this.#report(new InvalidClockError(now), undefined)
    return performance.now()
  }

  // A teardown promise: the key stays reserved until it settles or times out.
  #track(key: K, result: PromiseLike<void>): void {
    const now = this.#monotonic()
    let teardown = this.#tearingDown.get(key)
    if (teardown !== undefined && teardown.deadline <= now) {
      this.#giveUp(key, teardown)
      teardown = undefined
    }
    if (teardown === undefined) {
      let finish!: () => void
      const done = new Promise<void>((resolve) => {
        finish = resolve
      })
      teardown = { running: 0, deadline: 0, done, finish }
      this.#tearingDown.set(key, teardown)
    }
    const t = teardown
    t.running++
    this.#running++
    t.deadline = now + this.#o.disposeTimeout
    this.#scheduleTimeouts(this.#o.disposeTimeout)
    const settle = (): void => {
      if (this.#tearingDown.get(key) !== t) return
      this.#running--
      if (--t.running > 0) return
      this.#tearingDown.delete(key)
      t.finish()
      if (this.#tearingDown.size === 0 && this.#timeoutTimer !== undefined) {
        clearTimeout(this.#timeoutTimer)
        this.#timeoutTimer = undefined
      }
    }
    Promise.resolve(result).then(settle, (error: unknown) => {
      settle()
      this.#report(error, key)
      if (this.#depth === 0 && this.#next === 0) this.#flush(false)
    })
  }

  // One timer for every running teardown, set for the earliest deadline. It is unref'd, but for
  // while the host awaits close(): then it is what the host waits for.
  #scheduleTimeouts(delay: number): void {
    if (this.#timeoutTimer !== undefined) return
    this.#timeoutTimer = setTimeout(() => {
      this.#timeoutTimer = undefined
      this.#timeOut()
    }, delay)
    if (this.#closing === undefined) this.#timeoutTimer.unref?.()
  }

  #timeOut(): void {
    const now = this.#monotonic()
    let next = Infinity
    for (const [key, t] of this.#tearingDown) {
      if (t.deadline > now) next = Math.min(next, t.deadline - now)
      else this.#giveUp(key, t)
    }
    if (next !== Infinity) this.#scheduleTimeouts(Math.max(1, next))
    if (this.#depth === 0 && this.#next === 0) this.#flush(false)
  }

  // Stops waiting for a teardown past its deadline, and says so.
  #giveUp(key: K, t: Teardown): void {
    this.#tearingDown.delete(key)
    this.#running -= t.running
    t.finish()
    this.#report(new DisposeTimeoutError(key, this.#o.disposeTimeout), key)
  }

  // Whether a session's teardown is still running (or about to start) under `key`, which holds
  // no session: then nothing new may be stored under it yet.
  #reserved(key: K): boolean {
    const t = this.#tearingDown.size > 0 ? this.#tearingDown.get(key) : undefined
    if (t !== undefined) {
      // Past its deadline, it no longer holds the key (the timer may not have run yet).
      if (t.deadline > this.#monotonic()) return true
      this.#checked(() => this.#giveUp(key, t))
    }
    // Teardowns queued but not yet run (a dispose or listener calling back into the store).
    for (let i = this.#next; i < this.#queue.length; i++) {
      const task = this.#queue[i] as Task<K, V>
      if (task[0] === 'remove' && Object.is(task[1].key, key) && this.#o.dispose !== undefined) return true
    }
    return false
  }

  // The read path of get, touch and acquire: the live entry, refreshed (and leased, with
  // `lease`), or undefined. A lease is held before a pending bound is settled.
  #read(key: K, now: number, lease = false): Entry<K, V> | undefined {
    const entry = this.#lru.get(key as IndexKey<K>)
    const settle = this.#overflowed && (!this.#allBusy || this.#hears('overflow'))
    if (entry === undefined) {
      if (settle) this.#checked(() => this.#enforce(undefined, now))
      return undefined
    }
    if (settle || this.#timeUp(entry, now) !== undefined) {
      this.#checked(() => {
        const expiry = this.#expiry(entry, now, false)
        if (expiry !== undefined && !entry.gone) {
          this.#take(entry, expiry)
          // A session past its time was found idle: others may be idle too.
          this.#allBusy = false
        } else {
          this.#stamp(entry, now)
          if (lease) this.#leases.set(entry, (this.#leases.get(entry) ?? 0) + 1)
        }
        if (this.#overflowed) this.#enforce(entry.gone ? undefined : entry, now)
      })
      // A dispose run meanwhile may have removed it: then the read misses.
      return entry.gone ? undefined : entry
    }
    this.#stamp(entry, now)
    if (lease) this.#leases.set(entry, (this.#leases.get(entry) ?? 0) + 1)
    return entry
  }

  // getOrCreate's hit: the live entry (refreshed and counted), or undefined. Changes nothing on a miss.
  #peekLive(key: K, now: number): Entry<K, V> | undefined {
    const found = this.#lru.peek(key as IndexKey<K>)
    if (found === undefined) return undefined
    if (this.#timeUp(found, now) !== undefined && this.#checked(() => this.#expiry(found, now, false)) !== undefined) return undefined
    const entry = this.#read(key, now)
    if (entry !== undefined) this.#stats.hits++
    return entry
  }

  // Checks, before `create` runs, that a new session may be stored under `key`.
  #admit(key: K, now: number, allowReserved = this.#o.allowReserved): void {
    // A key that holds an (expired) session is not reserved, and needs no room: that one goes.
    if (this.#lru.has(key as IndexKey<K>)) return
    if (!allowReserved && this.#reserved(key)) throw new SessionClosingError(key)
    if (this.#o.reject && this.#lru.size >= this.#o.maxSessions) this.#makeRoom(now)
  }

  // Whether busy protects the session: leased or busy by isBusy, and (with maxBusyMs) not stranded.
  #busy(entry: Entry<K, V>): boolean {
    if (this.#o.maxBusy !== Infinity) {
      if (this.#stranded.size > 0 && this.#stranded.has(entry)) return false
      return this.#strandCheck(entry, this.#foundBusy(entry))
    }
    return this.#foundBusy(entry)
  }

  #foundBusy(entry: Entry<K, V>): boolean {
    if (this.#leases.size > 0 && this.#leases.has(entry)) return true
    const isBusy = this.#o.isBusy
    if (isBusy === undefined) return false
    // An isBusy that calls back into the store gets "busy" for every session meanwhile.
    if (this.#inIsBusy) return true
    this.#inIsBusy = true
    try {
      return isBusy(entry.value, entry.key) === true
    } catch (error) {
      // A failing check must not lead to tearing down a session that may be at work.
      this.#report(error, entry.key)
      return true
    } finally {
      this.#inIsBusy = false
    }
  }

  // With maxBusyMs: times the stretch a session has been found busy; past maxBusyMs it is stranded.
  #strandCheck(entry: Entry<K, V>, busy: boolean): boolean {
    if (!busy) {
      if (this.#busySince.size > 0) this.#busySince.delete(entry)
      return false
    }
    const now = this.#lastNow
    const since = this.#busySince.get(entry)
    if (since === undefined) {
      this.#busySince.set(entry, now)
      return true
    }
    if (now - since <= this.#o.maxBusy) return true
    this.#busySince.delete(entry)
    this.#stranded.add(entry)
    if (this.#hears('stranded')) this.#queue.push(['stranded', entry, now - since])
    return false
  }

  #unstrand(entry: Entry<K, V>): void {
    this.#busySince.delete(entry)
    this.#stranded.delete(entry)
  }

  // Remembers why a key left, for lastRemoval: the newest maxSessions removals.
  #remember(key: K, reason: string): void {
    const removals = this.#removals_
    removals.delete(key)
    removals.set(key, { reason: reason as RemovalReason | R, at: (this.#epoch ?? 0) + this.#lastNow })
    if (removals.size > this.#o.maxSessions) removals.delete(removals.keys().next().value as K)
  }

  #allowReserved(options: SetOptions | undefined): boolean {
    if (options === undefined) return this.#o.allowReserved
    const when = (options as SetOptions | null)?.whenReserved
    if (when === undefined) return this.#o.allowReserved
    if (when !== 'reject' && when !== 'allow') throw new InvalidArgumentError('whenReserved', when, "'reject' or 'allow'")
    return when === 'allow'
  }

  // Which time limit the session is past (busy or not), if any.
  #timeUp(entry: Entry<K, V>, now: number): 'idle' | 'max-age' | undefined {
    if (now - entry.created >= this.#o.maxAge) return 'max-age'
    return now - entry.lastActive >= this.#o.idleTtl ? 'idle' : undefined
  }

  // Starts a session's life at `now` (with maxAgeMs).
  #born(entry: Entry<K, V>, now: number): void {
    entry.created = now
    if (now < this.#oldestCreated) this.#oldestCreated = now
    this.#byAge.add(entry, this.#lru.size)
  }

  // How many expired sessions (past a time limit and not busy) are held, or what they weigh
  // (`weigh`). Reads only the expired ones: the idle ones are a run from the least recently
  // active end, and the ones past their max age a run from the oldest end of the creation order.
  #countExpired(now: number, weigh: boolean): number {
    let n = 0
    if (!this.#ordered) {
      for (const entry of this.#findExpired(now, false)) n += weigh ? entry.weight : 1
      return n
    }
    const idleTtl = this.#o.idleTtl
    for (const entry of this.#entries(true)) {
      if (now - entry.lastActive < idleTtl) break
      if (!this.#busy(entry)) n += weigh ? entry.weight : 1
    }
    if (this.#o.maxAge === Infinity || now - this.#oldestCreated < this.#o.maxAge) return n
    for (const entry of this.#byAge.pastMaxAge(now, this.#o.maxAge)) {
      // Idle past its time too: counted by the walk above.
      if (now - entry.lastActive >= idleTtl) continue
      if (!this.#busy(entry)) n += weigh ? entry.weight : 1
    }
    return n
  }

  // Marks the session active at `now`; it is (or is about to be made) the most recent.
  #stamp(entry: Entry<K, V>, now: number): void {
    entry.lastActive = now
    if (now >= this.#latest) this.#latest = now
    else this.#ordered = false
  }

  // Why the session has expired, or undefined when it has not (or is busy). `refresh`: a busy
  // session counts as active now (its recency is left to the caller).
  #expiry(entry: Entry<K, V>, now: number, refresh: boolean): 'idle' | 'max-age' | undefined {
    const reason = this.#timeUp(entry, now)
    if (reason === undefined || !this.#busy(entry)) return reason
    if (refresh) this.#stamp(entry, now)
    return undefined
  }

  // The expired sessions (past a time limit and not busy), least recently active first. Sessions
  // are kept in order of activity, so without a max age the expired ones are a run from the least
  // recently active end; the whole store is walked only when some session may be past its max
  // age, or after the clock went back (the walk then checks whether the order holds again).
  // `remove`: the expired sessions are removed (and none is returned), and busy sessions met count
  // as active now and become the most recent. Each is removed one step behind the walk: lru-cache's
  // walk goes on from the entry it stands on, so removing an entry it has passed is safe (the one
  // it stands on is never removed), and the removal finds that entry's index slot still in the CPU
  // cache, which halves the time of a sweep that removes many sessions.
  #findExpired(now: number, remove: boolean): Entry<K, V>[] {
    const found: Entry<K, V>[] = []
    let passed: Entry<K, V> | undefined // expired, to be removed once the walk has moved on
    const byAge = now - this.#oldestCreated >= this.#o.maxAge
    const walkAll = byAge || !this.#ordered
    let oldest = Infinity
    let previous = -Infinity
    let ordered = true
    let busy: Entry<K, V>[] | undefined
    for (const entry of this.#entries(true)) {
      if (passed !== undefined) this.#take(passed, this.#timeUp(passed, now) ?? 'idle')
      passed = undefined
      if (entry.lastActive < previous) ordered = false
      previous = entry.lastActive
      if (entry.created < oldest) oldest = entry.created
      if (this.#timeUp(entry, now) === undefined) {
        if (!walkAll) break
      } else if (!this.#busy(entry)) {
        if (remove) passed = entry
        else found.push(entry)
      } else if (remove) {
        this.#stamp(entry, now)
        ;(busy ??= []).push(entry)
      }
    }
    if (passed !== undefined) this.#take(passed, this.#timeUp(passed, now) ?? 'idle')
    if (remove && walkAll) {
      if (byAge) this.#oldestCreated = oldest
      // Busy sessions found are stamped now and moved to the most recent end: the order holds.
      if (ordered) this.#ordered = true
    }
    // Busy sessions met become the most recent (after the walk: moving an entry while lru-cache
    // walks its list would cut the walk short).
    if (busy !== undefined) for (const entry of busy) if (!entry.gone) this.#lru.get(entry.key as IndexKey<K>)
    return found
  }

  // The one way out of the store: the session is out at once, its teardown queued. `indexed`:
  // whether it is still in the LRU index (every session that is not gone is, but for the ones
  // `pop()` and `clear()` just took out).
  #take(entry: Entry<K, V>, reason: string, indexed = true): void {
    if (entry.gone) return
    if (indexed) this.#lru.delete(entry.key as IndexKey<K>)
    if (entry.weight > this.#o.maxBytes) this.#oversized--
    this.#bytes -= entry.weight
    entry.weight = -1
    if (this.#leases.size > 0) this.#leases.delete(entry)
    if (this.#busySince.size > 0 || this.#stranded.size > 0) this.#unstrand(entry)
    this.#watch(entry, undefined)
    this.#remember(entry.key, reason)
    this.#stats.removed[(Object.hasOwn(this.#stats.removed, reason) ? reason : 'delete') as RemovalReason]++
    this.#removals++
    if (this.#o.dispose !== undefined || this.#hears('remove')) this.#queue.push(['remove', entry, reason])
  }

  // set() and the insert half of getOrCreate().
  #put(key: K, value: V, now: number, allowReserved = this.#o.allowReserved): void {
    const histories = historiesOf(value)
    const weight = this.#weigh(key, value, histories)
    // One lookup: a session found becomes the most recent (a different one leaves at once).
    const found = this.#lru.get(key as IndexKey<K>)
    if (found !== undefined && Object.is(found.value, value)) {
      // The same value is a refresh even if it had expired: it stays, so it must not be disposed.
      // Past its max age it starts a new life, as an insert would (else it would still be expired).
      this.#allBusy = false
      if (this.#busySince.size > 0 || this.#stranded.size > 0) this.#unstrand(found)
      if (this.#timeUp(found, now) === 'max-age' && !this.#busy(found)) this.#born(found, now)
      this.#stamp(found, now)
      this.#watch(found, histories)
      this.#setWeight(found, weight)
      this.#enforce(found, now)
      return
    }
    if (found === undefined) {
      if (!allowReserved && this.#reserved(key)) throw new SessionClosingError(key)
    } else {
      const expiry = this.#expiry(found, now, false)
      this.#take(found, expiry ?? 'replace')
    }
    this.#allBusy = false
    if (this.#lru.size >= this.#o.maxSessions) this.#makeRoom(now)
    const entry = new Entry(key, value, now, 0)
    this.#stamp(entry, now)
    if (this.#o.maxAge !== Infinity) this.#born(entry, now)
    this.#lru.set(key as IndexKey<K>, entry, SIZE_ONE)
    if (this.#removals_.size > 0) this.#removals_.delete(key)
    this.#setWeight(entry, weight)
    this.#watch(entry, histories)
    if (this.#hears('create')) this.#queue.push(['create', key, value])
    this.#enforce(entry, now)
  }

  // Makes room for one more session when maxSessions are held (or throws, with 'reject').
  #makeRoom(now: number): void {
    const max = this.#o.maxSessions
    if (this.#oversized > 0) this.#removeOversized(undefined, now)
    if (this.#o.reject) {
      if (this.#lru.size >= max) this.#findExpired(now, true)
      if (this.#lru.size >= max) throw new SessionLimitError(max)
      return
    }
    // Room for one more: the insertion then finds the store within maxSessions. If busy
    // sessions leave no room, the insertion reports the overflow.
    this.#evictWhile(false, max - 1, 'capacity', undefined, now)
  }

  // Evicts idle sessions, least recently active first, until both bounds hold; reports the bound
  // that busy sessions keep exceeded. `exclude` (the session the operation uses) is never evicted.
  #enforce(exclude: Entry<K, V> | undefined, now: number): void {
    const { maxSessions, maxBytes, reject } = this.#o
    const over = this.#lru.size > maxSessions || this.#bytes > maxBytes
    // Nothing to do unless a bound is exceeded, or was.
    if (!over && !this.#overflowed) return
    let overflowed = false
    const report = (bound: 'maxSessions' | 'maxBytes', limit: number): void => {
      overflowed = true
      if (this.#hears('overflow')) this.#queue.push(['overflow', { bound, size: this.#lru.size, bytes: this.#bytes, limit }])
    }
    if (over && this.#allBusy) {
      // Nothing can have become idle since every session was found busy: no scan, the same report.
      if (!reject && this.#lru.size > maxSessions) report('maxSessions', maxSessions)
      if (this.#bytes > maxBytes) report('maxBytes', maxBytes)
      return
    }
    let blocked = false
    // Idle sessions that alone outweigh maxBytes can never fit: they go first, for either bound.
    const hopeless = exclude !== undefined && exclude.weight > maxBytes
    if (over && this.#oversized > (hopeless ? 1 : 0)) this.#removeOversized(exclude, now)
    // With 'reject' no session is ever evicted for capacity (none is admitted beyond it).
    if (!reject && this.#lru.size > maxSessions && this.#evictWhile(false, maxSessions, 'capacity', exclude, now)) {
      blocked = true
      report('maxSessions', maxSessions)
    }
    if (this.#bytes > maxBytes) {
      // The session this operation uses alone outweighs maxBytes: evicting the others for it
      // would only empty the store. They stay, the overflow is reported, and the next operation
      // that does not use it evicts it.
      if (hopeless) report('maxBytes', maxBytes)
      else if (this.#evictWhile(true, maxBytes, 'size', exclude, now)) {
        blocked = true
        report('maxBytes', maxBytes)
      }
    }
    this.#overflowed = overflowed
    // Every session the scans met was busy; so is the excluded one (else the next operation that
    // does not use it may evict it, and must look).
    this.#allBusy = blocked && (exclude === undefined || exclude.gone || this.#busy(exclude))
  }

  // Evicts while the store holds more than `limit` sessions (or bytes). Returns whether it had to
  // stop because every session left is busy (or excluded).
  #evictWhile(bytes: boolean, limit: number, reason: RemovalReason, exclude: Entry<K, V> | undefined, now: number): boolean {
    for (;;) {
      const excess = bytes ? this.#bytes - limit : this.#lru.size - limit
      if (excess <= 0) return false
      // Nothing can be busy and nothing is excluded: the least recently active session goes.
      if (exclude === undefined && this.#o.isBusy === undefined && this.#leases.size === 0) {
        const entry = this.#lru.pop() as Entry<K, V>
        this.#take(entry, this.#timeUp(entry, now) ?? reason, false)
        continue
      }
      const picked = this.#pickIdle(exclude, excess, bytes, -1, now)
      if (picked.length === 0) return true
      for (const entry of picked) this.#take(entry, this.#timeUp(entry, now) ?? reason)
    }
  }

  // Removes the idle sessions (but `exclude`) that alone outweigh maxBytes.
  #removeOversized(exclude: Entry<K, V> | undefined, now: number): void {
    for (const entry of this.#pickIdle(exclude, Infinity, false, this.#o.maxBytes, now)) {
      this.#take(entry, this.#timeUp(entry, now) ?? 'size')
    }
  }

  // Picks idle sessions other than `exclude`, least recently active first, until they make up
  // `excess`: a number of sessions, or of bytes with `byWeight`. Only sessions that weigh more
  // than `heavierThan` are picked. Busy sessions met count as active now.
  #pickIdle(exclude: Entry<K, V> | undefined, excess: number, byWeight: boolean, heavierThan: number, now: number): Entry<K, V>[] {
    const picked: Entry<K, V>[] = []
    let busy: Entry<K, V>[] | undefined
    for (const entry of this.#entries(true)) {
      if (excess <= 0) break
      if (entry === exclude || entry.weight <= heavierThan) continue
      if (this.#busy(entry)) {
        this.#stamp(entry, now)
        ;(busy ??= []).push(entry)
        continue
      }
      picked.push(entry)
      excess -= byWeight ? entry.weight : 1
    }
    // Busy sessions met become the most recent (after the walk: moving an entry while lru-cache
    // walks its list would cut the walk short).
    if (busy !== undefined) for (const entry of busy) if (!entry.gone) this.#lru.get(entry.key as IndexKey<K>)
    return picked
  }

  #sweep(surface: boolean): number {
    const before = this.#removals
    let now: number
    try {
      now = this.#clock()
    } catch (error) {
      if (surface) throw error
      this.#depth++
      this.#report(error, undefined)
      this.#end(false)
      return 0
    }
    let removed = 0
    this.#depth++
    this.#allBusy = false
    try {
      this.#findExpired(now, true)
      this.#enforce(undefined, now)
      const heap = this.#o.heapHighWater === Infinity ? 0 : process.memoryUsage().heapUsed
      if (heap > this.#o.heapHighWater) {
        // The heap is not measured again meanwhile: every picked session goes.
        for (const entry of this.#pickIdle(undefined, heap - this.#o.heapHighWater, true, -1, now)) {
          this.#take(entry, this.#timeUp(entry, now) ?? 'pressure')
        }
      }
      // What the disposes remove when they run is not the sweep's doing.
      removed = this.#removals - before
    } finally {
      this.#end(surface)
    }
    return removed
  }

  // A push to one of the session's histories changed its bytes. Never throws into the push:
  // what goes wrong is reported as an `error` event.
  #resized(entry: Entry<K, V>, delta: number): void {
    this.#depth++
    try {
      let weight = entry.weight + delta
      if (this.#o.sizeOf !== undefined) {
        try {
          weight = this.#weigh(entry.key, entry.value, entry.watcher?.histories)
        } catch (error) {
          this.#report(error, entry.key)
          weight = entry.weight
        }
        // A sizeOf that removed the session (it should not call back into the store) leaves it removed.
        if (entry.gone) return
      }
      this.#setWeight(entry, weight)
      if (this.#bytes > this.#o.maxBytes || this.#overflowed) this.#enforce(entry, this.#clock())
    } catch (error) {
      this.#report(error, entry.key)
    } finally {
      this.#end(false)
    }
  }

  #removeAll(reason: 'clear' | 'close', surface: boolean): void {
    this.#depth++
    try {
      // Least recently active first. Sessions stored by a dispose meanwhile were not there: they stay.
      const entries = [...this.#entries(true)]
      this.#lru.clear()
      for (const entry of entries) this.#take(entry, reason, false)
      this.#byAge.clear()
      this.#overflowed = false
      this.#allBusy = false
    } finally {
      this.#end(surface)
    }
  }

  // Sets a session's weight, keeping the total and the count of oversized sessions.
  #setWeight(entry: Entry<K, V>, weight: number): void {
    const maxBytes = this.#o.maxBytes
    if (entry.weight > maxBytes) this.#oversized--
    if (weight > maxBytes) this.#oversized++
    this.#bytes += weight - entry.weight
    entry.weight = weight
  }

  #weigh(key: K, value: V, histories: WatchableHistory[] | undefined): number {
    const sizeOf = this.#o.sizeOf
    if (sizeOf !== undefined) {
      const size = sizeOf(value, key)
      if (typeof size !== 'number' || !(size >= 0) || size > 0xffff_ffff) throw new InvalidMeasurementError('sizeOf', size)
      return size
    }
    let bytes = SESSION_OVERHEAD_BYTES
    if (histories !== undefined) for (const history of histories) bytes += history.bytes
    return bytes
  }

  // Follows `histories` (the session's, found when it was stored) instead of the ones it followed.
  #watch(entry: Entry<K, V>, histories: WatchableHistory[] | undefined): void {
    const current = entry.watcher
    if (sameHistories(current?.histories, histories)) return
    if (current !== undefined) for (const history of current.histories) history[watchKey](current, false)
    entry.watcher = undefined
    if (histories === undefined) return
    const watcher = new Watcher(entry, histories, this.#self)
    entry.watcher = watcher
    for (const history of histories) history[watchKey](watcher, true)
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
      if (this.#timeUp(entry, now) !== undefined && this.#checked(() => this.#expiry(entry, now, false)) !== undefined) continue
      yield [entry.key, entry.value]
    }
    return undefined
  }
}
