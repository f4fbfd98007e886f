import { OrphanResultError } from '../errors.js'
import type { GroupRule, MessageLinks } from '../message-format.js'
import { type Ring, TIED } from './ring.js'

// The `group` option: what ties messages together, so that trimming and window() keep or drop
// them as one. A message is TIED to the one before it when it cannot start a window: it follows a
// `withNext` message, or it lies between a tool call and a result of that call (the result
// included). Trimming goes on past tied messages, and a window never starts at one, so neither
// edge breaks a group (the newest group, still in flight, may be open at the end).
//
// Invariants: callAt maps the id of every call made by a held message to that message's push
// position; callsAt maps a position to the ids it made (to forget them when it leaves). open
// maps the id of every held call no held message answers yet to its position (the calls in
// flight: their group has begun but nothing ties it yet); resultsAt maps a position to the ids
// its message answered (to reopen them when a rollback takes it back).

/** The group state of one history with a `group` rule. */
export class Groups<T> {
  readonly #callAt = new Map<string, number>()
  readonly #callsAt = new Map<number, readonly string[]>()
  readonly #open = new Map<string, number>()
  readonly #resultsAt = new Map<number, readonly string[]>()
  #lastWithNext = false

  constructor(
    readonly rule: GroupRule<T>,
    readonly ring: Ring<T>,
  ) {}

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
        if (!(made?.has(id) ?? false) && (fromEmpty || !this.#callAt.has(id))) throw new OrphanResultError(id)
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
    for (const id of l.results ?? []) {
      const at = this.#callAt.get(id) as number
      flags = TIED
      // Every held message after the call is in the group.
      const seqs = ring.seqs as Float64Array
      for (let i = ring.len - 1; i >= 0; i--) {
        const p = ring.slot(i)
        if ((seqs[p] as number) <= at) break
        ;(ring.flags as Uint8Array)[p] = (ring.flags as Uint8Array)[p]! | TIED
      }
    }
    if (l.results !== undefined && l.results.length > 0) {
      for (const id of l.results) this.#open.delete(id)
      this.#resultsAt.set(ring.pushed, l.results)
    }
    if (l.calls !== undefined && l.calls.length > 0) {
      for (const id of l.calls) {
        this.#callAt.set(id, ring.pushed)
        this.#open.set(id, ring.pushed)
      }
      this.#callsAt.set(ring.pushed, l.calls)
    }
    return flags
  }

  /**
   * The index of the oldest held message that makes a call in flight (no held message answers
   * it yet), or `ring.len` when there is none.
   */
  oldestOpen(): number {
    const ring = this.ring
    if (this.#open.size === 0) return ring.len
    let at = Infinity
    for (const position of this.#open.values()) if (position < at) at = position
    const seqs = ring.seqs as Float64Array
    let i = ring.len - 1
    while (i > 0 && (seqs[ring.slot(i - 1)] as number) >= at) i--
    return i
  }

  /** The message at `position` left the history. */
  forget(position: number): void {
    this.#resultsAt.delete(position)
    const calls = this.#callsAt.get(position)
    if (calls === undefined) return
    this.#callsAt.delete(position)
    for (const id of calls) {
      if (this.#callAt.get(id) === position) this.#callAt.delete(id)
      if (this.#open.get(id) === position) this.#open.delete(id)
    }
  }

  /** The history went back to `position` (rollback, `length =`): the messages from it on left. */
  forgetFrom(position: number): void {
    for (const at of [...this.#callsAt.keys()]) if (at >= position) this.forget(at)
    for (const [at, ids] of [...this.#resultsAt]) {
      if (at < position) continue
      this.#resultsAt.delete(at)
      // The calls these answered are in flight again, if they are still held.
      for (const id of ids) {
        const call = this.#callAt.get(id)
        if (call !== undefined) this.#open.set(id, call)
      }
    }
    this.#lastWithNext = false
  }

  /** The history was emptied. */
  forgetAll(): void {
    this.#callAt.clear()
    this.#callsAt.clear()
    this.#open.clear()
    this.#resultsAt.clear()
    this.#lastWithNext = false
  }
}
