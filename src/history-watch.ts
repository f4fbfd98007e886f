// Internal protocol between a history and the stores that weigh the sessions holding it.
// The key is registered (Symbol.for) so that a store from the CJS copy of this package still
// recognises a history made by the ESM copy.

/** Told after a history's byte total changed. */
export interface HistoryWatcher {
  historyResized(delta: number): void
}

/** Method key: `history[watchKey](watcher, true)` subscribes, `(watcher, false)` unsubscribes. */
export const watchKey: unique symbol = Symbol.for('bounded-session.history.watch') as never

/** What a store needs of a history: its bytes and the watch method. */
export interface WatchableHistory {
  readonly bytes: number
  [watchKey](watcher: HistoryWatcher, subscribe: boolean): void
}

/** Whether `value` is a history of this package (from either module copy). */
export function isWatchableHistory(value: unknown): value is WatchableHistory {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Partial<WatchableHistory>)[watchKey] === 'function'
  )
}
