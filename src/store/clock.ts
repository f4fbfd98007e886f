// The store's clock. Invariant: the store's times are milliseconds since its first reading (the
// epoch), small integers V8 keeps unboxed (see Entry); `last` is the latest reading, what the
// operation that read it stands at. The default clock (`Date.now`) is read at most once per
// millisecond, as lru-cache does (`ttlResolution`): a reading is kept until a 1 ms unref'd timer
// clears it, and from stop() on (the store is closing) it is not kept at all. An injected clock
// that returns a non-finite number throws InvalidClockError. The teardowns are timed apart, by
// the monotonic clock (`monotonicNow`, else `performance.now()`), which never throws.
import { InvalidClockError } from '../errors.js'

export class StoreClock {
  #cached = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #epoch: number | undefined // the first reading: the store's times count from it
  #stopped = false
  /** The latest reading, in milliseconds since the epoch. */
  last = 0

  constructor(readonly now: (() => number) | undefined) {}

  /** The first reading (0 before any): a time of the store plus it is a time of the clock. */
  get epoch(): number {
    return this.#epoch ?? 0
  }

  /**
   * The time now, in milliseconds since the epoch. The default clock's reading is kept for a
   * millisecond, until stop() (then no timer is started).
   */
  read(): number {
    const clock = this.now
    let now: number
    if (clock !== undefined) {
      now = clock()
      if (typeof now !== 'number' || !Number.isFinite(now)) throw new InvalidClockError(now)
    } else if (this.#cached !== 0) {
      now = this.#cached
    } else {
      now = Date.now()
      if (!this.#stopped) {
        this.#cached = now
        this.#timer = setTimeout(() => {
          this.#cached = 0
          this.#timer = undefined
        }, 1)
        this.#timer.unref?.()
      }
    }
    this.#epoch ??= now
    this.last = now - this.#epoch
    return this.last
  }

  /** Stops the timer and forgets the kept reading; no reading is kept from now on. */
  stop(): void {
    this.#stopped = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#cached = 0
  }
}

/**
 * The monotonic time that teardowns are timed by. Never throws (a teardown must be tracked): a
 * `monotonicNow` that returns a non-finite number is reported, and `performance.now()` used.
 */
export function monotonic(clock: (() => number) | undefined, errors: { report(error: unknown, key: undefined): void }): number {
  if (clock === undefined) return performance.now()
  const now = clock()
  if (typeof now === 'number' && Number.isFinite(now)) return now
  errors.report(new InvalidClockError(now), undefined)
  return performance.now()
}
