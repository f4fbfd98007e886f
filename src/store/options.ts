// The store's options: the documented interface, the default weight of a session, the private
// zod schema that checks them (parsed once, in the constructor) and the resolved form the store
// keeps, and the checks of a call's own options (`whenReserved`, `reason`). Invariant: a resolved
// option is always valid (the schema and the messages agree field by field, and
// \`ResolvedOptions\` holds no undefined bound: no limit is Infinity).
import * as z from 'zod/mini'
import { InvalidArgumentError } from '../errors.js'
import { callback, lazyOptionsParser, positiveInteger, positiveNumber } from '../options.js'
import type { RemovalReason, SetOptions } from './types.js'

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

export const parseOptions = /* @__PURE__ */ lazyOptionsParser(() => ({
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

/** The options as the store keeps them, defaults applied. */
export interface ResolvedOptions<K, V> {
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
  sweepInterval: number
}

/** Parses the options and applies the defaults. */
export function resolveOptions<K, V>(options: unknown): ResolvedOptions<K, V> {
  const o = parseOptions(options)
  return {
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
    sweepInterval: o.sweepIntervalMs ?? 60_000,
  }
}

// The options of one call: checked there, as the store's own are (the call throws, nothing changed).

/** The reason a delete gives: 'delete', or the host's own (a string). */
export function reasonOf(options: { reason?: unknown } | undefined): string {
  const reason = options?.reason
  if (reason === undefined) return 'delete'
  if (typeof reason !== 'string' || reason === '') throw new InvalidArgumentError('reason', reason, 'a non-empty string')
  return reason
}

/** Whether a call may store under a reserved key: its own `whenReserved`, else the store's. */
export function allowReservedOf(options: SetOptions | undefined, byDefault: boolean): boolean {
  if (options === undefined) return byDefault
  const when = (options as SetOptions | null)?.whenReserved
  if (when === undefined) return byDefault
  if (when !== 'reject' && when !== 'allow') throw new InvalidArgumentError('whenReserved', when, "'reject' or 'allow'")
  return when === 'allow'
}
