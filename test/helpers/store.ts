// The store that most store tests start from: an injected clock, no sweep timer, and a dispose
// that logs each departure as [key, reason]. Options given here override these.
import { BoundedSessionStore, type BoundedSessionStoreOptions, type RemovalReason, RingBufferHistory } from '../../src/index.js'

export function setupStore<V>(options: BoundedSessionStoreOptions<string, V> = {}) {
  const clock = { t: 0 }
  const disposed: Array<[string, RemovalReason]> = []
  const store = new BoundedSessionStore<string, V>({
    now: () => clock.t,
    sweepIntervalMs: 0,
    dispose: (_value, key, reason) => {
      disposed.push([key, reason])
    },
    ...options,
  })
  return { store, clock, disposed }
}

/** A session like the worker's: an id, a busy flag (its `generatorPromise !== null`), a history. */
export interface TestSession {
  id: string
  busy: boolean
  history: RingBufferHistory<string>
}

export const session = (id: string, busy = false): TestSession => ({ id, busy, history: new RingBufferHistory<string>() })
