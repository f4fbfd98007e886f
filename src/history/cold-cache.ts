import { InvalidClockError } from '../errors.js'

// The clock rule of the history option `cacheTtlMs`: a provider's prompt cache lives `cacheTtlMs`
// after the request that last used it, and the history sees a request as the push before it. So
// when the previous push is more than `cacheTtlMs` old, the cache has gone cold: the next request
// pays the full write whatever it sends, and a trim made then is free. Invariant: `#lastPushAt`
// only moves forward, so a clock that steps back never makes a warm cache look cold.

/**
 * Tells, at each push, whether the prompt cache has gone cold since the previous push.
 * `read()` checks the clock and changes nothing; `commit()` records a push that took effect, so a
 * push that throws leaves the clock rule as it was.
 */
export class CacheClock {
  #lastPushAt = -Infinity
  #seen = false
  /** Set by the history for a push in progress that found the cache cold, until its first message is in. */
  coldPush = false

  /**
   * @param ttlMs - how long the cache lives after a request, in ms (a positive finite number)
   * @param now - the clock, in ms
   */
  constructor(
    readonly ttlMs: number,
    readonly now: () => number,
  ) {}

  /**
   * The clock's reading for a push.
   *
   * @throws {@link InvalidClockError} when `now()` returns something other than a finite number
   */
  read(): number {
    const at = this.now()
    if (typeof at !== 'number' || !Number.isFinite(at)) throw new InvalidClockError(at)
    return at
  }

  /** Whether a push at `at` finds the cache cold: there was a previous push, more than `ttlMs` before. */
  isCold(at: number): boolean {
    return this.#seen && at - this.#lastPushAt > this.ttlMs
  }

  /** Records a push made at `at`. */
  commit(at: number): void {
    this.#seen = true
    if (at > this.#lastPushAt) this.#lastPushAt = at
  }

  /** Forgets the previous push: the next one is not cold (a new history, a restore). */
  forget(): void {
    this.#seen = false
    this.#lastPushAt = -Infinity
  }
}
