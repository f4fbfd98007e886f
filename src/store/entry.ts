// What the store knows of one session. Invariant: an entry is in the LRU index exactly while
// \`weight >= 0\`; once it has left (\`gone\`) it never comes back (a key stored again gets a new
// entry), so a lease or a watcher holding an old entry can always tell.
import type { Watcher } from './history-weights.js'

/** lru-cache's key type (it excludes undefined and null). */
export type IndexKey<K> = K & {}

// lru-cache counts every entry as size 1 against an unreachable maxSize: no max, no eviction of
// its own, no warning.
export const SIZE_ONE = { size: 1 } as const

/**
 * What the store knows of one session. Its times are milliseconds since the store's first clock
 * reading: small integers, which V8 keeps in the object itself, where an absolute `Date.now()`
 * takes a heap number of 16 B per field. (Past 2^31 ms, about 24.8 days after that first
 * reading, V8 moves the fields to heap numbers: only the memory changes.)
 */
export class Entry<K, V> {
  // Its bytes as sizeOf weighs it; -1 once it has left the store (no session weighs less than 0),
  // which is what `gone` reads: one field less per session than a flag of its own.
  weight = 0
  watcher: Watcher<K, V> | undefined = undefined

  constructor(
    readonly key: K,
    readonly value: V,
    public lastActive: number,
    public created: number,
  ) {}

  /** Whether the session has left the store. */
  get gone(): boolean {
    return this.weight < 0
  }
}
