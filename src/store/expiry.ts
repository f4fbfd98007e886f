// Expiry: the time limits (idle time, max age), the order of activity they rely on, and the
// expired sessions. Invariant: while \`ordered\`, activity times rise from the least recently
// active end of the store, so the idle-expired sessions are a run from that end; the sessions
// past their max age are a run from the oldest end of the creation order (CreationOrder); no
// session was created before \`oldestCreated\`. A walk of the whole store happens only when some
// session may be past its max age, or after the clock went back (it then checks whether the
// order holds again).
import { CreationOrder } from './creation-order.js'
import type { Entry } from './entry.js'

/** What expiry needs of its store. */
export interface ExpiryHost<K, V> {
  /** The sessions, least recently active first. */
  oldestFirst(): IterableIterator<Entry<K, V>>
  /** How many sessions are held. */
  live(): number
  /** Whether busy protects the session. */
  busy(entry: Entry<K, V>): boolean
  /** Removes the session (its teardown is queued). */
  take(entry: Entry<K, V>, reason: string): void
  /** Makes the session the most recently active one, if it is still held. */
  toFront(entry: Entry<K, V>): void
}

export class Expiry<K, V> {
  #oldestCreated = Infinity // no session was created before this (with maxAgeMs)
  readonly #byAge = new CreationOrder<K, V>() // with maxAgeMs
  #latest = -Infinity // the latest activity stamped
  #ordered = true // activity times rise from the least recently active end (false after the clock went back)

  constructor(
    readonly idleTtl: number,
    readonly maxAge: number,
    readonly host: ExpiryHost<K, V>,
  ) {}

  // Which time limit the session is past (busy or not), if any.
  timeUp(entry: Entry<K, V>, now: number): 'idle' | 'max-age' | undefined {
    if (now - entry.created >= this.maxAge) return 'max-age'
    return now - entry.lastActive >= this.idleTtl ? 'idle' : undefined
  }

  // Starts a session's life at `now` (with maxAgeMs).
  born(entry: Entry<K, V>, now: number): void {
    entry.created = now
    if (now < this.#oldestCreated) this.#oldestCreated = now
    this.#byAge.add(entry, this.host.live())
  }

  // How many expired sessions (past a time limit and not busy) are held, or what they weigh
  // (`weigh`). Reads only the expired ones: the idle ones are a run from the least recently
  // active end, and the ones past their max age a run from the oldest end of the creation order.
  countExpired(now: number, weigh: boolean): number {
    let n = 0
    if (!this.#ordered) {
      for (const entry of this.findExpired(now, false)) n += weigh ? entry.weight : 1
      return n
    }
    const idleTtl = this.idleTtl
    for (const entry of this.host.oldestFirst()) {
      if (now - entry.lastActive < idleTtl) break
      if (!this.host.busy(entry)) n += weigh ? entry.weight : 1
    }
    if (this.maxAge === Infinity || now - this.#oldestCreated < this.maxAge) return n
    for (const entry of this.#byAge.pastMaxAge(now, this.maxAge)) {
      // Idle past its time too: counted by the walk above.
      if (now - entry.lastActive >= idleTtl) continue
      if (!this.host.busy(entry)) n += weigh ? entry.weight : 1
    }
    return n
  }

  // Marks the session active at `now`; it is (or is about to be made) the most recent.
  stamp(entry: Entry<K, V>, now: number): void {
    entry.lastActive = now
    if (now >= this.#latest) this.#latest = now
    else this.#ordered = false
  }

  // Why the session has expired, or undefined when it has not (or is busy). `refresh`: a busy
  // session counts as active now (its recency is left to the caller).
  expired(entry: Entry<K, V>, now: number, refresh: boolean): 'idle' | 'max-age' | undefined {
    const reason = this.timeUp(entry, now)
    if (reason === undefined || !this.host.busy(entry)) return reason
    if (refresh) this.stamp(entry, now)
    return undefined
  }

  // The expired sessions (past a time limit and not busy), least recently active first. Sessions
  // are kept in order of activity, so without a max age the expired ones are a run from the least
  // recently active end; the whole store is walked only when some session may be past its max
  // age, or after the clock went back (the walk then checks whether the order holds again).
  // `remove`: the expired sessions are removed (and none is returned), and busy sessions met count
  // as active now and become the most recent. Each is removed one step behind the walk: lru-cache's
  // walk goes on from the entry it stands on, so removing an entry it has passed is safe (the one
  // it stands on is never removed), and the removal finds that entry's index slot still in the CPU
  // cache, which halves the time of a sweep that removes many sessions.
  findExpired(now: number, remove: boolean): Entry<K, V>[] {
    const found: Entry<K, V>[] = []
    let passed: Entry<K, V> | undefined // expired, to be removed once the walk has moved on
    const byAge = now - this.#oldestCreated >= this.maxAge
    const walkAll = byAge || !this.#ordered
    let oldest = Infinity
    let previous = -Infinity
    let ordered = true
    let busy: Entry<K, V>[] | undefined
    for (const entry of this.host.oldestFirst()) {
      if (passed !== undefined) this.host.take(passed, this.timeUp(passed, now) ?? 'idle')
      passed = undefined
      if (entry.lastActive < previous) ordered = false
      previous = entry.lastActive
      if (entry.created < oldest) oldest = entry.created
      if (this.timeUp(entry, now) === undefined) {
        if (!walkAll) break
      } else if (!this.host.busy(entry)) {
        if (remove) passed = entry
        else found.push(entry)
      } else if (remove) {
        this.stamp(entry, now)
        ;(busy ??= []).push(entry)
      }
    }
    if (passed !== undefined) this.host.take(passed, this.timeUp(passed, now) ?? 'idle')
    if (remove && walkAll) {
      if (byAge) this.#oldestCreated = oldest
      // Busy sessions found are stamped now and moved to the most recent end: the order holds.
      if (ordered) this.#ordered = true
    }
    // Busy sessions met become the most recent (after the walk: moving an entry while lru-cache
    // walks its list would cut the walk short).
    if (busy !== undefined) for (const entry of busy) this.host.toFront(entry)
    return found
  }

  /** Forgets the creation order (every session left). */
  clear(): void {
    this.#byAge.clear()
  }
}
