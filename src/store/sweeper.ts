// The sweep: what runs every `sweepIntervalMs`, and on `sweep()`. Invariant: a sweep is one
// operation that removes every expired session, then evicts idle sessions over `maxSessions` or
// `maxBytes` (busy ones may have become idle), then applies `heapHighWaterBytes`; what its
// removals' disposes remove when they run is not counted as its doing. The timer is unref'd and
// holds the sweeper weakly, so a store dropped without close() can still be collected; close()
// stops it. A timer's sweep never throws: what goes wrong is reported as an `error` event.
import type { StoreParts } from './parts.js'

// A module function, not a method: a closure made in the sweeper would hold it.
function startSweeps(sweeper: WeakRef<Sweeper<unknown, unknown>>, interval: number): ReturnType<typeof setInterval> {
  const timer = setInterval(() => {
    const self = sweeper.deref()
    if (self === undefined) clearInterval(timer)
    else self.sweep(false)
  }, interval)
  timer.unref?.()
  return timer
}

export class Sweeper<K, V> {
  #timer: ReturnType<typeof setInterval> | undefined

  /** Starts the timer, with an `interval` above 0 (in milliseconds). */
  constructor(
    readonly p: StoreParts<K, V>,
    interval: number,
  ) {
    if (interval > 0) this.#timer = startSweeps(new WeakRef(this as Sweeper<unknown, unknown>), interval)
  }

  /** Stops the timer. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Sweeps once, and says how many sessions it removed. `surface`: errors are thrown, not reported. */
  sweep(surface: boolean): number {
    const { o, clock, ops, time, evict } = this.p
    const before = this.p.removal.taken
    let now: number
    try {
      now = clock.read()
    } catch (error) {
      if (surface) throw error
      ops.begin()
      ops.report(error, undefined)
      ops.end(false)
      return 0
    }
    let removed = 0
    ops.begin()
    evict.allBusy = false
    try {
      time.findExpired(now, true)
      evict.enforce(undefined, now)
      const heap = o.heapHighWater === Infinity ? 0 : process.memoryUsage().heapUsed
      if (heap > o.heapHighWater) {
        // The heap is not measured again meanwhile: every picked session goes.
        for (const entry of evict.pickIdle(undefined, heap - o.heapHighWater, true, -1, now)) {
          this.p.removal.take(entry, time.timeUp(entry, now) ?? 'pressure')
        }
      }
      // What the disposes remove when they run is not the sweep's doing.
      removed = this.p.removal.taken - before
    } finally {
      ops.end(surface)
    }
    return removed
  }
}
