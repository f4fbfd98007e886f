// The operation queue: what an operation of the store reports (a teardown to start, an event to
// emit, an error) waits here until the outermost operation ends, then runs in the order queued.
// Invariant: a task runs only once the store's state is complete (no operation under way), so no
// loop of the store ever meets a callback that changed the store under it (lru-cache's
// disposeAfter discipline); a task queued while the queue runs (a dispose or a listener calling
// back into the store) runs in the same loop, after the ones before it; a task that throws never
// keeps the others from running.
import type { Entry } from './entry.js'
import type { OverflowInfo } from './types.js'

/** What an operation leaves to run once it is complete. */
export type Task<K, V> =
  | ['create', K, V]
  | ['remove', Entry<K, V>, string]
  | ['stranded', Entry<K, V>, number]
  | ['overflow', OverflowInfo]
  | ['error', unknown, K | undefined]

export class OperationQueue<K, V> {
  #tasks: Task<K, V>[] = []
  #next = 0 // the next task to run
  #depth = 0 // operations under way (an operation may run inside another)

  /**
   * @param run - runs one task (throws what a listener threw)
   * @param warn - tells of an error no caller can be given (a listener of `error` threw)
   * @param settledState - called when the outermost operation ends, before its tasks run
   */
  constructor(
    readonly run: (task: Task<K, V>) => void,
    readonly warn: (error: unknown) => void,
    readonly settledState: () => void,
  ) {}

  /** Whether no operation is under way and no task is running: what is reported may run now. */
  get idle(): boolean {
    return this.#depth === 0 && this.#next === 0
  }

  /** Starts an operation. */
  begin(): void {
    this.#depth++
  }

  /**
   * Ends an operation: at the outermost level, runs the queued tasks. `surface`: an error a
   * listener throws is thrown to the caller (else it is reported as an `error` event).
   */
  end(surface: boolean): void {
    if (--this.#depth !== 0) return
    this.settledState()
    if (this.#tasks.length > this.#next && this.#next === 0) this.#flush(surface)
  }

  /** Runs `fn` as an operation of its own, so that what it reports is delivered before it returns. */
  checked<T>(fn: () => T): T {
    this.begin()
    try {
      return fn()
    } finally {
      this.end(true)
    }
  }

  push(task: Task<K, V>): void {
    this.#tasks.push(task)
  }

  /** Queues an error, for the `error` event (or the warning, with no listener). */
  report(error: unknown, key: K | undefined): void {
    this.#tasks.push(['error', error, key])
  }

  /** Runs what was reported outside any operation (a timer, a settling promise), if nothing runs now. */
  deliver(): void {
    if (this.idle) this.#flush(false)
  }

  /** Whether the removal of a session under `key` is queued and not yet run. */
  removing(key: K): boolean {
    for (let i = this.#next; i < this.#tasks.length; i++) {
      const task = this.#tasks[i] as Task<K, V>
      if (task[0] === 'remove' && Object.is(task[1].key, key)) return true
    }
    return false
  }

  // Runs the queue in order. Tasks queued by dispose and listeners that call back into the store
  // run in the same loop, after the ones already queued.
  #flush(surface: boolean): void {
    let failure: { error: unknown; inErrorListener: boolean } | undefined
    const tasks = this.#tasks
    try {
      while (this.#next < tasks.length) {
        const task = tasks[this.#next++] as Task<K, V>
        try {
          this.run(task)
        } catch (error) {
          failure ??= { error, inErrorListener: task[0] === 'error' }
        }
      }
    } finally {
      this.#tasks = []
      this.#next = 0
    }
    if (failure === undefined) return
    if (surface) throw failure.error
    // No caller to give it to (a history's push, a timer, a settling promise).
    if (failure.inErrorListener) this.warn(failure.error)
    else {
      this.report(failure.error, undefined)
      this.#flush(false)
    }
  }
}
