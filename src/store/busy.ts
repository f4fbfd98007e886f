// Which sessions are busy: leased, or busy by the host's `isBusy`, and (with `maxBusyMs`) not
// stranded. Invariant: a session found busy without a break for longer than `maxBusyMs` is
// stranded once (the host is told once) and from then on is never busy; being found idle, being
// stored again or leaving the store ends the stretch. A session's leases are counted here until
// they are released or it leaves.
import type { Entry } from './entry.js'

/** What the busy tracker needs of its store. */
export interface BusyHost<K, V> {
  /** The time the current operation stands at (the stretches of busy are timed by it). */
  now(): number
  /** Reports an error `isBusy` threw. */
  report(error: unknown, key: K): void
  /** A session was found stranded after `busyForMs`. */
  stranded(entry: Entry<K, V>, busyForMs: number): void
}

export class BusyTracker<K, V> {
  readonly #leases = new Map<Entry<K, V>, number>() // the leased sessions: how many leases each
  // With maxBusyMs: when each session found busy was first found so without a break, and the
  // sessions found stranded.
  readonly #busySince = new Map<Entry<K, V>, number>()
  readonly #stranded = new Set<Entry<K, V>>()
  #inIsBusy = false

  constructor(
    readonly isBusy: ((value: V, key: K) => boolean) | undefined,
    readonly maxBusyMs: number,
    readonly host: BusyHost<K, V>,
  ) {}

  /** Whether no session can be busy now: no `isBusy`, no lease. */
  get never(): boolean {
    return this.isBusy === undefined && this.#leases.size === 0
  }

  /** Whether busy protects the session: leased or busy by isBusy, and (with maxBusyMs) not stranded. */
  busy(entry: Entry<K, V>): boolean {
    if (this.maxBusyMs !== Infinity) {
      if (this.#stranded.size > 0 && this.#stranded.has(entry)) return false
      return this.#strandCheck(entry, this.#found(entry))
    }
    return this.#found(entry)
  }

  /** Holds the session busy until `release`. */
  lease(entry: Entry<K, V>): void {
    this.#leases.set(entry, (this.#leases.get(entry) ?? 0) + 1)
  }

  release(entry: Entry<K, V>): void {
    const held = this.#leases.get(entry) ?? 1
    if (held > 1) this.#leases.set(entry, held - 1)
    else this.#leases.delete(entry)
  }

  /** The session was stored again: a stretch of busy starts afresh. */
  restart(entry: Entry<K, V>): void {
    if (this.#busySince.size > 0 || this.#stranded.size > 0) this.#unstrand(entry)
  }

  /** The session left the store: its leases and its stretch are forgotten. */
  forget(entry: Entry<K, V>): void {
    if (this.#leases.size > 0) this.#leases.delete(entry)
    this.restart(entry)
  }

  #found(entry: Entry<K, V>): boolean {
    if (this.#leases.size > 0 && this.#leases.has(entry)) return true
    const isBusy = this.isBusy
    if (isBusy === undefined) return false
    // An isBusy that calls back into the store gets "busy" for every session meanwhile.
    if (this.#inIsBusy) return true
    this.#inIsBusy = true
    try {
      return isBusy(entry.value, entry.key) === true
    } catch (error) {
      // A failing check must not lead to tearing down a session that may be at work.
      this.host.report(error, entry.key)
      return true
    } finally {
      this.#inIsBusy = false
    }
  }

  // With maxBusyMs: times the stretch a session has been found busy; past maxBusyMs it is stranded.
  #strandCheck(entry: Entry<K, V>, busy: boolean): boolean {
    if (!busy) {
      if (this.#busySince.size > 0) this.#busySince.delete(entry)
      return false
    }
    const now = this.host.now()
    const since = this.#busySince.get(entry)
    if (since === undefined) {
      this.#busySince.set(entry, now)
      return true
    }
    if (now - since <= this.maxBusyMs) return true
    this.#busySince.delete(entry)
    this.#stranded.add(entry)
    this.host.stranded(entry, now - since)
    return false
  }

  #unstrand(entry: Entry<K, V>): void {
    this.#busySince.delete(entry)
    this.#stranded.delete(entry)
  }
}
