import { OrphanResultError } from '../errors.js'
import type { GroupRule, MessageLinks } from '../message-format.js'
import { type Ring, TIED } from './ring.js'

// The `group` option: what ties messages together, so that trimming and window() keep or drop
// them as one. A message is TIED to the one before it when it cannot start a window: it follows a
// `withNext` message, or it lies between a tool call and a result of that call (the result
// included). Trimming goes on past tied messages, and a window never starts at one, so neither
// edge breaks a group (the newest group, still in flight, may be open at the end).
//
// Invariants: every call made by a held message has one record, in `#queue` from `#head` on in
// push order (ascending `at`), and, unless a later held call reused its id, in `#byId`. A record's
// `answeredAt` is the position of the first held message that answered it, or -1 while the call
// is in flight (open); `#openCount` counts the open records, and every record before `#openFrom`
// in the queue is answered or gone. A push costs one map write per call and one read per result;
// a trim, one map delete per call it takes (no map keyed by position).

/** A call made by a held message. */
interface CallRecord {
  readonly id: string
  /** The push position of the message that made it. */
  readonly at: number
  /** The position of the first message that answered it; -1 while it is open. */
  answeredAt: number
  /** False once its message left the history. */
  held: boolean
}

/** The group state of one history with a `group` rule. */
export class Groups<T> {
  readonly #byId = new Map<string, CallRecord>()
  #queue: CallRecord[] = []
  #head = 0
  #openFrom = 0
  #openCount = 0
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
    const results = l?.results
    if (results !== undefined) {
      for (let i = 0; i < results.length; i++) {
        const id = results[i] as string
        if (!this.#byId.has(id)) throw new OrphanResultError(id)
      }
    }
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
    const links = new Array<MessageLinks | undefined>(messages.length)
    let made: Set<string> | undefined
    let leading = cutStart
    for (let i = 0; i < messages.length; i++) {
      const l = this.rule(messages[i] as T)
      links[i] = l
      if (leading && !((l?.results?.length ?? 0) > 0 && (l?.calls?.length ?? 0) === 0)) leading = false
      if (l === undefined) continue
      for (const id of l.results ?? []) {
        if (leading) continue
        if (!(made?.has(id) ?? false) && (fromEmpty || !this.#byId.has(id))) throw new OrphanResultError(id)
      }
      for (const id of l.calls ?? []) (made ??= new Set()).add(id)
    }
    return links
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
    const results = l.results
    if (results !== undefined) {
      for (let r = 0; r < results.length; r++) {
        const record = this.#byId.get(results[r] as string)
        flags = TIED
        if (record !== undefined && record.answeredAt < 0) {
          record.answeredAt = position
          this.#openCount--
        }
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
    }
    const calls = l.calls
    if (calls !== undefined) {
      for (let c = 0; c < calls.length; c++) {
        const id = calls[c] as string
        const record: CallRecord = { id, at: position, answeredAt: -1, held: true }
        const earlier = this.#byId.get(id)
        // A reused id: the newer call is the one results answer from now on.
        if (earlier !== undefined && earlier.answeredAt < 0) {
          earlier.answeredAt = position
          this.#openCount--
        }
        this.#byId.set(id, record)
        this.#queue.push(record)
        this.#openCount++
      }
    }
    return flags
  }

  /**
   * The index of the oldest held message that makes a call in flight (no held message answers
   * it yet), or `ring.len` when there is none.
   */
  oldestOpen(): number {
    const ring = this.ring
    if (this.#openCount === 0) return ring.len
    const queue = this.#queue
    let k = Math.max(this.#openFrom, this.#head)
    while (k < queue.length && ((queue[k] as CallRecord).answeredAt >= 0 || !(queue[k] as CallRecord).held)) k++
    this.#openFrom = k
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
    for (let k = this.#head; k < queue.length; k++) {
      const record = queue[k] as CallRecord
      if (record.at > position) break
      if (record.at === position && record.held) this.#drop(record)
    }
    let head = this.#head
    while (head < queue.length && !(queue[head] as CallRecord).held) head++
    if (head === queue.length) {
      this.#queue = []
      this.#head = 0
      this.#openFrom = 0
    } else if (head > 1024 && head * 2 > queue.length) {
      // Compact now and then: the queue holds the calls of held messages, not of every push.
      this.#queue = queue.slice(head)
      this.#openFrom = Math.max(0, this.#openFrom - head)
      this.#head = 0
    } else this.#head = head
  }

  #drop(record: CallRecord): void {
    record.held = false
    if (record.answeredAt < 0) this.#openCount--
    if (this.#byId.get(record.id) === record) this.#byId.delete(record.id)
  }

  /** The history went back to `position` (rollback, `length =`): the messages from it on left. */
  forgetFrom(position: number): void {
    const queue = this.#queue
    while (queue.length > this.#head && (queue[queue.length - 1] as CallRecord).at >= position) {
      const record = queue.pop() as CallRecord
      if (record.held) this.#drop(record)
    }
    // The calls the messages taken back answered are in flight again, if they are still held.
    for (let k = this.#head; k < queue.length; k++) {
      const record = queue[k] as CallRecord
      if (record.held && record.answeredAt >= position) {
        record.answeredAt = -1
        this.#openCount++
      }
    }
    // A reused id whose newer call left: the older call is the one results answer again.
    for (let k = queue.length - 1; k >= this.#head; k--) {
      const record = queue[k] as CallRecord
      if (record.held && !this.#byId.has(record.id)) this.#byId.set(record.id, record)
    }
    this.#openFrom = this.#head
    this.#lastWithNext = false
  }

  /** The history was emptied. */
  forgetAll(): void {
    this.#byId.clear()
    this.#queue = []
    this.#head = 0
    this.#openFrom = 0
    this.#openCount = 0
    this.#lastWithNext = false
  }
}
