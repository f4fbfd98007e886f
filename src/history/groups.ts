import { OrphanResultError } from '../errors.js'
import type { GroupRule, MessageLinks } from '../message-format.js'
import { type Ring, TIED } from './ring.js'

// The `group` option: what ties messages together, so that trimming and window() keep or drop
// them as one. A message is TIED to the one before it when it cannot start a window: it follows a
// `withNext` message, or it lies between a tool call and a result of that call (the result
// included). Trimming goes on past tied messages, and a window never starts at one, so neither
// edge breaks a group (the newest group, still in flight, may be open at the end).
//
// Invariants: every call made by a held message has one record, in `#queue` in push order
// (ascending `at`), and, unless a later held call reused its id, in `#byId`. A record's
// `answered` is the position of the first held message that answered it, or -1 while the call
// is in flight (open); every record before `#openFrom` in the queue is answered. A push costs one map write per call and one read per result; a trim,
// one map delete per call it takes (no map keyed by position).

/** A call made by a held message. */
interface CallRecord {
  readonly id: string
  /** The push position of the message that made it. */
  readonly at: number
  /** The position of the first message that answered it; -1 while it is open. */
  answered: number
}

/** The group state of one history with a `group` rule. */
export class Groups<T> {
  readonly #byId = new Map<string, CallRecord>()
  #queue: CallRecord[] = []
  #openFrom = 0
  #lastWithNext = false

  constructor(
    readonly rule: GroupRule<T>,
    readonly ring: Ring<T>,
  ) {}

  /**
   * Reads the links of one message about to be pushed and checks that every result answers a
   * call the history holds. Changes nothing.
   *
   * @throws {@link OrphanResultError}
   */
  readOne(message: T): MessageLinks | undefined {
    const l = this.rule(message)
    for (const id of l?.results ?? []) if (!this.#byId.has(id)) throw new OrphanResultError(id)
    return l
  }

  /**
   * Reads the links of messages about to be appended, in order, and checks that every result
   * answers a call the history holds or that an earlier one of them makes. Changes nothing.
   *
   * @param fromEmpty - the messages replace the content (reset, restore)
   * @param cutStart - the messages are a snapshot of a history (restore, clone): the results it
   *   starts with may answer calls trimmed before it was taken (a group cut at its start), so they
   *   are taken as they were held, up to the first message that is not only results
   * @throws {@link OrphanResultError}
   */
  read(messages: readonly T[], fromEmpty: boolean, cutStart = false): (MessageLinks | undefined)[] {
    let made: Set<string> | undefined
    let leading = cutStart
    return messages.map((message) => {
      const l = this.rule(message)
      if (leading && !(l?.results?.length && !l.calls?.length)) leading = false
      if (!leading) for (const id of l?.results ?? []) if (!made?.has(id) && (fromEmpty || !this.#byId.has(id))) throw new OrphanResultError(id)
      for (const id of l?.calls ?? []) (made ??= new Set()).add(id)
      return l
    })
  }

  /**
   * The flags of the message about to be appended with these links, marking the messages it
   * ties together as it goes (before trimming makes room for it, so trimming sees the group).
   */
  tie(l: MessageLinks | undefined): number {
    let flags = this.#lastWithNext ? TIED : 0
    this.#lastWithNext = l?.withNext === true
    if (l === undefined) return flags
    const ring = this.ring
    const position = ring.pushed
    for (const id of l.results ?? []) {
      const record = this.#byId.get(id)
      flags = TIED
      if (record?.answered === -1) record.answered = position
      // Every held message after the call is in the group: all of them for a result of a
      // snapshot's first messages whose call was trimmed before (restore).
      const at = record === undefined ? -1 : record.at
      const seqs = ring.seqs as Float64Array
      const flagColumn = ring.flags as Uint8Array
      for (let i = ring.len - 1; i >= 0; i--) {
        const p = ring.slot(i)
        if ((seqs[p] as number) <= at) break
        flagColumn[p] = (flagColumn[p] as number) | TIED
      }
    }
    for (const id of l.calls ?? []) {
      // A reused id: the newer call is the one results answer from now on.
      const earlier = this.#byId.get(id)
      if (earlier?.answered === -1) earlier.answered = position
      const record: CallRecord = { id, at: position, answered: -1 }
      this.#byId.set(id, record)
      this.#queue.push(record)
    }
    return flags
  }

  /**
   * The index of the oldest held message that makes a call in flight (no held message answers
   * it yet), or `ring.len` when there is none.
   */
  oldestOpen(): number {
    const ring = this.ring
    const queue = this.#queue
    let k = this.#openFrom
    while (k < queue.length && (queue[k] as CallRecord).answered >= 0) k++
    this.#openFrom = k
    if (k === queue.length) return ring.len
    const at = (queue[k] as CallRecord).at
    const seqs = ring.seqs as Float64Array
    let i = ring.len - 1
    while (i > 0 && (seqs[ring.slot(i - 1)] as number) >= at) i--
    return i
  }

  /** The message at `position` left the history (trimmed: it is the oldest unprotected one). */
  forget(position: number): void {
    const queue = this.#queue
    // Calls of older messages still held (pinned ones) come first; the message's own follow.
    for (let k = 0; k < queue.length && (queue[k] as CallRecord).at <= position; k++) {
      if ((queue[k] as CallRecord).at !== position) continue
      this.#drop(queue[k] as CallRecord)
      // Shifting the front is O(1) in V8; a splice after pinned calls is the rare case.
      if (k === 0) queue.shift()
      else queue.splice(k, 1)
      if (k-- < this.#openFrom) this.#openFrom--
    }
  }

  #drop(record: CallRecord): void {
    if (this.#byId.get(record.id) === record) this.#byId.delete(record.id)
  }

  /** The history went back to `position` (rollback, `length =`): the messages from it on left. */
  forgetFrom(position: number): void {
    const queue = this.#queue
    while (queue.length > 0 && (queue[queue.length - 1] as CallRecord).at >= position) this.#drop(queue.pop() as CallRecord)
    for (let k = queue.length - 1; k >= 0; k--) {
      const record = queue[k] as CallRecord
      // The calls the messages taken back answered are in flight again; a reused id whose
      // newer call left is the older call's again.
      if (record.answered >= position) record.answered = -1
      if (!this.#byId.has(record.id)) this.#byId.set(record.id, record)
    }
    this.#openFrom = 0
    this.#lastWithNext = false
  }

  /** The history was emptied. */
  forgetAll(): void {
    this.#byId.clear()
    this.#queue = []
    this.#openFrom = 0
    this.#lastWithNext = false
  }
}
