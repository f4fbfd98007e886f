// Why the newest removed keys left, for `lastRemoval`. Invariant: the log holds the newest
// `capacity` removals (a key removed twice counts twice) and answers, for a key, its newest
// removal among them; "storing a key again forgets it" is the store's part (it asks only for keys
// it does not hold, and every way out of the store is a removal recorded here).
//
// A removal is three array writes into a ring (key, reason, time; no object, no hash lookup), so
// an evicting insert pays almost nothing for it. The key → slot index is built only when a lookup
// asks, from the records added since the last one; a slot overwritten since by another key is
// stale (the lookup checks that its slot still holds the key), and the index is rebuilt from the
// ring when it would grow past 2 × capacity keys, so stale entries never outnumber the live ones
// by much. A store whose host never asks builds no index at all.
export class RemovalLog<K, Reason extends string> {
  readonly #capacity: number
  readonly #keys: K[] = []
  readonly #reasons: Reason[] = []
  readonly #times: number[] = []
  #count = 0 // removals recorded: record n is in slot n % capacity
  #index: Map<K, number> | undefined // key → slot of its newest record, up to #indexed
  #indexed = 0

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  /** Records that `key` left for `reason` at `time`. */
  record(key: K, reason: Reason, time: number): void {
    const n = this.#count++
    if (n < this.#capacity) {
      this.#keys.push(key)
      this.#reasons.push(reason)
      this.#times.push(time)
      return
    }
    const slot = n % this.#capacity
    this.#keys[slot] = key
    this.#reasons[slot] = reason
    this.#times[slot] = time
  }

  /** The newest recorded removal of `key`, if the log still holds one. */
  find(key: K): { reason: Reason; time: number } | undefined {
    const slot = this.#sync().get(key)
    if (slot === undefined || !Object.is(this.#keys[slot], key)) return undefined
    return { reason: this.#reasons[slot] as Reason, time: this.#times[slot] as number }
  }

  // Brings the index up to date with the records added since it was last used.
  #sync(): Map<K, number> {
    const capacity = this.#capacity
    let index = this.#index
    const added = this.#count - this.#indexed
    if (index === undefined || added >= capacity || index.size + added > 2 * capacity) {
      // Every slot, oldest record first, so a key's newest record wins.
      index = this.#index = new Map()
      this.#indexed = Math.max(0, this.#count - capacity)
    }
    for (let n = this.#indexed; n < this.#count; n++) {
      const slot = n % capacity
      index.set(this.#keys[slot] as K, slot)
    }
    this.#indexed = this.#count
    return index
  }
}
