// The way out: the one way a session leaves the store. Invariant: a session taken is out at once
// (out of the index, its weight out of the total, its leases and busy stretch forgotten, its
// histories no longer followed), its removal is recorded (in the log `lastRemoval` reads and in
// the count by reason) and its teardown is queued: `dispose` and the `remove` event run from the
// operation queue once the operation's state is complete (lru-cache's disposeAfter discipline),
// so no loop of the store ever meets a callback that changed the store under it. A session is
// taken at most once (`gone`).
import { Entry, type IndexKey } from './entry.js'
import { follow } from './history-weights.js'
import { inOrder, type StoreParts } from './parts.js'
import { RemovalLog } from './removal-log.js'
import type { RemovalReason, RemovalRecord } from './types.js'

export class Removal<K, V> {
  /** Sessions removed, by reason (a host's own reason counts as `delete`). */
  readonly removed: Record<RemovalReason, number> = {
    idle: 0,
    'max-age': 0,
    capacity: 0,
    size: 0,
    pressure: 0,
    delete: 0,
    replace: 0,
    clear: 0,
    close: 0,
  }
  /** Sessions taken so far (what a sweep removed is the difference). */
  taken = 0
  // Why the newest removed keys left (a key the store holds again has none: see last).
  readonly #log: RemovalLog<K, string>

  constructor(readonly p: StoreParts<K, V>) {
    this.#log = new RemovalLog(p.o.maxSessions)
  }

  /**
   * Takes the session out and queues its teardown. `indexed`: whether it is still in the index
   * (every session that is not gone is, but for the ones `pop()` and `takeAll()` just took out).
   */
  take(entry: Entry<K, V>, reason: string, indexed = true): void {
    if (entry.gone) return
    const p = this.p
    if (indexed) p.index.delete(entry.key as IndexKey<K>)
    p.evict.unweigh(entry)
    p.busy.forget(entry)
    follow(entry, undefined, p.self)
    this.#log.record(entry.key, reason, p.clock.last)
    this.removed[(Object.hasOwn(this.removed, reason) ? reason : 'delete') as RemovalReason]++
    this.taken++
    if (p.o.dispose !== undefined || p.delivery.hears('remove')) p.ops.push(['remove', entry, reason])
  }

  /** Takes every session out, as one operation. `surface`: a listener's error is thrown. */
  takeAll(reason: 'clear' | 'close', surface: boolean): void {
    const p = this.p
    p.ops.begin()
    try {
      // Least recently active first. Sessions stored by a dispose meanwhile were not there: they stay.
      const entries = [...inOrder(p.index, true)]
      p.index.clear()
      for (const entry of entries) this.take(entry, reason, false)
      p.time.clear()
      p.evict.reset()
    } finally {
      p.ops.end(surface)
    }
  }

  /** A session made for the store could not be stored: it gets its teardown all the same. */
  unstored(key: K, value: V, reason: 'close' | 'capacity'): void {
    this.removed[reason]++
    this.p.ops.checked(() => this.p.ops.push(['remove', new Entry<K, V>(key, value, 0, 0), reason]))
  }

  /** Why the session under `key` left, and when, if the log still holds it and the key holds no session. */
  last<R extends string>(key: K): RemovalRecord<R> | undefined {
    // Storing a key again forgets its removals: every way out of the store records one, so a key
    // not held has its newest removal in the log (or is too old for it).
    if (this.p.index.has(key as IndexKey<K>)) return undefined
    const found = this.#log.find(key)
    return found === undefined ? undefined : { reason: found.reason as RemovalReason | R, at: this.p.clock.epoch + found.time }
  }
}
