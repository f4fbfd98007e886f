// Admission: how a session comes into the store. Invariant: nothing new is stored under a
// reserved key (a teardown of a session removed under it is running, or queued) unless the caller
// allows it; the same value stored again is a refresh, never a removal; a different value under a
// held key replaces it (reason `replace`, or the old one's expiry reason); an insert into a full
// store first makes room (or throws, with `whenFull: 'reject'`), and every store leaves the
// bounds enforced, the stored session excluded.
import { SessionClosingError } from '../errors.js'
import { Entry, type IndexKey, SIZE_ONE } from './entry.js'
import { follow, historiesOf, weigh } from './history-weights.js'
import type { StoreParts } from './parts.js'

export class Admission<K, V> {
  constructor(readonly p: StoreParts<K, V>) {}

  /**
   * Whether a session's teardown is still running (or about to start) under `key`, which holds
   * no session: then nothing new may be stored under it yet.
   */
  reserved(key: K): boolean {
    const p = this.p
    if (p.teardowns.size > 0 && p.ops.checked(() => p.teardowns.holds(key))) return true
    // Teardowns queued but not yet run (a dispose or listener calling back into the store).
    return p.o.dispose !== undefined && p.ops.removing(key)
  }

  /** Checks, before `create` runs, that a new session may be stored under `key`. */
  admit(key: K, now: number, allowReserved = this.p.o.allowReserved): void {
    const p = this.p
    // A key that holds an (expired) session is not reserved, and needs no room: that one goes.
    if (p.index.has(key as IndexKey<K>)) return
    if (!allowReserved && this.reserved(key)) throw new SessionClosingError(key)
    if (p.o.reject && p.index.size >= p.o.maxSessions) p.evict.makeRoom(now)
  }

  /** Stores `value` under `key`: set() and the insert half of getOrCreate(). */
  put(key: K, value: V, now: number, allowReserved = this.p.o.allowReserved): void {
    const { o, index, busy, time, evict, self } = this.p
    const histories = historiesOf(value)
    const weight = weigh(o.sizeOf, key, value, histories)
    // One lookup: a session found becomes the most recent (a different one leaves at once).
    const found = index.get(key as IndexKey<K>)
    if (found !== undefined && Object.is(found.value, value)) {
      // The same value is a refresh even if it had expired: it stays, so it must not be disposed.
      // Past its max age it starts a new life, as an insert would (else it would still be expired).
      evict.allBusy = false
      busy.restart(found)
      if (time.timeUp(found, now) === 'max-age' && !busy.busy(found)) time.born(found, now)
      time.stamp(found, now)
      follow(found, histories, self)
      evict.setWeight(found, weight)
      evict.enforce(found, now)
      return
    }
    if (found === undefined) {
      if (!allowReserved && this.reserved(key)) throw new SessionClosingError(key)
    } else {
      const expiry = time.expired(found, now, false)
      this.p.removal.take(found, expiry ?? 'replace')
    }
    evict.allBusy = false
    if (index.size >= o.maxSessions) evict.makeRoom(now)
    const entry = new Entry(key, value, now, 0)
    time.stamp(entry, now)
    if (o.maxAge !== Infinity) time.born(entry, now)
    index.set(key as IndexKey<K>, entry, SIZE_ONE)
    evict.setWeight(entry, weight)
    follow(entry, histories, self)
    if (this.p.delivery.hears('create')) this.p.ops.push(['create', key, value])
    evict.enforce(entry, now)
  }
}
