/**
 * Time as the session layer sees it: the current time and one-shot timers. The worker uses the
 * system clock; tests and the demo inject a `VirtualClock` and move it forward by hand, so hours
 * of traffic replay in milliseconds and nothing ever sleeps.
 */

/** An opaque handle returned by `Clock.setTimeout`. */
export type TimerHandle = { readonly id: number } | ReturnType<typeof setTimeout>

export interface Clock {
  now(): number
  setTimeout(callback: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

/** Wall-clock time with unref'd Node timers, so a pending timer never keeps the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms)
    timer.unref()
    return timer
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>)
  },
}

interface VirtualTimer {
  readonly id: number
  readonly at: number
  readonly seq: number
  callback: (() => void) | undefined
}

/** Lets pending promise callbacks run: one macrotask turn drains the microtask queue. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * A clock that only moves when told to. `advanceTo` fires the due timers in time order, and
 * lets promise callbacks run after each one, so async code reacts as it would in real time.
 */
export class VirtualClock implements Clock {
  #now: number
  #seq = 0
  // Kept sorted by (at, seq); cancelled timers are dropped when they come due.
  #timers: VirtualTimer[] = []

  constructor(start = 0) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: VirtualTimer = { id: ++this.#seq, at: this.#now + Math.max(0, ms), seq: this.#seq, callback }
    const timers = this.#timers
    let i = timers.length
    while (i > 0 && (timers[i - 1] as VirtualTimer).at > timer.at) i--
    timers.splice(i, 0, timer)
    return timer
  }

  clearTimeout(handle: TimerHandle): void {
    ;(handle as VirtualTimer).callback = undefined
  }

  /** Timers not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => t.callback !== undefined).length
  }

  /** Moves time forward by `ms`, firing due timers. */
  advance(ms: number): Promise<void> {
    return this.advanceTo(this.#now + ms)
  }

  /** Moves time forward to `time`, firing every timer due by then, oldest first. */
  async advanceTo(time: number): Promise<void> {
    for (;;) {
      const next = this.#timers[0]
      if (next === undefined || next.at > time) break
      this.#timers.shift()
      const callback = next.callback
      if (callback === undefined) continue
      // Let work already under way finish before the timer fires, as it would in real time.
      await settle()
      if (next.callback === undefined) continue
      next.callback = undefined
      if (next.at > this.#now) this.#now = next.at
      callback()
      await settle()
    }
    if (time > this.#now) this.#now = time
  }
}
