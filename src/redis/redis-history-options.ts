import * as z from 'zod/mini'
import { callback, lazyOptionsParser, positiveInteger } from '../options.js'
import type { RingBufferHistoryOptions } from '../history/options.js'
import type { ShrinkMessage } from '../history/types.js'
import type { RedisClient } from './client.js'

// The options of RedisHistory and the types of its methods, with their docs, apart from the logic.

/** How messages are written to Redis and read back. */
export interface RedisSerializer<T> {
  /** Turns a message into the string stored. */
  serialize(message: T): string
  /** Turns a stored string back into the message. */
  deserialize(stored: string): T
}

/** Options of {@link RedisHistory.pushWith}. */
export interface PushOptions {
  /**
   * The push's own id: a push under a key already applied within `idempotencyWindowMs` is not
   * applied again. Up to 512 characters.
   *
   * @defaultValue an id of this history object's own, which covers the client's resends only
   */
  idempotencyKey?: string | undefined
  /**
   * Flag every message pinned, as {@link RedisHistory.pushPinned} does.
   *
   * @defaultValue false
   */
  pinned?: boolean | undefined
}

/** What {@link RedisHistory.stats} reports. */
export interface RedisHistoryStats {
  /** Messages held. */
  length: number
  /** Their bytes, as `sizeOf` counted them when they were pushed. */
  bytes: number
  /**
   * Their tokens, as `countTokens` counted them when they were pushed, times the session's
   * correction once {@link RedisHistory.calibrate} has learnt one (rounded up).
   */
  tokens: number
  /** Messages trimmed by pushes since the session's keys were created. */
  evictedCount: number
}

/**
 * A position made by {@link RedisHistory.checkpoint}: plain data, so it can be handed to another
 * process (as JSON) and rolled back to there.
 */
export interface RedisHistoryCheckpoint {
  /** The session id of the history that made it. */
  readonly key: string
  /** How many messages the session had been given when it was made, not counting those rolled back. */
  readonly position: number
  /** The session's rollback count when it was made. */
  readonly line: number
}

/**
 * Options of {@link RedisHistory}. `client` and `key` are required. The budgets, measures and
 * callbacks are `RingBufferHistory`'s and trimming follows the same rules to the message; the
 * measures and `pin`/`startOn`/`group` run in this process at push time, and what they found
 * (size, tokens, flags, the ids of the calls a message makes and answers) travels with the
 * message. `format` supplies the measures, `group`, `startOn`, `pin` and `shrink`; an option
 * given explicitly overrides the format's. With `group`, the server keeps the ids of the calls
 * the held messages made, and a push of a result whose call it does not hold throws
 * `OrphanResultError` (`ERR_ORPHAN_RESULT`), nothing changed.
 *
 * @typeParam T - the message type
 */
export interface RedisHistoryOptions<T>
  extends Pick<
    RingBufferHistoryOptions<T>,
    'maxMessages' | 'maxBytes' | 'maxTokens' | 'sizeOf' | 'countTokens' | 'pin' | 'maxPinned' | 'startOn' | 'trimTo' | 'group' | 'format' | 'overheadTokens'
  > {
  /** The Redis client: an `ioredis` or `iovalkey` client, or `fromNodeRedis(client)`. */
  client: RedisClient
  /** The session id: a non-empty string (or a finite number) without `{` or `}`. */
  key: string | number
  /**
   * The prefix of every key. The session's keys are `<prefix>{<key>}:m`, `:i`, `:s` and `:d`.
   *
   * @defaultValue 'bs:'
   */
  prefix?: string | undefined
  /**
   * How long the session's keys live without a push or read, in milliseconds; every push and
   * read sets the expiry again, in the same script. `0`: the keys never expire.
   *
   * @defaultValue 3_600_000 (one hour)
   */
  idleTtlMs?: number | undefined
  /**
   * How long the server remembers that a push was applied, in milliseconds, so that the same push
   * sent again (resent by the client after a reconnect, or retried with the same
   * `idempotencyKey` through {@link RedisHistory.pushWith}) is not applied twice. The record of a
   * session's pushes lives this long after its last push, whatever `idleTtlMs` is.
   *
   * @defaultValue 600_000 (ten minutes)
   */
  idempotencyWindowMs?: number | undefined
  /**
   * Whether to use a server whose `maxmemory-policy` may evict any key (`allkeys-lru`,
   * `allkeys-lfu`, `allkeys-random`). The first call through a client reads the policy
   * (`INFO memory`) and, unless this is `true`, every call rejects with `RedisConfigError`
   * (`ERR_REDIS_CONFIG`) on such a server: Redis could silently drop the fence of a session, and
   * with it the refusal of a stale writer.
   *
   * @defaultValue false
   */
  allowAllKeysEviction?: boolean | undefined
  /**
   * How messages are stored.
   *
   * @defaultValue JSON (`JSON.stringify` / `JSON.parse`)
   */
  serializer?: RedisSerializer<T> | undefined
  /**
   * Makes a message that does not fit smaller (see `truncateContent`). Runs in this process;
   * `room` is read from the server, and the push is tried again with the smaller message.
   *
   * @defaultValue a message that does not fit throws {@link MessageTooLargeError}
   */
  shrink?: ShrinkMessage<T> | undefined
  /**
   * A lease (from `RedisSessionRegistry.acquire`) or any `{ token }`: every write carries its
   * token, and the server refuses it with {@link LeaseFencedError} once the session has seen a
   * newer one.
   *
   * @defaultValue writes are not fenced
   */
  fence?: {
    /** The lease's fencing token. */
    readonly token: number
  } | undefined
}

const isClient = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && typeof (value as { call?: unknown }).call === 'function'
const isSerializer = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as RedisSerializer<unknown>).serialize === 'function' &&
  typeof (value as RedisSerializer<unknown>).deserialize === 'function'
const isFormat = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && typeof (value as { sizeOf?: unknown }).sizeOf === 'function'
const isFence = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && Number.isSafeInteger((value as { token?: unknown }).token)

/** Parses and checks RedisHistory options (zod, once per construction). */
export const parseOptions = /* @__PURE__ */ lazyOptionsParser(() => ({
  schema: z.strictObject({
    client: z.custom<RedisClient>(isClient),
    key: z.union([z.string(), z.number()]),
    prefix: z.optional(z.string().check(z.regex(/^[^{}]*$/))),
    idleTtlMs: z.optional(z.number().check(z.int(), z.nonnegative())),
    idempotencyWindowMs: z.optional(z.number().check(z.int(), z.positive(), z.lte(2 ** 31 - 1))),
    serializer: z.optional(z.custom<RedisSerializer<unknown>>(isSerializer)),
    allowAllKeysEviction: z.optional(z.boolean()),
    maxMessages: positiveInteger(),
    maxBytes: positiveInteger(),
    maxTokens: positiveInteger(),
    sizeOf: callback(),
    countTokens: callback(),
    pin: callback(),
    maxPinned: z.optional(z.number().check(z.int(), z.nonnegative())),
    startOn: callback(),
    trimTo: z.optional(z.number().check(z.gte(0), z.lte(1))),
    shrink: callback(),
    group: callback(),
    overheadTokens: z.optional(z.number().check(z.gte(0))),
    format: z.optional(z.custom<object>(isFormat)),
    fence: z.optional(z.custom<{ token: number }>(isFence)),
  }),
  expected: {
    client: 'a Redis client (an object with a `call` method)',
    key: 'a non-empty string (or a finite number) without `{` or `}`',
    prefix: 'a string without `{` or `}`',
    idleTtlMs: 'a non-negative integer',
    idempotencyWindowMs: 'an integer from 1 to 2147483647',
    serializer: 'an object with `serialize` and `deserialize` functions',
    allowAllKeysEviction: 'a boolean',
    maxMessages: 'a positive integer',
    maxBytes: 'a positive integer',
    maxTokens: 'a positive integer',
    sizeOf: 'a function',
    countTokens: 'a function',
    pin: 'a function',
    maxPinned: 'a non-negative integer',
    startOn: 'a function',
    trimTo: 'a number from 0 to 1',
    shrink: 'a function',
    group: 'a function',
    overheadTokens: 'a finite number from 0 up',
    format: 'a message format (an object with sizeOf, countTokens, group, shrink)',
    fence: 'an object with an integer `token`',
  },
}))

