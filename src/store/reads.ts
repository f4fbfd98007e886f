// Reads: how the store finds a live session. Invariant: a read returns only a live session (not
// past a time limit, or busy and so protected); a session a read finds expired is removed then,
// with its reason, once; a read refreshes its session (recency and idle time) unless it is a peek;
// a read that finds a bound left exceeded (`overflowed`) settles it after its own session is
// refreshed (and leased, for acquire), so that session is never the one evicted for it.
import type { Entry, IndexKey } from './entry.js'
import { inOrder, type StoreParts } from './parts.js'

export class Reads<K, V> {
  constructor(readonly p: StoreParts<K, V>) {}

  /**
   * The read path of get, touch and acquire: the live entry, refreshed (and leased, with
   * `lease`), or undefined. A lease is held before a pending bound is settled.
   */
  read(key: K, now: number, lease = false): Entry<K, V> | undefined {
    const { index, time, evict, busy } = this.p
    const entry = index.get(key as IndexKey<K>)
    const settle = evict.overflowed && (!evict.allBusy || this.p.delivery.hears('overflow'))
    if (entry === undefined) {
      if (settle) this.p.ops.checked(() => evict.enforce(undefined, now))
      return undefined
    }
    if (settle || time.timeUp(entry, now) !== undefined) {
      this.p.ops.checked(() => {
        const expiry = time.expired(entry, now, false)
        if (expiry !== undefined && !entry.gone) {
          this.p.removal.take(entry, expiry)
          // A session past its time was found idle: others may be idle too.
          evict.allBusy = false
        } else {
          time.stamp(entry, now)
          if (lease) busy.lease(entry)
        }
        if (evict.overflowed) evict.enforce(entry.gone ? undefined : entry, now)
      })
      // A dispose run meanwhile may have removed it: then the read misses.
      return entry.gone ? undefined : entry
    }
    time.stamp(entry, now)
    if (lease) busy.lease(entry)
    return entry
  }

  /** getOrCreate's hit: the live entry, refreshed, or undefined. Changes nothing on a miss. */
  found(key: K, now: number): Entry<K, V> | undefined {
    const { index, time, ops } = this.p
    const found = index.peek(key as IndexKey<K>)
    if (found === undefined) return undefined
    if (time.timeUp(found, now) !== undefined && ops.checked(() => time.expired(found, now, false)) !== undefined) return undefined
    return this.read(key, now)
  }

  /** The live entry, refreshing nothing (peek and has). An expired one is removed then, once. */
  peek(key: K, now: number): Entry<K, V> | undefined {
    const entry = this.p.index.peek(key as IndexKey<K>)
    if (entry === undefined || (this.p.time.timeUp(entry, now) !== undefined && this.p.ops.checked(() => this.#removeExpired(entry, now)))) {
      return undefined
    }
    return entry
  }

  /** A lease on the session was released: it is refreshed as a read would, and a pending bound settled. */
  release(entry: Entry<K, V>): void {
    if (entry.gone) return
    const { index, clock, time, evict, busy } = this.p
    busy.release(entry)
    evict.allBusy = false
    const now = clock.read()
    time.stamp(entry, now)
    index.get(entry.key as IndexKey<K>)
    if (evict.overflowed) this.p.ops.checked(() => evict.enforce(undefined, now))
  }

  /**
   * The live sessions, most recently active first: those present when iteration starts, skipping
   * any that leave or expire before their turn.
   */
  *live(): Generator<[K, V], undefined, undefined> {
    const { index, clock, time, ops } = this.p
    const entries = [...inOrder(index, false)]
    const now = clock.read()
    for (const entry of entries) {
      if (entry.gone) continue
      if (time.timeUp(entry, now) !== undefined && ops.checked(() => time.expired(entry, now, false)) !== undefined) continue
      yield [entry.key, entry.value]
    }
    return undefined
  }

  // A read that finds the session past its time: removes it if it has expired (it is not busy),
  // and says whether it did (a dispose run meanwhile may have removed it too).
  #removeExpired(entry: Entry<K, V>, now: number): boolean {
    const expiry = this.p.time.expired(entry, now, false)
    if (expiry === undefined) return entry.gone
    this.p.removal.take(entry, expiry)
    // A session past its time was found idle: others may be idle too.
    this.p.evict.allBusy = false
    return true
  }
}
