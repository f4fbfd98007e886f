// Task delivery: what the operation queue runs, one task at a time, once an operation of the
// store is complete: a removed session's `dispose` (a promise it returns is tracked as its
// teardown) and the events. Invariant: every error reaches the host through one channel: the
// `error` event when someone listens, else one `process.emitWarning` per store (later ones are
// only counted, in `errors`); an event nobody listens to is not queued (`hears`), so a store
// nobody listens to pays nothing for its events.
import type { EventEmitter } from 'eventemitter3'
import type { OperationQueue, Task } from './operation-queue.js'
import type { ResolvedOptions } from './options.js'
import type { Teardowns } from './teardowns.js'
import type { RemovalReason, SessionStoreEvents } from './types.js'

const WARNING_CODE = 'BOUNDED_SESSION_STORE_ERROR'

function isThenable(value: unknown): value is PromiseLike<void> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<void>).then === 'function'
}

export class Delivery<K, V> {
  /** Errors delivered, to the `error` event or the warning. */
  errors = 0
  #warned = false

  constructor(
    readonly events: EventEmitter<SessionStoreEvents<K, V, string>>,
    readonly dispose: ResolvedOptions<K, V>['dispose'],
    readonly teardowns: Teardowns<K>,
    readonly ops: OperationQueue<K, V>,
  ) {}

  /** Runs one task (throws what a listener threw). */
  run(task: Task<K, V>): void {
    const events = this.events
    switch (task[0]) {
      case 'create':
        events.emit('create', task[1], task[2])
        return
      case 'remove': {
        const { key, value } = task[1]
        const dispose = this.dispose
        if (dispose !== undefined) {
          let result: unknown
          let thenable = false
          try {
            result = dispose(value, key, task[2])
            // A `then` getter may throw too: that is the dispose's error, not the operation's.
            thenable = isThenable(result)
          } catch (error) {
            this.ops.report(error, key)
          }
          if (thenable) this.teardowns.track(key, result as PromiseLike<void>)
        }
        if (this.hears('remove')) events.emit('remove', key, value, task[2] as RemovalReason)
        return
      }
      case 'stranded':
        events.emit('stranded', task[1].key, task[1].value, task[2])
        return
      case 'overflow':
        events.emit('overflow', task[1])
        return
      case 'error':
        this.errors++
        if (events.listenerCount('error') > 0) events.emit('error', task[1], task[2])
        else this.warn(task[1])
    }
  }

  /** Tells of an error no listener hears: one warning per store (later ones are only counted). */
  warn(error: unknown): void {
    if (this.#warned) return
    this.#warned = true
    const shown = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    process.emitWarning?.(`A BoundedSessionStore error had no 'error' listener (later ones are counted in stats().errors): ${shown}`, {
      type: 'BoundedSessionStoreWarning',
      code: WARNING_CODE,
    })
  }

  /**
   * Whether anyone listens to `event`: events nobody listens to are not queued. A listener added
   * while an operation runs hears from the next one.
   */
  hears(event: keyof SessionStoreEvents<K, V>): boolean {
    // eventemitter3 counts its listeners in `_eventsCount`: none at all is the common case, and
    // reading it is much cheaper than a listenerCount() lookup by name.
    if ((this.events as unknown as { _eventsCount?: number })._eventsCount === 0) return false
    return this.events.listenerCount(event) > 0
  }
}
