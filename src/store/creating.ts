// The creates in flight: getOrCreateAsync's one create per key. Invariant: at most one create
// runs per key (concurrent calls share its promise, and getOrCreate of the key throws
// SessionCreatingError meanwhile); a create starts only once no teardown holds its key, and what
// it made is stored once none does (or the store is closing); a session made that could not be
// stored (the store was closed, or filled with `whenFull: 'reject'`) gets its teardown all the
// same, with reason `close` or `capacity`, and the promise rejects.
import type { Admission } from './admission.js'
import type { Entry } from './entry.js'
import type { StoreParts } from './parts.js'

/** What the creates need of their store. */
export interface CreatingHost<K, V> {
  /** Throws StoreClosedError once close() was called. */
  open(): void
  /** Whether close() was called. */
  closing(): boolean
  /** The live session under `key`, refreshed and counted as a hit, or undefined (nothing changes then). */
  hit(key: K): Entry<K, V> | undefined
  /** Counts a miss. */
  miss(): void
  /** The store's `settled(key)`. */
  settled(key: K): Promise<void>
  /** The store's `set(key, value)`. */
  set(key: K, value: V): void
}

export class Creating<K, V> {
  #byKey: Map<K, Promise<V>> | undefined

  constructor(
    readonly p: StoreParts<K, V>,
    readonly admission: Admission<K, V>,
    readonly host: CreatingHost<K, V>,
  ) {}

  /** Whether a create of `key` is in flight. */
  has(key: K): boolean {
    return this.#byKey !== undefined && this.#byKey.has(key)
  }

  /** getOrCreateAsync. */
  async getOrCreate(key: K, create: (key: K) => V | Promise<V>): Promise<V> {
    const { p, admission, host } = this
    for (;;) {
      host.open()
      const creating = this.#byKey?.get(key)
      if (creating !== undefined) return creating
      const found = host.hit(key)
      if (found !== undefined) return found.value
      if (!admission.reserved(key)) break
      await host.settled(key)
    }
    host.miss()
    const made = (async () => {
      p.ops.checked(() => admission.admit(key, p.clock.read()))
      const value = await create(key)
      while (admission.reserved(key) && !host.closing()) await host.settled(key)
      try {
        host.set(key, value)
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code
        if (code === 'ERR_STORE_CLOSED' || code === 'ERR_SESSION_LIMIT') {
          p.removal.unstored(key, value, code === 'ERR_STORE_CLOSED' ? 'close' : 'capacity')
        }
        throw error
      }
      return value
    })()
    const creating = (this.#byKey ??= new Map())
    creating.set(key, made)
    try {
      return await made
    } finally {
      if (creating.get(key) === made) creating.delete(key)
    }
  }
}
