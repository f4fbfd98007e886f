// The store's public types: removal reasons, events, leases, records, call options and stats.
// Types only: nothing here runs.

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
