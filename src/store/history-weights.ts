// History weights: which histories a session holds (found when it is stored), and the watcher
// that tells the store when one of them changed its bytes. Invariant: a store follows exactly the
// histories found when the session was last stored, each through one watcher, and none once the
// session has left; the watcher holds the store weakly, so a history the host keeps does not keep
// the store alive. When a followed history changes its bytes, the session is weighed again (or its
// weight moves by the change, without `sizeOf`) and the bounds are enforced, as one operation that
// never throws into the history's push.
import { InvalidMeasurementError } from '../errors.js'
import { type HistoryWatcher, isWatchableHistory, type WatchableHistory, watchKey } from '../history-watch.js'
import type { Entry } from './entry.js'
import { SESSION_OVERHEAD_BYTES } from './options.js'
import type { StoreParts } from './parts.js'

// Set once by the store's static block: lets a watcher reach its store's private resize handler.
let resized: (store: object, entry: Entry<unknown, unknown>, delta: number) => void = () => {}

/** Installs the store's resize handler (called once, by the store class). */
export function onHistoryResized(handler: (store: object, entry: Entry<unknown, unknown>, delta: number) => void): void {
  resized = handler
}

export class Watcher<K, V> implements HistoryWatcher {
  constructor(
    readonly entry: Entry<K, V>,
    readonly histories: WatchableHistory[],
    // The store, held weakly: a history the host keeps must not keep the store alive.
    readonly store: WeakRef<object>,
  ) {}

  historyResized(delta: number): void {
    const store = this.store.deref()
    if (store !== undefined && !this.entry.gone) resized(store, this.entry as Entry<unknown, unknown>, delta)
  }
}

/** The histories among the session's own enumerable properties, or the session itself if it is one. */
export function historiesOf(value: unknown): WatchableHistory[] | undefined {
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

/** Whether two lists of followed histories are the same. */
export function sameHistories(a: WatchableHistory[] | undefined, b: WatchableHistory[] | undefined): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * The weight of a session in bytes: what `sizeOf` says (checked), or SESSION_OVERHEAD_BYTES plus
 * the bytes of its histories.
 */
export function weigh<K, V>(sizeOf: ((value: V, key: K) => number) | undefined, key: K, value: V, histories: WatchableHistory[] | undefined): number {
  if (sizeOf !== undefined) {
    const size = sizeOf(value, key)
    if (typeof size !== 'number' || !(size >= 0) || size > 0xffff_ffff) throw new InvalidMeasurementError('sizeOf', size)
    return size
  }
  let bytes = SESSION_OVERHEAD_BYTES
  if (histories !== undefined) for (const history of histories) bytes += history.bytes
  return bytes
}

/** Makes the session follow `histories` (found when it was stored) instead of the ones it followed. */
export function follow<K, V>(entry: Entry<K, V>, histories: WatchableHistory[] | undefined, store: WeakRef<object>): void {
  const current = entry.watcher
  if (sameHistories(current?.histories, histories)) return
  if (current !== undefined) for (const history of current.histories) history[watchKey](current, false)
  entry.watcher = undefined
  if (histories === undefined) return
  const watcher = new Watcher(entry, histories, store)
  entry.watcher = watcher
  for (const history of histories) history[watchKey](watcher, true)
}

/**
 * A push to one of the session's histories changed its bytes by `delta`. Never throws into the
 * push: what goes wrong is reported as an `error` event.
 */
export function reweigh<K, V>(p: StoreParts<K, V>, entry: Entry<K, V>, delta: number): void {
  const { o, ops, evict } = p
  ops.begin()
  try {
    let weight = entry.weight + delta
    if (o.sizeOf !== undefined) {
      try {
        weight = weigh(o.sizeOf, entry.key, entry.value, entry.watcher?.histories)
      } catch (error) {
        ops.report(error, entry.key)
        weight = entry.weight
      }
      // A sizeOf that removed the session (it should not call back into the store) leaves it removed.
      if (entry.gone) return
    }
    evict.setWeight(entry, weight)
    if (evict.bytes > o.maxBytes || evict.overflowed) evict.enforce(entry, p.clock.read())
  } catch (error) {
    ops.report(error, entry.key)
  } finally {
    ops.end(false)
  }
}
