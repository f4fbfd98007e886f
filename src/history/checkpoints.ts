import type { HistoryCheckpoint } from './types.js'

// Which checkpoints of one history are still valid.
//
// The rule (RedisHistory follows the same one): a checkpoint stays valid until the history goes
// back to a point before it (a rollback to an older checkpoint, or `length =` removing a message
// that was already there), or until clear(), reset() or restore(); a rollback to it, or to a
// later checkpoint, keeps it valid. Positions do not count rolled-back pushes, so a checkpoint
// made after a rollback has the position rolled back to.
//
// Every time the history goes back starts a new line. A checkpoint stays valid across it only if
// it lies at or before the point gone back to (-1 for clear and reset: none does). Lines are
// linked forward, so a history holds only its current line, and old ones live as long as
// checkpoints refer to them.

interface Line {
  next: Line | undefined
  wentBackTo: number
}

// The checkpoints handed out, with their history's checkpoints and line. A copy of a checkpoint
// object is not in here, so it is refused whatever its `position` says.
const issued = new WeakMap<object, { owner: Checkpoints; line: Line }>()

/** The checkpoints of one history. Made on its first checkpoint(). */
export class Checkpoints {
  #line: Line = { next: undefined, wentBackTo: Infinity }

  /** A new checkpoint at `position`. */
  issue(position: number): HistoryCheckpoint {
    const checkpoint = Object.freeze({ position })
    issued.set(checkpoint, { owner: this, line: this.#line })
    return checkpoint as unknown as HistoryCheckpoint
  }

  /** Whether `checkpoint` is one of these and still valid. */
  isValid(checkpoint: unknown): checkpoint is HistoryCheckpoint {
    const record = typeof checkpoint === 'object' && checkpoint !== null ? issued.get(checkpoint) : undefined
    if (record === undefined || record.owner !== this) return false
    const position = (checkpoint as HistoryCheckpoint).position
    for (let l: Line | undefined = record.line; l !== this.#line; l = l.next) {
      if (l === undefined || position > l.wentBackTo) return false
    }
    return true
  }

  /** The history went back to `position` (-1: withdraw every checkpoint). */
  wentBackTo(position: number): void {
    const current = this.#line
    current.wentBackTo = position
    current.next = this.#line = { next: undefined, wentBackTo: Infinity }
  }
}
