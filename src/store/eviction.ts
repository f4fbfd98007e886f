// Eviction: the bounds (maxSessions, maxBytes) and the sessions that make way for them, least
// recently active idle ones first. Invariant: \`bytes\` is the sum of the held sessions' weights
// and \`#oversized\` counts the held sessions that alone outweigh maxBytes; \`overflowed\` says a
// bound was left exceeded (busy sessions kept it so) and is settled again by the next operations;
// \`allBusy\` says the last scan over a bound found every session busy, so no scan runs again until
// something can have become idle (the store clears it then: a lease released, a sweep, a session
// set, touched or found expired). The session an operation uses (\`exclude\`) is never evicted by it.
import { SessionLimitError } from '../errors.js'
import type { Entry } from './entry.js'
import type { OverflowInfo, RemovalReason } from './types.js'

/** What eviction needs of its store. */
export interface EvictionHost<K, V> {
  /** How many sessions are held. */
  size(): number
  /** The sessions, least recently active first. */
  oldestFirst(): IterableIterator<Entry<K, V>>
  /** Takes the least recently active session out of the index (it is then removed by \`take\`). */
  pop(): Entry<K, V>
  /** Whether busy protects the session. */
  busy(entry: Entry<K, V>): boolean
  /** Whether no session can be busy now. */
  neverBusy(): boolean
  /** Removes the session; \`indexed\`: it is still in the index (not popped). */
  take(entry: Entry<K, V>, reason: string, indexed?: boolean): void
  /** Which time limit the session is past, if any (its removal reason then). */
  timeUp(entry: Entry<K, V>, now: number): 'idle' | 'max-age' | undefined
  /** Marks the session active at \`now\`. */
  stamp(entry: Entry<K, V>, now: number): void
  /** Makes the session the most recently active one, if it is still held. */
  toFront(entry: Entry<K, V>): void
  /** Removes every expired session. */
  removeExpired(now: number): void
  /** Tells that busy sessions keep a bound exceeded. */
  overflow(info: OverflowInfo): void
}

export class Eviction<K, V> {
  bytes = 0
  #oversized = 0 // sessions that alone outweigh maxBytes
  allBusy = false
  overflowed = false

  constructor(
    readonly maxSessions: number,
    readonly maxBytes: number,
    readonly reject: boolean,
    readonly host: EvictionHost<K, V>,
  ) {}

  /** Sets a session's weight, keeping the total and the count of oversized sessions. */
  setWeight(entry: Entry<K, V>, weight: number): void {
    const maxBytes = this.maxBytes
    if (entry.weight > maxBytes) this.#oversized--
    if (weight > maxBytes) this.#oversized++
    this.bytes += weight - entry.weight
    entry.weight = weight
  }

  /** The session leaves: its weight leaves the total, and it is marked gone. */
  unweigh(entry: Entry<K, V>): void {
    if (entry.weight > this.maxBytes) this.#oversized--
    this.bytes -= entry.weight
    entry.weight = -1
  }

  /** Every session left. */
  reset(): void {
    this.overflowed = false
    this.allBusy = false
  }

  // Makes room for one more session when maxSessions are held (or throws, with 'reject').
  makeRoom(now: number): void {
    const max = this.maxSessions
    if (this.#oversized > 0) this.#removeOversized(undefined, now)
    if (this.reject) {
      if (this.host.size() >= max) this.host.removeExpired(now)
      if (this.host.size() >= max) throw new SessionLimitError(max)
      return
    }
    // Room for one more: the insertion then finds the store within maxSessions. If busy
    // sessions leave no room, the insertion reports the overflow.
    this.#evictWhile(false, max - 1, 'capacity', undefined, now)
  }

  // Evicts idle sessions, least recently active first, until both bounds hold; reports the bound
  // that busy sessions keep exceeded. `exclude` (the session the operation uses) is never evicted.
  enforce(exclude: Entry<K, V> | undefined, now: number): void {
    const { maxSessions, maxBytes, reject } = this
    const over = this.host.size() > maxSessions || this.bytes > maxBytes
    // Nothing to do unless a bound is exceeded, or was.
    if (!over && !this.overflowed) return
    let overflowed = false
    const report = (bound: 'maxSessions' | 'maxBytes', limit: number): void => {
      overflowed = true
      this.host.overflow({ bound, size: this.host.size(), bytes: this.bytes, limit })
    }
    if (over && this.allBusy) {
      // Nothing can have become idle since every session was found busy: no scan, the same report.
      if (!reject && this.host.size() > maxSessions) report('maxSessions', maxSessions)
      if (this.bytes > maxBytes) report('maxBytes', maxBytes)
      return
    }
    let blocked = false
    // Idle sessions that alone outweigh maxBytes can never fit: they go first, for either bound.
    const hopeless = exclude !== undefined && exclude.weight > maxBytes
    if (over && this.#oversized > (hopeless ? 1 : 0)) this.#removeOversized(exclude, now)
    // With 'reject' no session is ever evicted for capacity (none is admitted beyond it).
    if (!reject && this.host.size() > maxSessions && this.#evictWhile(false, maxSessions, 'capacity', exclude, now)) {
      blocked = true
      report('maxSessions', maxSessions)
    }
    if (this.bytes > maxBytes) {
      // The session this operation uses alone outweighs maxBytes: evicting the others for it
      // would only empty the store. They stay, the overflow is reported, and the next operation
      // that does not use it evicts it.
      if (hopeless) report('maxBytes', maxBytes)
      else if (this.#evictWhile(true, maxBytes, 'size', exclude, now)) {
        blocked = true
        report('maxBytes', maxBytes)
      }
    }
    this.overflowed = overflowed
    // Every session the scans met was busy; so is the excluded one (else the next operation that
    // does not use it may evict it, and must look).
    this.allBusy = blocked && (exclude === undefined || exclude.gone || this.host.busy(exclude))
  }

  // Evicts while the store holds more than `limit` sessions (or bytes). Returns whether it had to
  // stop because every session left is busy (or excluded).
  #evictWhile(bytes: boolean, limit: number, reason: RemovalReason, exclude: Entry<K, V> | undefined, now: number): boolean {
    for (;;) {
      const excess = bytes ? this.bytes - limit : this.host.size() - limit
      if (excess <= 0) return false
      // Nothing can be busy and nothing is excluded: the least recently active session goes.
      if (exclude === undefined && this.host.neverBusy()) {
        const entry = this.host.pop()
        this.host.take(entry, this.host.timeUp(entry, now) ?? reason, false)
        continue
      }
      const picked = this.pickIdle(exclude, excess, bytes, -1, now)
      if (picked.length === 0) return true
      for (const entry of picked) this.host.take(entry, this.host.timeUp(entry, now) ?? reason)
    }
  }

  // Removes the idle sessions (but `exclude`) that alone outweigh maxBytes.
  #removeOversized(exclude: Entry<K, V> | undefined, now: number): void {
    for (const entry of this.pickIdle(exclude, Infinity, false, this.maxBytes, now)) {
      this.host.take(entry, this.host.timeUp(entry, now) ?? 'size')
    }
  }

  // Picks idle sessions other than `exclude`, least recently active first, until they make up
  // `excess`: a number of sessions, or of bytes with `byWeight`. Only sessions that weigh more
  // than `heavierThan` are picked. Busy sessions met count as active now.
  pickIdle(exclude: Entry<K, V> | undefined, excess: number, byWeight: boolean, heavierThan: number, now: number): Entry<K, V>[] {
    const picked: Entry<K, V>[] = []
    let busy: Entry<K, V>[] | undefined
    for (const entry of this.host.oldestFirst()) {
      if (excess <= 0) break
      if (entry === exclude || entry.weight <= heavierThan) continue
      if (this.host.busy(entry)) {
        this.host.stamp(entry, now)
        ;(busy ??= []).push(entry)
        continue
      }
      picked.push(entry)
      excess -= byWeight ? entry.weight : 1
    }
    // Busy sessions met become the most recent (after the walk: moving an entry while lru-cache
    // walks its list would cut the walk short).
    if (busy !== undefined) for (const entry of busy) this.host.toFront(entry)
    return picked
  }
}
