// The ring storage of a history: parallel columns of one ring, and the protected set.
//
// Invariants, between any two public calls:
// - slot p = (head + i) mod capacity holds the message at logical index i (0 = oldest), for
//   i < len; its size, its tokens and (once a message carries a flag) its flags are in the same
//   slot of the other columns. capacity = buf.length, grown by doubling up to `max`.
// - bytes and tokens are the sums of the columns over the live slots.
// - prot holds the logical indexes, ascending, of the newest maxPinned pinned messages;
//   protBytes and protTokens are their sums.
// - seqs (once `sequenced`: from the first checkpoint() or stable window()) holds each message's
//   push position; pushed is the next one (positions do not count rolled-back pushes).
// - plain: the storage is fully grown and carries no flags and no positions, so the fast push
//   path may write it directly.
//
// The token column is 16-bit until a message counts more than 65,535 tokens.

/** Flag: pinned (by `pin` or pushPinned). */
export const PINNED = 1
/** Flag: starts a turn (by `startOn`). */
export const STARTS_TURN = 2
/** Flag: tied to the message before it by `group` (cannot start a window). */
export const TIED = 4
/** The largest token count the 16-bit column holds. */
export const NARROW_TOKENS = 0xffff
const FIRST_ALLOCATION = 8

// Shared by every history until its first push (write replaces them) and after clear(): an idle
// history allocates no storage of its own. Never written to: nothing is stored at capacity 0.
// Frozen: a write meant for a history's own storage throws instead of reaching every history.
const noMessages: never[] = Object.freeze([]) as never[]
const noSizes = new Uint32Array(0)
const noTokens = new Uint16Array(0)
const noIndexes: number[] = Object.freeze([]) as unknown as number[]

/** The storage of one history. Fields are read and written by the history's modules only. */
export class Ring<T> {
  buf: (T | undefined)[] = noMessages
  sizes: Uint32Array = noSizes
  counts: Uint16Array | Uint32Array = noTokens
  flags: Uint8Array | undefined
  seqs: Float64Array | undefined
  sequenced = false
  plain = false
  head = 0
  len = 0
  bytes = 0
  tokens = 0
  pushed = 0
  evicted = 0
  prot: number[] = noIndexes
  protBytes = 0
  protTokens = 0
  /** The sequence number of the first message of the last stable window (-1: none). */
  cutSeq = -1
  /** The push count when slice() last copied a wrapped ring (-1: never). */
  copiedAt = -1

  constructor(
    readonly max: number,
    /** How many pinned messages are protected at once (maxPinned). */
    readonly protLimit: number,
    /** Every message carries flags (pin or startOn is set). */
    readonly flagged: boolean,
  ) {}

  slot(index: number): number {
    const p = this.head + index
    const cap = this.buf.length
    return p >= cap ? p - cap : p
  }

  flagAt(index: number): number {
    return this.flags === undefined ? 0 : (this.flags[this.slot(index)] as number)
  }

  at(index: number): T {
    return this.buf[this.slot(index)] as T
  }

  #updatePlain(): void {
    this.plain = this.buf.length === this.max && this.flags === undefined && this.seqs === undefined
  }

  // Moves the messages to new columns of `cap` slots, the oldest in slot 0.
  #relayout(cap: number): void {
    const n = this.len
    const head = this.head
    const oldCap = this.buf.length
    // The live run as one or two runs of slots: [head, end1) then [0, end2).
    const end1 = Math.min(head + n, oldCap)
    const end2 = head + n - end1
    const oldBuf = this.buf
    const buf = new Array<T | undefined>(cap)
    let i = 0
    for (let p = head; p < end1; p++) buf[i++] = oldBuf[p]
    for (let p = 0; p < end2; p++) buf[i++] = oldBuf[p]
    for (; i < cap; i++) buf[i] = undefined
    this.buf = buf
    this.sizes = moved(this.sizes, new Uint32Array(cap), head, end1, end2)
    const wide = this.counts instanceof Uint32Array
    this.counts = moved(this.counts, wide ? new Uint32Array(cap) : new Uint16Array(cap), head, end1, end2)
    if (this.flags !== undefined || this.flagged) this.flags = moved(this.flags ?? new Uint8Array(0), new Uint8Array(cap), head, end1, end2)
    if (this.sequenced) this.seqs = moved(this.seqs ?? new Float64Array(0), new Float64Array(cap).fill(-1), head, end1, end2)
    this.head = 0
    this.#updatePlain()
  }

  /**
   * From now on every message carries its push position. Messages already here get numbers
   * below every later one (and below any checkpoint made from now on).
   */
  sequence(): void {
    if (this.sequenced) return
    this.sequenced = true
    this.plain = false
    if (this.buf.length === 0) return
    const seqs = new Float64Array(this.buf.length).fill(-1)
    for (let i = 0; i < this.len; i++) seqs[this.slot(i)] = this.pushed - this.len + i
    this.seqs = seqs
  }

  /** Removes every message and frees the storage (positions and counters stay). */
  empty(): void {
    this.buf = noMessages
    this.sizes = noSizes
    this.counts = noTokens
    this.flags = undefined
    this.seqs = undefined
    this.plain = false
    this.head = 0
    this.len = 0
    this.bytes = 0
    this.tokens = 0
    this.prot = noIndexes
    this.protBytes = 0
    this.protTokens = 0
    this.cutSeq = -1
  }

  /** Removes the newest `count` messages (fewer than the length) and finds the protected set again. */
  dropNewest(count: number): void {
    for (let r = 0; r < count; r++) {
      const p = this.slot(this.len - 1)
      this.bytes -= this.sizes[p] as number
      this.tokens -= this.counts[p] as number
      this.buf[p] = undefined
      this.len--
    }
    this.#reprotect()
  }

  /**
   * The history goes back to `position` (rollback, `length =`): the next push takes that
   * position again. A stable window's cut at or after it is forgotten (its number will be
   * given to another message).
   */
  rewind(position: number): void {
    this.pushed = position
    this.copiedAt = -1
    if (this.cutSeq >= position) this.cutSeq = -1
  }

  /** Protects the message about to be appended at the end (displacing the oldest protected one when full). */
  protectNext(size: number, tokens: number): void {
    if (this.prot.length === this.protLimit) this.#unprotectOldest()
    if (this.prot === noIndexes) this.prot = []
    this.prot.push(this.len)
    this.protBytes += size
    this.protTokens += tokens
  }

  #unprotectOldest(): void {
    const p = this.slot(this.prot.shift() as number)
    this.protBytes -= this.sizes[p] as number
    this.protTokens -= this.counts[p] as number
  }

  /**
   * The first unprotected index. Protected messages sit at the front once older ones are gone:
   * it is the length of the run 0, 1, 2, … at the start of the ascending protected list.
   */
  firstUnprotected(): number {
    const prot = this.prot
    let i = 0
    while (i < prot.length && prot[i] === i) i++
    return i
  }

  /**
   * Removes the unprotected message at `index` (the oldest one) and returns it. The protected
   * messages before it move up one slot, so the ring stays contiguous: O(maxPinned), whatever
   * the capacity.
   */
  removeAt(index: number): T {
    const p = this.slot(index)
    const message = this.buf[p] as T
    const flags = this.flags
    const seqs = this.seqs
    this.bytes -= this.sizes[p] as number
    this.tokens -= this.counts[p] as number
    for (let k = index - 1; k >= 0; k--) {
      const from = this.slot(k)
      const to = this.slot(k + 1)
      this.buf[to] = this.buf[from]
      this.sizes[to] = this.sizes[from] as number
      this.counts[to] = this.counts[from] as number
      if (flags !== undefined) flags[to] = flags[from] as number
      if (seqs !== undefined) seqs[to] = seqs[from] as number
    }
    this.buf[this.head] = undefined
    this.head = this.head + 1 === this.buf.length ? 0 : this.head + 1
    this.len--
    const prot = this.prot
    for (let k = index; k < prot.length; k++) prot[k] = (prot[k] as number) - 1
    this.evicted++
    return message
  }

  /** Writes a measured message at the end (room made, storage grown, protection set). */
  write(message: T, size: number, tokens: number, flags: number): void {
    // From the first flagged message on, every message has a flags slot.
    if (flags !== 0 && this.flags === undefined) {
      this.flags = new Uint8Array(this.buf.length)
      this.plain = false
    }
    // The token column becomes 32-bit for a message of more than 65,535 tokens.
    if (tokens > NARROW_TOKENS && this.counts instanceof Uint16Array) this.counts = new Uint32Array(this.counts)
    // Storage grows by doubling up to the capacity, so an idle history costs a few hundred bytes.
    if (this.len === this.buf.length) this.#relayout(Math.min(Math.max(this.buf.length * 2, FIRST_ALLOCATION), this.max))
    const p = this.slot(this.len)
    this.buf[p] = message
    this.sizes[p] = size
    this.counts[p] = tokens
    if (this.flags !== undefined) this.flags[p] = flags
    if (this.seqs !== undefined) this.seqs[p] = this.pushed
    this.pushed++
    this.len++
    this.bytes += size
    this.tokens += tokens
  }

  /** Finds the newest maxPinned pinned messages again, after messages left from the end. */
  #reprotect(): void {
    const prot: number[] = []
    let bytes = 0
    let tokens = 0
    for (let i = this.len - 1; i >= 0 && prot.length < this.protLimit; i--) {
      const p = this.slot(i)
      if ((this.flagAt(i) & PINNED) !== 0) {
        prot.push(i)
        bytes += this.sizes[p] as number
        tokens += this.counts[p] as number
      }
    }
    this.prot = prot.length === 0 ? noIndexes : prot.reverse()
    this.protBytes = bytes
    this.protTokens = tokens
  }

  /** Replaces the content with a copy of `source`'s (no positions, no cut). */
  copyFrom(source: Ring<T>): void {
    this.empty()
    this.sequenced = false
    this.evicted = source.evicted
    this.pushed = source.pushed
    if (source.len === 0) return
    this.buf = source.buf.slice()
    this.sizes = source.sizes.slice()
    this.counts = source.counts.slice()
    this.flags = source.flags?.slice()
    this.head = source.head
    this.len = source.len
    this.bytes = source.bytes
    this.tokens = source.tokens
    this.prot = source.prot.slice()
    this.protBytes = source.protBytes
    this.protTokens = source.protTokens
    this.#updatePlain()
  }

  /** Like `Array.prototype.slice`: a new array of the messages from `start` up to `end`. */
  slice(start?: number, end?: number): T[] {
    const n = this.len
    const from = relativeIndex(start, 0, n)
    const to = relativeIndex(end, n, n)
    const count = to - from
    if (count <= 0) return []
    const cap = this.buf.length
    let a = this.head + from
    if (a >= cap) a -= cap
    // A run of contiguous slots is one native copy.
    if (a + count <= cap) return this.buf.slice(a, a + count) as T[]
    // The run wraps. A second copy of the same wrapped ring, with no push in between, first lays
    // the ring out again from slot 0, so that it and the copies after it are native ones.
    if (this.copiedAt === this.pushed) {
      this.#relayout(cap)
      return this.buf.slice(from, to) as T[]
    }
    this.copiedAt = this.pushed
    const buf = this.buf
    const out = new Array<T>(count)
    let i = 0
    for (let p = a; p < cap; p++) out[i++] = buf[p] as T
    for (let p = 0; i < count; p++) out[i++] = buf[p] as T
    return out
  }
}

/** An array method's index argument, resolved against `length` (negative counts from the end). */
export function relativeIndex(value: number | undefined, fallback: number, length: number): number {
  if (value === undefined) return fallback
  const i = Math.trunc(value) || 0
  if (i < 0) return Math.max(length + i, 0)
  return Math.min(i, length)
}

// Copies the live slots [head, end1) and [0, end2) of `from` to the front of `to`.
function moved<A extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(from: A, to: A, head: number, end1: number, end2: number): A {
  if (end1 > head) to.set(from.subarray(head, end1))
  if (end2 > 0) to.set(from.subarray(0, end2), end1 - head)
  return to
}
