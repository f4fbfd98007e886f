/**
 * Stable codes carried by every error this package throws. Match on `error.code` rather than
 * `instanceof`: a dual ESM/CJS package can be loaded twice, and then the classes differ.
 */
export type ErrorCode =
  | 'ERR_INVALID_OPTIONS'
  | 'ERR_MESSAGE_TOO_LARGE'
  | 'ERR_INVALID_MEASUREMENT'
  | 'ERR_INVALID_CHECKPOINT'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_INVALID_SNAPSHOT'
  | 'ERR_TRIM_CALLBACK'
  | 'ERR_SESSION_LIMIT'
  | 'ERR_STORE_CLOSED'
  | 'ERR_SESSION_CLOSING'
  | 'ERR_SESSION_CREATING'
  | 'ERR_DISPOSE_TIMEOUT'
  | 'ERR_INVALID_CLOCK'
  | 'ERR_ORPHAN_RESULT'
  | 'ERR_REDIS_COMMAND'
  | 'ERR_REDIS_DATA'
  | 'ERR_REDIS_CONFIG'
  | 'ERR_FENCED'
  | 'ERR_REGISTRY_CLOSED'
  | 'ERR_SESSION_TRANSACTION'
  | 'ERR_INVALID_MESSAGE'

/** Renders a value for an error message: `` `0` (number) ``. */
export function describeValue(value: unknown): string {
  let shown: string
  if (typeof value === 'string') shown = JSON.stringify(value)
  else if (typeof value === 'function') shown = value.name ? `[Function ${value.name}]` : '[Function]'
  else if (typeof value === 'bigint') shown = `${value}n`
  else if (value !== null && typeof value === 'object') {
    try {
      shown = JSON.stringify(value) ?? String(value)
    } catch {
      shown = Object.prototype.toString.call(value)
    }
  } else shown = String(value) // a symbol too: `Symbol(description)`
  if (shown.length > 60) shown = `${shown.slice(0, 57)}...`
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
  return `\`${shown}\` (${type})`
}

/**
 * Thrown by a constructor whose options are invalid: a wrong type, a number out of range, or an
 * unknown key. Nothing is constructed.
 *
 * @example
 * ```ts
 * try {
 *   new RingBufferHistory({ maxMessages: 0 })
 * } catch (error) {
 *   // error.code === 'ERR_INVALID_OPTIONS', error.field === 'maxMessages'
 * }
 * ```
 */
export class InvalidOptionsError extends TypeError {
  /** Always `'ERR_INVALID_OPTIONS'`. */
  readonly code = 'ERR_INVALID_OPTIONS' as const
  /** The option at fault, such as `'maxMessages'`. */
  declare readonly field: string
  /** The value that was given for it. */
  declare readonly value: unknown

  /** @param field - the option at fault; @param value - what was given; @param expected - what was expected, in words */
  constructor(field: string, value: unknown, expected: string) {
    super(`Expected \`${field}\` to be ${expected}, got ${describeValue(value)}`)
    this.field = field
    this.value = value
    this.name = 'InvalidOptionsError'
  }
}

/**
 * Thrown by {@link RingBufferHistory.push} when a message cannot fit the history's byte or token
 * budget even after trimming every message that may be trimmed. The history is left unchanged.
 */
export class MessageTooLargeError extends RangeError {
  /** Always `'ERR_MESSAGE_TOO_LARGE'`. */
  readonly code = 'ERR_MESSAGE_TOO_LARGE' as const
  /** The budget that cannot be met. */
  declare readonly budget: 'bytes' | 'tokens'
  /** The budget's limit (`maxBytes` or `maxTokens`). */
  declare readonly limit: number
  /** What the message needs, together with the pinned messages that must stay beside it. */
  declare readonly needed: number

  /** @param budget - which budget; @param limit - its limit; @param needed - what the message needs */
  constructor(budget: 'bytes' | 'tokens', limit: number, needed: number) {
    const field = budget === 'bytes' ? 'maxBytes' : 'maxTokens'
    super(
      `Expected a message to fit \`${field}\` (${limit} ${budget}) beside the pinned messages, but it needs ${needed} ${budget}`,
    )
    this.budget = budget
    this.limit = limit
    this.needed = needed
    this.name = 'MessageTooLargeError'
  }
}

/**
 * Thrown by {@link RingBufferHistory.push} (and by a session store weighing a session) when a
 * `sizeOf` or `countTokens` callback returns something other than a finite number from 0 to
 * 2^32 - 1. Nothing is changed.
 */
export class InvalidMeasurementError extends TypeError {
  /** Always `'ERR_INVALID_MEASUREMENT'`. */
  readonly code = 'ERR_INVALID_MEASUREMENT' as const
  /** The callback that returned the value. */
  declare readonly measure: 'sizeOf' | 'countTokens'
  /** What it returned. */
  declare readonly value: unknown

  /** @param measure - the callback's name; @param value - what it returned */
  constructor(measure: 'sizeOf' | 'countTokens', value: unknown) {
    super(`Expected \`${measure}\` to return a finite number from 0 to 4294967295, got ${describeValue(value)}`)
    this.measure = measure
    this.value = value
    this.name = 'InvalidMeasurementError'
  }
}

/**
 * Thrown by {@link RingBufferHistory.rollback} for a checkpoint that this history did not make,
 * or that lies after its newest message. The history is left unchanged.
 */
export class InvalidCheckpointError extends TypeError {
  /** Always `'ERR_INVALID_CHECKPOINT'`. */
  readonly code = 'ERR_INVALID_CHECKPOINT' as const

  /** @param value - the checkpoint given */
  constructor(value: unknown) {
    super(`Expected \`checkpoint\` to be a checkpoint made by this history, got ${describeValue(value)}`)
    this.name = 'InvalidCheckpointError'
  }
}

/**
 * Thrown by {@link RingBufferHistory.push} (and `pushPinned`, `reset`, `restore`, `from`) with a
 * `group` rule, for a message that answers a tool call the history does not hold: a call never
 * pushed, or one trimmed since (a late result). Nothing is changed; drop the result (the model
 * turn it answered is gone) or push its call first.
 */
export class OrphanResultError extends RangeError {
  /** Always `'ERR_ORPHAN_RESULT'`. */
  readonly code = 'ERR_ORPHAN_RESULT' as const
  /** The id of the call the message answers. */
  declare readonly callId: string

  /** @param callId - the id of the call that is not in the history */
  constructor(callId: string) {
    super(`Expected the call \`${callId}\` that a pushed result answers to be in the history (never pushed, or trimmed since)`)
    this.callId = callId
    this.name = 'OrphanResultError'
  }
}

/**
 * Thrown by a method given an argument it cannot use, such as `history.length = -1`. Nothing is
 * changed.
 */
export class InvalidArgumentError extends TypeError {
  /** Always `'ERR_INVALID_ARGUMENT'`. */
  readonly code = 'ERR_INVALID_ARGUMENT' as const
  /** The argument at fault, such as `'length'`. */
  declare readonly argument: string
  /** The value that was given for it. */
  declare readonly value: unknown

  /** @param argument - the argument at fault; @param value - what was given; @param expected - what was expected, in words */
  constructor(argument: string, value: unknown, expected: string) {
    super(`Expected \`${argument}\` to be ${expected}, got ${describeValue(value)}`)
    this.argument = argument
    this.value = value
    this.name = 'InvalidArgumentError'
  }
}

/**
 * Thrown by {@link RingBufferHistory.restore} for a snapshot that {@link RingBufferHistory.snapshot}
 * could not have made: a missing or mistyped field, an unknown `version`, or pinned indexes out of
 * order or out of range. Nothing is built.
 */
export class InvalidSnapshotError extends TypeError {
  /** Always `'ERR_INVALID_SNAPSHOT'`. */
  readonly code = 'ERR_INVALID_SNAPSHOT' as const
  /** The snapshot field at fault, such as `'pinned'` (`'snapshot'` for the whole value). */
  declare readonly field: string

  /** @param field - the field at fault; @param value - what it held; @param expected - what was expected, in words */
  constructor(field: string, value: unknown, expected: string) {
    super(`Expected snapshot \`${field}\` to be ${expected}, got ${describeValue(value)}`)
    this.field = field
    this.name = 'InvalidSnapshotError'
  }
}

/**
 * Thrown by {@link RingBufferHistory.push} (and the other methods that trim) when the `onTrim`
 * (or `onShrink`) callback threw. The push HAS taken effect: the messages were appended and the trim happened, so
 * do not push them again. The callback's error is the `cause`.
 */
export class TrimCallbackError extends Error {
  /** Always `'ERR_TRIM_CALLBACK'`. */
  readonly code = 'ERR_TRIM_CALLBACK' as const

  /** @param cause - what the callback threw; @param callback - which one (`onTrim` unless said) */
  constructor(cause: unknown, callback: 'onTrim' | 'onShrink' = 'onTrim') {
    super(`\`${callback}\` threw after the change took effect: the messages were appended and trimmed; do not push them again`, {
      cause,
    })
    this.name = 'TrimCallbackError'
  }
}

/**
 * Thrown when a store built with `whenFull: 'reject'` is asked to add a session while it holds
 * `maxSessions` live sessions. No session is evicted and the store is unchanged.
 */
export class SessionLimitError extends RangeError {
  /** Always `'ERR_SESSION_LIMIT'`. */
  readonly code = 'ERR_SESSION_LIMIT' as const
  /** The store's `maxSessions`. */
  declare readonly limit: number

  /** @param limit - the store's `maxSessions` */
  constructor(limit: number) {
    super(`Expected fewer than \`maxSessions\` (${limit}) live sessions to add one, got ${limit}`)
    this.limit = limit
    this.name = 'SessionLimitError'
  }
}

/** Thrown by a store's adding methods (`set`, `getOrCreate`, `getOrCreateAsync`) once {@link BoundedSessionStore.close} has been called. */
export class StoreClosedError extends Error {
  /** Always `'ERR_STORE_CLOSED'`. */
  readonly code = 'ERR_STORE_CLOSED' as const

  /** @param method - the method that was called */
  constructor(method: string) {
    super(`Expected an open store for \`${method}()\`, but it was closed`)
    this.name = 'StoreClosedError'
  }
}

/**
 * Thrown by `set` and `getOrCreate` for a key whose previous session is still being torn down
 * (its `dispose` has not settled), unless the store was built with `whenReserved: 'allow'`.
 * Nothing is stored. Wait with `store.settled(key)`, or use `getOrCreateAsync`, which waits.
 */
export class SessionClosingError extends Error {
  /** Always `'ERR_SESSION_CLOSING'`. */
  readonly code = 'ERR_SESSION_CLOSING' as const
  /** The key whose teardown is still running. */
  declare readonly key: unknown

  /** @param key - the reserved key */
  constructor(key: unknown) {
    super(`Expected the teardown of the session under ${describeValue(key)} to have settled, but its \`dispose\` is still running`)
    this.key = key
    this.name = 'SessionClosingError'
  }
}

/**
 * Thrown by `getOrCreate` for a key with no live session while a `getOrCreateAsync` of the same
 * key is still creating one: a second session would be made and then replaced (and disposed)
 * while its caller uses it. Nothing is created. Await `getOrCreateAsync` instead.
 */
export class SessionCreatingError extends Error {
  /** Always `'ERR_SESSION_CREATING'`. */
  readonly code = 'ERR_SESSION_CREATING' as const
  /** The key whose session is being created. */
  declare readonly key: unknown

  /** @param key - the key being created */
  constructor(key: unknown) {
    super(`Expected no \`getOrCreateAsync\` of ${describeValue(key)} in flight for \`getOrCreate()\`, but its \`create\` is still running`)
    this.key = key
    this.name = 'SessionCreatingError'
  }
}

/**
 * Reported (as a store's `error` event, never thrown) when a `dispose` has not settled after
 * `disposeTimeoutMs`: `close()`, `remove()`, `settled()` and the key's reservation stop waiting for it.
 */
export class DisposeTimeoutError extends Error {
  /** Always `'ERR_DISPOSE_TIMEOUT'`. */
  readonly code = 'ERR_DISPOSE_TIMEOUT' as const
  /** The key of the session whose teardown did not settle. */
  declare readonly key: unknown
  /** The store's `disposeTimeoutMs`. */
  declare readonly timeoutMs: number

  /** @param key - the session's key; @param timeoutMs - the store's `disposeTimeoutMs` */
  constructor(key: unknown, timeoutMs: number) {
    super(`Expected the \`dispose\` of the session under ${describeValue(key)} to settle within \`disposeTimeoutMs\` (${timeoutMs} ms), but it did not`)
    this.key = key
    this.timeoutMs = timeoutMs
    this.name = 'DisposeTimeoutError'
  }
}

/** Thrown by a store's methods when its `now` option returns something other than a finite number. Nothing is changed. */
export class InvalidClockError extends TypeError {
  /** Always `'ERR_INVALID_CLOCK'`. */
  readonly code = 'ERR_INVALID_CLOCK' as const
  /** What `now()` returned. */
  declare readonly value: unknown

  /** @param value - what `now()` returned */
  constructor(value: unknown) {
    super(`Expected \`now\` to return a finite number, got ${describeValue(value)}`)
    this.value = value
    this.name = 'InvalidClockError'
  }
}

/**
 * Thrown by `bounded-session/redis` when the Redis client fails a command: the connection is
 * down, the server refused it, or the client gave up retrying. The original error is `cause`.
 * A push that fails this way may or may not have been applied (the reply was lost), but never
 * in part: the server runs each push as one script.
 */
export class RedisCommandError extends Error {
  /** Always `'ERR_REDIS_COMMAND'`. */
  readonly code = 'ERR_REDIS_COMMAND' as const
  /** The Redis command that failed, such as `'EVALSHA'`. */
  declare readonly command: string

  /** @param command - the Redis command; @param cause - what the client threw */
  constructor(command: string, cause: unknown) {
    super(`Expected Redis to run \`${command}\`, but it failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    this.command = command
    this.name = 'RedisCommandError'
  }
}

/**
 * Thrown by `bounded-session/redis` when a session's keys hold something it did not write: a key
 * of another Redis type, or a stored value that does not parse. Nothing is changed.
 */
export class RedisDataError extends Error {
  /** Always `'ERR_REDIS_DATA'`. */
  readonly code = 'ERR_REDIS_DATA' as const
  /** A key of the session at fault. */
  declare readonly key: string

  /** @param problem - what is wrong, in words; @param key - a key of the session */
  constructor(problem: string, key: string) {
    super(`Expected the keys of \`${key}\` to hold what bounded-session wrote, but ${problem}`)
    this.key = key
    this.name = 'RedisDataError'
  }
}

/**
 * Thrown by a write of `RedisHistory` made with a `fence` whose token is older than one the
 * session has already seen: another worker acquired the session after this lease ran out.
 * Nothing is changed.
 */
export class LeaseFencedError extends Error {
  /** Always `'ERR_FENCED'`. */
  readonly code = 'ERR_FENCED' as const
  /** The token this write carried. */
  declare readonly token: number
  /** The newest token the session has seen. */
  declare readonly current: number

  /** @param token - the write's token; @param current - the session's newest token */
  constructor(token: number, current: number) {
    super(`Expected a fencing token of at least ${current}, got ${token}: the lease was taken over`)
    this.token = token
    this.current = current
    this.name = 'LeaseFencedError'
  }
}

/** Thrown by the methods of a `RedisSessionRegistry` after its `close()`. */
export class RegistryClosedError extends Error {
  /** Always `'ERR_REGISTRY_CLOSED'`. */
  readonly code = 'ERR_REGISTRY_CLOSED' as const

  /** @param method - the method that was called */
  constructor(method: string) {
    super(`Expected an open registry for \`${method}()\`, but it was closed`)
    this.name = 'RegistryClosedError'
  }
}

/**
 * Thrown by `BoundedSession.applyHistoryTransaction` (`bounded-session/openai-agents`) when a
 * transaction is refused: its operation id was already applied with a different transaction
 * (`reason: 'conflict'`), or the session's newest items are not the transaction's
 * `expectedSuffix` (`reason: 'suffix-mismatch'`). Nothing is changed and the operation id is not
 * recorded, so the same id can be used again.
 */
export class SessionTransactionError extends Error {
  /** Always `'ERR_SESSION_TRANSACTION'`. */
  readonly code = 'ERR_SESSION_TRANSACTION' as const
  /** Why the transaction was refused. */
  declare readonly reason: 'conflict' | 'suffix-mismatch'
  /** The transaction's operation id. */
  declare readonly operationId: string

  /** @param reason - why it was refused; @param operationId - the transaction's operation id */
  constructor(reason: 'conflict' | 'suffix-mismatch', operationId: string) {
    super(
      reason === 'conflict'
        ? `Operation ${JSON.stringify(operationId)} was already applied with a different transaction`
        : `The session's newest items are not the \`expectedSuffix\` of operation ${JSON.stringify(operationId)}`,
    )
    this.reason = reason
    this.operationId = operationId
    this.name = 'SessionTransactionError'
  }
}

/**
 * Thrown by the measures of a `bounded-session/formats` format (and so by a `push` that uses
 * them) for a message the format cannot read: not an object, no role or type it knows, a
 * `content` of the wrong type, a cycle, nesting deeper than 256 levels, or a getter that throws
 * (its error is the `cause`). The history is left unchanged.
 */
export class InvalidMessageError extends TypeError {
  /** Always `'ERR_INVALID_MESSAGE'`. */
  readonly code = 'ERR_INVALID_MESSAGE' as const
  /** The format that read the message, such as `'anthropic'`. */
  declare readonly format: string
  /** The message. */
  declare readonly value: unknown

  /** @param format - the format's name; @param value - the message; @param expected - what was expected, in words; @param cause - what a getter threw */
  constructor(format: string, value: unknown, expected: string, cause?: unknown) {
    super(`Expected a message of format \`${format}\` to be ${expected}, got ${describeValue(value)}`, cause === undefined ? undefined : { cause })
    this.format = format
    this.value = value
    this.name = 'InvalidMessageError'
  }
}

/**
 * Thrown by `bounded-session/redis` when the server is set up in a way that breaks its
 * guarantees: a `maxmemory-policy` that may evict any key (`allkeys-lru`, `allkeys-lfu`,
 * `allkeys-random`), which can silently drop a session's fence, a lease or the token counter.
 * Use `noeviction` (or a `volatile-*` policy, see the docs), or opt in with
 * `allowAllKeysEviction: true`. Nothing is changed.
 */
export class RedisConfigError extends Error {
  /** Always `'ERR_REDIS_CONFIG'`. */
  readonly code = 'ERR_REDIS_CONFIG' as const
  /** The server setting at fault, such as `'maxmemory-policy'`. */
  declare readonly setting: string
  /** Its value on the server. */
  declare readonly value: string

  /** @param setting - the server setting; @param value - its value; @param expected - what is needed, in words */
  constructor(setting: string, value: string, expected: string) {
    super(`Expected the Redis server's \`${setting}\` to be ${expected}, got \`${value}\``)
    this.setting = setting
    this.value = value
    this.name = 'RedisConfigError'
  }
}
