import type { Entry } from './entry.js'

// The sessions in order of creation, kept with maxAgeMs: those past their max age are a run from
// the head while creation times rise (`ordered`; the clock going back clears it until the next
// compaction sorts the slots). A slot whose session left, or was born again by a set of the same
// value (its `created` no longer matches the slot's stamp), is stale and skipped; stale slots are
// compacted away once they outnumber the live ones, so a removed session is not held for long.
export class CreationOrder<K, V> {
  #entries: Entry<K, V>[] = []
  #stamps: number[] = []
  #head = 0
  #ordered = true

  add(entry: Entry<K, V>, live: number): void {
    const n = this.#stamps.length
    if (n > this.#head && (this.#stamps[n - 1] as number) > entry.created) this.#ordered = false
    this.#entries.push(entry)
    this.#stamps.push(entry.created)
    if (n - this.#head > 2 * live + 64) this.#compact()
  }

  // The live sessions past `maxAge` at `now` (busy or not), oldest first.
  *pastMaxAge(now: number, maxAge: number): Generator<Entry<K, V>, undefined, undefined> {
    const entries = this.#entries
    const stamps = this.#stamps
    for (let i = this.#head; i < entries.length; i++) {
      const entry = entries[i] as Entry<K, V>
      if (entry.gone || entry.created !== stamps[i]) {
        if (i === this.#head) this.#drop()
        continue
      }
      if (now - entry.created < maxAge) {
        if (this.#ordered) return undefined
        continue
      }
      yield entry
    }
    return undefined
  }

  clear(): void {
    this.#entries = []
    this.#stamps = []
    this.#head = 0
    this.#ordered = true
  }

  #drop(): void {
    this.#entries[this.#head] = undefined as never
    if (++this.#head > 1024 && this.#head * 2 > this.#entries.length) this.#compact()
  }

  #compact(): void {
    const kept: Entry<K, V>[] = []
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i] as Entry<K, V>
      if (entry !== undefined && !entry.gone && entry.created === this.#stamps[i]) kept.push(entry)
    }
    if (!this.#ordered) kept.sort((a, b) => a.created - b.created)
    this.#entries = kept
    this.#stamps = kept.map((entry) => entry.created)
    this.#head = 0
    this.#ordered = true
  }
}
