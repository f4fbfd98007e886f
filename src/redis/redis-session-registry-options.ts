import * as z from 'zod/mini'
import { callback, lazyOptionsParser } from '../options.js'
import type { RedisClient } from './client.js'

// The options, events and lease type of RedisSessionRegistry, with their docs, apart from the logic.

/**
 * Why a session left the fleet: `'idle'` (unused for `idleTtlMs`), `'capacity'` (evicted to
 * make room under `maxSessions`), `'delete'` (removed by `delete()`).
 */
export type RegistryDepartureReason = 'idle' | 'capacity' | 'delete'

/**
 * A worker's hold on a session, from {@link RedisSessionRegistry.acquire}. While held, no other
 * worker can acquire the session and it is never evicted or expired; the registry renews it.
 * Works with `await using`.
 */
export interface RedisLease {
  /** The session id. */
  readonly sessionId: string
  /**
   * The fencing token: larger than every token issued before it. Give the lease to
   * `RedisHistory` as `fence`, and the server refuses that history's writes once a later lease
   * of the session exists.
   */
  readonly token: number
  /** Aborted when the lease ends: released, lost (a renewal found it expired or taken), or the registry closed. */
  readonly signal: AbortSignal
  /** Whether the lease is still held, as far as this process knows. */
  readonly held: boolean
  /** Frees the session for other workers. Resolves `false` when the lease had already been lost. */
  release(): Promise<boolean>
  /** Same as `release()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>
}

/** Options of {@link RedisSessionRegistry.acquire}. */
export interface AcquireOptions {
  /**
   * How long the lease lasts without a renewal, in milliseconds. The registry renews it every
   * third of this while it is held; a process that stops (crash, pause) loses it this long after
   * its last renewal.
   *
   * @defaultValue the registry's `leaseTtlMs`
   */
  ttlMs?: number | undefined
}

/**
 * The events of a {@link RedisSessionRegistry}.
 */
export interface RedisSessionRegistryEvents {
  /**
   * A session left the fleet, by whichever worker's doing: drop and dispose its live state
   * (`store.delete(id)`). Heard by every registry of the same `prefix` and `name`, in the order the
   * server recorded them, within about `pollIntervalMs`, from the registry's first call to Redis
   * (its first `acquire`, `touch`, `delete` or poll) on.
   */
  depart: [sessionId: string, reason: RegistryDepartureReason]
  /** A lease of this registry was found expired or taken at its renewal; its `signal` is aborted. */
  lost: [lease: RedisLease]
  /** A background step (renewal, poll, sweep) failed. Without a listener it becomes a process warning. */
  error: [error: unknown]
}

/** Options of {@link RedisSessionRegistry}. `client` is required. */
export interface RedisSessionRegistryOptions {
  /** The Redis client: an `ioredis` or `iovalkey` client, or `fromNodeRedis(client)`. */
  client: RedisClient
  /**
   * The prefix of every key; the same as the histories' `prefix`, so that a departing session's
   * history is deleted with it.
   *
   * @defaultValue 'bs:'
   */
  prefix?: string | undefined
  /**
   * The fleet's name: registries with the same `prefix` and `name` share one bound.
   *
   * @defaultValue 'default'
   */
  name?: string | undefined
  /**
   * The most sessions registered across the fleet. An integer from 1 to 2^31 - 1.
   *
   * @defaultValue 100
   */
  maxSessions?: number | undefined
  /**
   * What `acquire` of a new session does when `maxSessions` are registered: `'evict'` the least
   * recently active session no lease holds, or `'reject'` with {@link SessionLimitError}. Either
   * way, when every session is leased the acquire is rejected: the bound is never exceeded.
   *
   * @defaultValue 'evict'
   */
  whenFull?: 'evict' | 'reject' | undefined
  /**
   * How long a session may go without activity (`acquire`, `touch`, the release of a lease)
   * before it expires, in milliseconds. Leased sessions never expire. `0`: never.
   *
   * @defaultValue 3_600_000 (one hour)
   */
  idleTtlMs?: number | undefined
  /**
   * The lease length used when `acquire` is given none, in milliseconds.
   *
   * @defaultValue 30_000
   */
  leaseTtlMs?: number | undefined
  /**
   * How often the registry reads departures and expires idle sessions, in milliseconds: one
   * `unref()`ed timer per registry, which also renews the leases when they are due. `0`: no
   * polling (call `poll()` yourself); the timer then runs only to renew held leases.
   *
   * @defaultValue 1_000
   */
  pollIntervalMs?: number | undefined
  /**
   * About how many departures the stream keeps (`XADD MAXLEN ~`). A worker that is away longer
   * than it takes the fleet to record this many misses the oldest.
   *
   * @defaultValue 10_000
   */
  departuresMaxLen?: number | undefined
  /**
   * The clock of last activity, in milliseconds, for deterministic tests. Lease deadlines always
   * use the server's clock.
   *
   * @defaultValue the Redis server's clock (`TIME`), so the workers' clocks need not agree
   */
  now?: (() => number) | undefined
  /**
   * Whether to use a server whose `maxmemory-policy` may evict any key (`allkeys-*`). The
   * registry reads the policy at its first call to Redis and, unless this is `true`, rejects
   * with `RedisConfigError` (`ERR_REDIS_CONFIG`) on such a server: an evicted lease, token counter
   * or fence breaks the one-holder guarantee.
   *
   * @defaultValue false
   */
  allowAllKeysEviction?: boolean | undefined
}

const nonNegativeInt = () => z.optional(z.number().check(z.int(), z.nonnegative(), z.lte(2 ** 31 - 1)))
const positiveInt = () => z.optional(z.number().check(z.int(), z.positive(), z.lte(2 ** 31 - 1)))

/** Parses and checks RedisSessionRegistry options (zod, once per construction). */
export const parseOptions = /* @__PURE__ */ lazyOptionsParser(() => ({
  schema: z.strictObject({
    client: z.custom<RedisClient>((v) => typeof v === 'object' && v !== null && typeof (v as { call?: unknown }).call === 'function'),
    prefix: z.optional(z.string().check(z.regex(/^[^{}]*$/))),
    name: z.optional(z.string().check(z.regex(/^[^{}]+$/))),
    maxSessions: positiveInt(),
    whenFull: z.optional(z.enum(['evict', 'reject'])),
    idleTtlMs: nonNegativeInt(),
    leaseTtlMs: positiveInt(),
    pollIntervalMs: nonNegativeInt(),
    departuresMaxLen: positiveInt(),
    now: callback(),
    allowAllKeysEviction: z.optional(z.boolean()),
  }),
  expected: {
    client: 'a Redis client (an object with a `call` method)',
    prefix: 'a string without `{` or `}`',
    name: 'a non-empty string without `{` or `}`',
    maxSessions: 'an integer from 1 to 2147483647',
    whenFull: "'evict' or 'reject'",
    idleTtlMs: 'an integer from 0 to 2147483647',
    leaseTtlMs: 'an integer from 1 to 2147483647',
    pollIntervalMs: 'an integer from 0 to 2147483647',
    departuresMaxLen: 'an integer from 1 to 2147483647',
    now: 'a function',
    allowAllKeysEviction: 'a boolean',
  },
}))
