// Teardowns and reservations: the dispose promises still running, by key. Invariant: a key is
// reserved (nothing new may be stored under it) exactly while a teardown of a session removed
// under it runs and its deadline (`disposeTimeoutMs` after its latest dispose started) has not
// passed; past the deadline the store stops waiting, reports a DisposeTimeoutError once, and the
// key is free. One timer serves every teardown, set for the earliest deadline; it is unref'd, but
// for while the host awaits close(): then it is what the host waits for.
import { DisposeTimeoutError } from '../errors.js'

// A running teardown under one key: the dispose promises not yet settled.
interface Teardown {
  running: number
  deadline: number
  done: Promise<void>
  finish: () => void
}

/** What the teardowns need of their store. */
export interface TeardownHost<K> {
  /** How long a teardown is waited for, in milliseconds. */
  readonly timeoutMs: number
  /** The monotonic time teardowns are timed by. */
  now(): number
  /** Reports an error (delivered when the store's operation ends). */
  report(error: unknown, key: K | undefined): void
  /** Delivers what was reported, when no operation of the store runs. */
  deliver(): void
}

export class Teardowns<K> {
  readonly #byKey = new Map<K, Teardown>()
  #running = 0 // dispose promises still running, timed-out ones excluded
  #timer: ReturnType<typeof setTimeout> | undefined
  #closing = false

  constructor(readonly host: TeardownHost<K>) {}

  /** Dispose promises still running (timed-out ones excluded). */
  get running(): number {
    return this.#running
  }

  /** Keys with a teardown running. */
  get size(): number {
    return this.#byKey.size
  }

  /** Holds `key` reserved until `result` settles or times out. */
  track(key: K, result: PromiseLike<void>): void {
    const now = this.host.now()
    let teardown = this.#byKey.get(key)
    if (teardown !== undefined && teardown.deadline <= now) {
      this.#giveUp(key, teardown)
      teardown = undefined
    }
    if (teardown === undefined) {
      let finish!: () => void
      const done = new Promise<void>((resolve) => {
        finish = resolve
      })
      teardown = { running: 0, deadline: 0, done, finish }
      this.#byKey.set(key, teardown)
    }
    const t = teardown
    t.running++
    this.#running++
    t.deadline = now + this.host.timeoutMs
    this.#schedule(this.host.timeoutMs)
    const settle = (): void => {
      if (this.#byKey.get(key) !== t) return
      this.#running--
      if (--t.running > 0) return
      this.#byKey.delete(key)
      t.finish()
      if (this.#byKey.size === 0 && this.#timer !== undefined) {
        clearTimeout(this.#timer)
        this.#timer = undefined
      }
    }
    Promise.resolve(result).then(settle, (error: unknown) => {
      settle()
      this.host.report(error, key)
      this.host.deliver()
    })
  }

  /**
   * Whether a teardown holds `key`. One past its deadline no longer does (the timer may not have
   * run yet): it is given up here, and reported.
   */
  holds(key: K): boolean {
    const t = this.#byKey.get(key)
    if (t === undefined) return false
    if (t.deadline > this.host.now()) return true
    this.#giveUp(key, t)
    return false
  }

  /** Resolves once no teardown holds `key`. */
  async settled(key: K): Promise<void> {
    for (let t = this.#byKey.get(key); t !== undefined; t = this.#byKey.get(key)) await t.done
  }

  /** Resolves once no teardown runs, those that start meanwhile included. */
  async allSettled(): Promise<void> {
    while (this.#byKey.size > 0) await Promise.all([...this.#byKey.values()].map((t) => t.done))
  }

  /** The host now waits for the teardowns (close()): their timeout keeps the process alive. */
  closing(): void {
    this.#closing = true
    this.#timer?.ref?.()
  }

  /** Stops the timer (every teardown has settled or timed out). */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule(delay: number): void {
    if (this.#timer !== undefined) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#timeOut()
    }, delay)
    if (!this.#closing) this.#timer.unref?.()
  }

  #timeOut(): void {
    const now = this.host.now()
    let next = Infinity
    for (const [key, t] of this.#byKey) {
      if (t.deadline > now) next = Math.min(next, t.deadline - now)
      else this.#giveUp(key, t)
    }
    if (next !== Infinity) this.#schedule(Math.max(1, next))
    this.host.deliver()
  }

  // Stops waiting for a teardown past its deadline, and says so.
  #giveUp(key: K, t: Teardown): void {
    this.#byKey.delete(key)
    this.#running -= t.running
    t.finish()
    this.host.report(new DisposeTimeoutError(key, this.host.timeoutMs), key)
  }
}
