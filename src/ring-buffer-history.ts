import {
  InvalidCheckpointError,
  InvalidMeasurementError,
  InvalidOptionsError,
  MessageTooLargeError,
} from './errors.js'
import { type HistoryWatcher, watchKey } from './history-watch.js'
import { checkOptions, type FieldCheck, isFunction, isNonNegativeInteger, isPositiveInteger } from './validate.js'

/** Why a message was trimmed: the budget that was exceeded. */
export type TrimReason = 'count' | 'bytes' | 'tokens'

/**
 * A budget for {@link RingBufferHistory.window}. A field left out is not limited.
 */
export interface HistoryBudget {
  /** At most this many messages. */
  maxMessages?: number | undefined
  /** At most this many bytes, as the history's `sizeOf` counts them. */
  maxBytes?: number | undefined
  /** At most this many tokens, as the history's `countTokens` counts them. */
  maxTokens?: number | undefined
}

/**
 * An opaque mark made by {@link RingBufferHistory.checkpoint}, to give to
 * {@link RingBufferHistory.rollback}.
 */
export interface HistoryCheckpoint {
  /** How many messages the history had been given when the checkpoint was made. */
  readonly position: number
  /** Only {@link RingBufferHistory.checkpoint} makes checkpoints. */
  readonly [checkpointBrand]: true
}

declare const checkpointBrand: unique symbol

/**
 * Options of {@link RingBufferHistory}. Every field is optional.
 *
 * @typeParam T - the message type
 */
export interface RingBufferHistoryOptions<T> {
  /**
   * The most messages the history holds (its capacity). A positive integer. Storage grows on
   * demand up to it, so a large capacity costs nothing until it is used.
   *
   * @defaultValue 50
   */
  maxMessages?: number | undefined
  /**
   * The most bytes the history holds, as `sizeOf` counts them, pinned messages included.
   * A positive integer.
   *
   * @defaultValue no byte budget
   */
  maxBytes?: number | undefined
  /**
   * The most tokens the history holds, as `countTokens` counts them, pinned messages included.
   * A positive integer.
   *
   * @defaultValue no token budget
   */
  maxTokens?: number | undefined
  /**
   * The size of one message in bytes: a finite number from 0 to 2^32 - 1, rounded up. Called
   * once per message, when it is pushed.
   *
   * @defaultValue {@link defaultSizeOf}
   */
  sizeOf?: ((message: T) => number) | undefined
  /**
   * The tokens of one message: a finite number from 0 to 2^32 - 1, rounded up. Called once per
   * message, when it is pushed.
   *
   * @defaultValue {@link defaultCountTokens}: characters / 4, rounded up
   */
  countTokens?: ((message: T) => number) | undefined
  /**
   * Marks messages to keep, such as the prompt that carries the agent's instructions. Of the
   * messages it marks, the newest `maxPinned` are never trimmed; older ones are trimmed like any
   * other. Called once per message, when it is pushed.
   *
   * @defaultValue nothing is pinned
   */
  pin?: ((message: T) => boolean) | undefined
  /**
   * How many pinned messages are protected from trimming at once: a non-negative integer smaller
   * than `maxMessages`.
   *
   * @defaultValue 1 (0 when `maxMessages` is 1)
   */
  maxPinned?: number | undefined
  /**
   * Marks the messages a turn starts with, such as `m => m.role === 'user'`. After a push trims,
   * it goes on trimming until the oldest unpinned message left starts a turn (or is the newest
   * message), so a reply or a tool result is never left without what came before it. Called
   * once per message, when it is pushed.
   *
   * @defaultValue trimming does not look at turns
   */
  startOn?: ((message: T) => boolean) | undefined
  /**
   * Told of every trim, after the history is consistent again: the trimmed messages, oldest
   * first, and the budget that made room for them. One call per appended message and reason
   * (a push of several messages may make several calls). Costs nothing when not given. If it throws,
   * the push has still taken effect, and the error is thrown from `push` after every call.
   *
   * @defaultValue none
   */
  onTrim?: ((trimmed: T[], reason: TrimReason) => void) | undefined
}

const STRING_HEADER_BYTES = 16
const MESSAGE_OBJECT_BYTES = 64
const MAX_MEASURE = 0xffff_ffff
const PINNED = 1
const STARTS_TURN = 2
const FIRST_ALLOCATION = 8
const NARROW_TOKENS = 0xffff

// Shared by every history until its first push (#grow replaces them) and after clear(): an idle
// history allocates no storage of its own. Never written to: nothing is stored at capacity 0.
// Frozen: a write meant for a history's own storage throws instead of reaching every history.
const noMessages: never[] = Object.freeze([]) as never[]
const noSizes = new Uint32Array(0)
const noTokens = new Uint16Array(0)
const noIndexes: number[] = Object.freeze([]) as unknown as number[]

function textOf(message: unknown): string | undefined {
  // Objects first: the usual message is `{ role, content }`.
  if (typeof message === 'object' && message !== null) {
    const content = (message as { content?: unknown }).content
    return typeof content === 'string' ? content : undefined
  }
  return typeof message === 'string' ? message : undefined
}

/**
 * The default `sizeOf`: an estimate of the heap bytes a message holds, cheap enough to run on
 * every push (it reads one string length and never serialises).
 *
 * - a string: 16 bytes of header plus 2 bytes per UTF-16 code unit;
 * - an object with a string `content` (`{ role, content }`): 64 bytes for the object plus the
 *   same count for `content`;
 * - anything else: 64 bytes.
 *
 * V8 keeps Latin-1 text at 1 byte per character and other text at 2, so for ASCII content this
 * counts up to twice the string's real size, and never less: a byte budget built on it is a
 * safe upper bound. Strings shared between messages (role names) are not counted. For other
 * shapes (content blocks, tool calls), pass your own `sizeOf`.
 *
 * @example
 * ```ts
 * defaultSizeOf({ role: 'user', content: 'hello' }) // 64 + 16 + 10 = 90
 * ```
 */
export function defaultSizeOf(message: unknown): number {
  const text = textOf(message)
  return text === undefined ? MESSAGE_OBJECT_BYTES : textBytes(message, text)
}

function textBytes(message: unknown, text: string): number {
  const stringBytes = STRING_HEADER_BYTES + 2 * text.length
  return message === text ? stringBytes : MESSAGE_OBJECT_BYTES + stringBytes
}

/**
 * The default `countTokens`: the usual estimate of one token per 4 characters, rounded up, of a
 * string message or of the string `content` of an object message; 0 for anything else.
 *
 * @example
 * ```ts
 * defaultCountTokens({ role: 'user', content: 'hello' }) // 2
 * ```
 */
export function defaultCountTokens(message: unknown): number {
  const text = textOf(message)
  return text === undefined ? 0 : Math.ceil(text.length / 4)
}

const positiveInteger: FieldCheck = [isPositiveInteger, 'a positive integer']
const callback: FieldCheck = [isFunction, 'a function']
const optionChecks: Record<keyof RingBufferHistoryOptions<unknown>, FieldCheck> = {
  maxMessages: positiveInteger,
  maxBytes: positiveInteger,
  maxTokens: positiveInteger,
  sizeOf: callback,
  countTokens: callback,
  pin: callback,
  maxPinned: [isNonNegativeInteger, 'a non-negative integer'],
  startOn: callback,
  onTrim: callback,
}

const checkpointOwner = Symbol('checkpointOwner')
const checkpointLine = Symbol('checkpointLine')

// Every rollback starts a new line of history. A checkpoint stays valid across a rollback only
// if it lies at or before the point rolled back to; lines are linked forward, so the history
// holds only its current line and old ones live as long as checkpoints refer to them.
interface Line {
  next: Line | undefined
  rolledBackTo: number
}

interface CheckpointRecord {
  readonly position: number
  readonly [checkpointOwner]: unknown
  readonly [checkpointLine]: Line
}

interface TrimGroup<T> {
  reason: TrimReason
  messages: T[]
}

// The options, resolved. One object per history made with options; histories made without
// share one, so their instances hold only their state.
interface Config<T> {
  readonly max: number
  readonly maxBytes: number
  readonly maxTokens: number
  readonly maxPinned: number
  readonly sizeOf: (message: T) => number
  readonly countTokens: (message: T) => number
  readonly pin: ((message: T) => boolean) | undefined
  readonly startOn: ((message: T) => boolean) | undefined
  readonly onTrim: ((trimmed: T[], reason: TrimReason) => void) | undefined
  // Both measures are the defaults: they cannot return an invalid number.
  readonly defaultMeasures: boolean
  // plain, with the default measures: push can take the shortest path.
  readonly fast: boolean
  // pin or startOn is set: messages carry flags.
  readonly flagged: boolean
  // No pin, startOn or onTrim: nothing is ever protected, and trimming is dropping the oldest.
  readonly plain: boolean
}

let defaultConfig: Config<unknown> | undefined

function configOf<T>(options: RingBufferHistoryOptions<T> | undefined): Config<T> {
  const o = checkOptions(options, optionChecks)
  const max = o.maxMessages ?? 50
  const maxPinned = o.maxPinned ?? Math.min(1, max - 1)
  if (maxPinned >= max) {
    throw new InvalidOptionsError('maxPinned', maxPinned, `a non-negative integer smaller than \`maxMessages\` (${max})`)
  }
  const sizeOf = (o.sizeOf as ((message: T) => number) | undefined) ?? defaultSizeOf
  const countTokens = (o.countTokens as ((message: T) => number) | undefined) ?? defaultCountTokens
  const pin = o.pin as ((message: T) => boolean) | undefined
  const startOn = o.startOn as ((message: T) => boolean) | undefined
  const onTrim = o.onTrim as ((trimmed: T[], reason: TrimReason) => void) | undefined
  return {
    max,
    maxBytes: o.maxBytes ?? Infinity,
    maxTokens: o.maxTokens ?? Infinity,
    maxPinned,
    sizeOf,
    countTokens,
    pin,
    startOn,
    onTrim,
    defaultMeasures: sizeOf === defaultSizeOf && countTokens === defaultCountTokens,
    flagged: pin !== undefined || startOn !== undefined,
    plain: pin === undefined && startOn === undefined && onTrim === undefined,
    fast: pin === undefined && startOn === undefined && onTrim === undefined && sizeOf === defaultSizeOf && countTokens === defaultCountTokens,
  }
}

function measure<T>(fn: (message: T) => number, message: T, name: 'sizeOf' | 'countTokens'): number {
  const value = fn(message)
  // `!(x >= 0)` also catches NaN; a non-number fails the typeof test first.
  if (typeof value !== 'number' || !(value >= 0) || value > MAX_MEASURE) {
    throw new InvalidMeasurementError(name, value)
  }
  return Math.ceil(value)
}

function budgetField(budget: HistoryBudget, field: keyof HistoryBudget): number {
  const value = budget[field]
  if (value === undefined) return Infinity
  if (!isPositiveInteger(value)) throw new InvalidOptionsError(field, value, 'a positive integer')
  return value
}

/**
 * A conversation history with a fixed budget: a ring buffer that drops its oldest messages as
 * new ones arrive, so it can be appended to forever in constant memory. It replaces the plain
 * array that an agent appends every prompt and reply to, and reads like one.
 *
 * - `push` is O(1) whatever the capacity, and allocates nothing once the buffer is full.
 * - Bounded by message count, and optionally by bytes and tokens.
 * - The newest `maxPinned` messages marked by `pin` (the agent's instructions) are never trimmed.
 * - With `startOn`, trimming removes whole turns.
 * - Trimmed messages are no longer referenced, so the garbage collector can reclaim them.
 *
 * @typeParam T - the message type. The defaults suit `{ role: string; content: string }`.
 *
 * @example
 * ```ts
 * import { RingBufferHistory } from 'bounded-session'
 *
 * type Message = { role: 'user' | 'assistant'; content: string }
 * const history = new RingBufferHistory<Message>({
 *   maxMessages: 50,
 *   maxTokens: 100_000,
 *   pin: (m) => m.role === 'user' && m.content.startsWith('<instructions>'),
 *   startOn: (m) => m.role === 'user',
 * })
 * history.push({ role: 'user', content: '<instructions>…' })
 * history.push({ role: 'assistant', content: 'ok' })
 * const request = history.map((m) => ({ role: m.role, parts: [{ text: m.content }] }))
 * ```
 */
export class RingBufferHistory<T> implements Iterable<T> {
  readonly #cfg: Config<T>

  // Parallel columns of one ring: slot p holds a message, its size, its tokens and (only when
  // pin or startOn is set) its flags. The ring's capacity is #buf.length. The token column is
  // 16-bit until a message counts more than 65,535 tokens.
  #buf: (T | undefined)[] = noMessages
  #sizes: Uint32Array = noSizes
  #tokenCounts: Uint16Array | Uint32Array = noTokens
  #flags: Uint8Array | undefined
  // Push sequence numbers, kept only once checkpoint() has been called.
  #seqs: Float64Array | undefined
  #head = 0
  #len = 0

  #bytes = 0
  #tokens = 0
  #pushed = 0
  #evicted = 0

  // Logical indexes (0 = oldest) of the protected messages, ascending; at most maxPinned.
  #protected: number[] = noIndexes
  #protectedBytes = 0
  #protectedTokens = 0

  // Made by the first checkpoint(): from then on, sequence numbers are kept.
  #line: Line | undefined

  #watchers: HistoryWatcher[] | undefined
  #trimGroups: TrimGroup<T>[] | undefined
  // Set at each appended message, so its trims are reported apart from the previous one's.
  #newStep = false
  // The push count when slice() last copied a wrapped ring (-1: never).
  #copiedAt = -1

  /**
   * @param options - budgets and callbacks, see {@link RingBufferHistoryOptions}
   * @throws {@link InvalidOptionsError} when an option is invalid
   */
  constructor(options?: RingBufferHistoryOptions<T>) {
    this.#cfg = options === undefined ? ((defaultConfig ??= configOf(undefined)) as Config<T>) : configOf(options)
  }

  /**
   * Makes a history and pushes `items` into it in order, trimming as `push` would.
   *
   * @param items - the messages, oldest first
   * @param options - see {@link RingBufferHistoryOptions}
   * @example
   * ```ts
   * const history = RingBufferHistory.from(session.conversationHistory, { maxMessages: 50 })
   * ```
   */
  static from<T>(items: Iterable<T>, options?: RingBufferHistoryOptions<T>): RingBufferHistory<T> {
    const history = new RingBufferHistory<T>(options)
    // One push per item: spreading a long array would overflow the call stack.
    for (const item of items) history.push(item)
    return history
  }

  /** How many messages the history holds. */
  get length(): number {
    return this.#len
  }

  /** The most messages it can hold: `maxMessages`. */
  get capacity(): number {
    return this.#cfg.max
  }

  /** The bytes of the messages it holds, as `sizeOf` counted them. */
  get bytes(): number {
    return this.#bytes
  }

  /** The tokens of the messages it holds, as `countTokens` counted them. */
  get tokens(): number {
    return this.#tokens
  }

  /** How many messages pushes have trimmed since the history was made (`clear` and `rollback` do not count). */
  get evictedCount(): number {
    return this.#evicted
  }

  /**
   * Appends messages in order, then trims the oldest unpinned messages until every budget is
   * met. The newest message is always kept. All or nothing: if any message is rejected, or a
   * callback throws, the history is left exactly as it was.
   *
   * @returns the new length
   * @throws {@link MessageTooLargeError} when a message cannot fit `maxBytes` or `maxTokens`
   * beside the pinned messages, even with everything else trimmed
   * @throws {@link InvalidMeasurementError} when `sizeOf` or `countTokens` returns an invalid
   * number; an error thrown by a callback is passed on as it is
   */
  push(...messages: T[]): number {
    // Kept tiny so that it inlines and the rest array is never allocated for one message.
    if (messages.length === 1) {
      const message = messages[0] as T
      const cfg = this.#cfg
      if (cfg.fast && this.#buf.length === cfg.max && this.#seqs === undefined) {
        if (this.#watchers === undefined) this.#pushFast(message, cfg)
        else {
          const bytesBefore = this.#bytes
          if (!this.#pushFast(message, cfg)) this.#afterChange(bytesBefore)
        }
      } else this.#pushOne(message)
    } else if (messages.length > 1) this.#pushMany(messages)
    return this.#len
  }

  // The steady state of a history without pin, startOn or onTrim, with the default measures,
  // its storage fully grown and no checkpoint taken. Nothing is protected, so a full ring
  // overwrites its oldest slot in place and the budgets drop messages from the front. Kept small
  // enough for the optimiser to inline.
  // Returns whether the message took the general path instead (which reports the change itself).
  #pushFast(message: T, cfg: Config<T>): boolean {
    let size = MESSAGE_OBJECT_BYTES
    let n = 0
    if (typeof message === 'object' && message !== null) {
      const content = (message as { content?: unknown }).content
      if (typeof content === 'string') {
        n = content.length
        size += STRING_HEADER_BYTES + 2 * n
      }
    } else if (typeof message === 'string') {
      n = message.length
      size = STRING_HEADER_BYTES + 2 * n
    }
    // Math.ceil(n / 4), for a length far below 2^31.
    const tokens = (n + 3) >>> 2
    const maxBytes = cfg.maxBytes
    const maxTokens = cfg.maxTokens
    if (size > maxBytes || tokens > maxTokens || tokens > NARROW_TOKENS || this.#buf.length !== cfg.max || this.#seqs !== undefined) {
      if (this.#pushRare(message, size, tokens)) return true
    }
    const buf = this.#buf
    const sizes = this.#sizes
    const counts = this.#tokenCounts
    const cap = buf.length
    let head = this.#head
    let len = this.#len
    let bytes = this.#bytes + size
    let tokenSum = this.#tokens + tokens
    let p = head + len
    let evicted = 0
    if (len === cap) {
      // Full: the new message takes the oldest one's slot.
      p = head
      if (++head === cap) head = 0
      bytes -= sizes[p] as number
      tokenSum -= counts[p] as number
      evicted = 1
    } else {
      if (p >= cap) p -= cap
      len++
    }
    buf[p] = message
    sizes[p] = size
    counts[p] = tokens
    // The newest message fits on its own, so this stops before reaching it.
    while (bytes > maxBytes || tokenSum > maxTokens) {
      bytes -= sizes[head] as number
      tokenSum -= counts[head] as number
      buf[head] = undefined
      if (++head === cap) head = 0
      len--
      evicted++
    }
    this.#head = head
    this.#len = len
    this.#bytes = bytes
    this.#tokens = tokenSum
    this.#pushed++
    this.#evicted += evicted
    return false
  }

  // The rare cases of #pushFast, once the message is measured: a message over a budget (throws),
  // one that needs the wide token column, and a history that reading the message changed (a
  // `content` getter that cleared it or took a checkpoint): that one takes the general path.
  // Returns whether it pushed the message.
  #pushRare(message: T, size: number, tokens: number): boolean {
    if (this.#buf.length !== this.#cfg.max || this.#seqs !== undefined) {
      this.#pushMeasured(message, size, tokens, 0)
      return true
    }
    // Nothing is protected in a plain history: this compares the message with the budgets alone.
    this.#checkFits(size, tokens, 0)
    if (tokens > NARROW_TOKENS) this.#widenTokens()
    return false
  }

  #pushOne(message: T): void {
    const cfg = this.#cfg
    let size: number
    let tokens: number
    if (cfg.defaultMeasures) {
      // Both defaults read the same text; they cannot return an invalid number.
      const text = textOf(message)
      size = text === undefined ? MESSAGE_OBJECT_BYTES : textBytes(message, text)
      tokens = text === undefined ? 0 : Math.ceil(text.length / 4)
    } else {
      size = measure(cfg.sizeOf, message, 'sizeOf')
      tokens = measure(cfg.countTokens, message, 'countTokens')
    }
    this.#pushMeasured(message, size, tokens, cfg.flagged ? this.#flagsOf(message) : 0)
  }

  // The general path once a message is measured: check that it fits, append it, report the change.
  #pushMeasured(message: T, size: number, tokens: number, flags: number): void {
    const cfg = this.#cfg
    if (cfg.maxBytes !== Infinity || cfg.maxTokens !== Infinity) this.#checkFits(size, tokens, flags)
    const bytesBefore = this.#bytes
    this.#append(message, size, tokens, flags)
    if (this.#watchers !== undefined || this.#trimGroups !== undefined) this.#afterChange(bytesBefore)
  }

  #flagsOf(message: T): number {
    const cfg = this.#cfg
    let flags = 0
    if (cfg.pin !== undefined && cfg.pin(message)) flags |= PINNED
    if (cfg.startOn !== undefined && cfg.startOn(message)) flags |= STARTS_TURN
    return flags
  }

  #slot(index: number): number {
    const p = this.#head + index
    const cap = this.#buf.length
    return p >= cap ? p - cap : p
  }

  // Whether a message with these measures fits beside the messages that will stay protected.
  #checkFits(size: number, tokens: number, flags: number): void {
    const cfg = this.#cfg
    let bytes = this.#protectedBytes + size
    let tokenSum = this.#protectedTokens + tokens
    if ((flags & PINNED) !== 0 && cfg.maxPinned > 0 && this.#protected.length === cfg.maxPinned) {
      const oldest = this.#slot(this.#protected[0] as number)
      bytes -= this.#sizes[oldest] as number
      tokenSum -= this.#tokenCounts[oldest] as number
    }
    if (bytes > cfg.maxBytes) throw new MessageTooLargeError('bytes', cfg.maxBytes, bytes)
    if (tokenSum > cfg.maxTokens) throw new MessageTooLargeError('tokens', cfg.maxTokens, tokenSum)
  }

  #pushMany(messages: T[]): void {
    const cfg = this.#cfg
    const n = messages.length
    const sizes = new Array<number>(n)
    const tokens = new Array<number>(n)
    const flags = new Array<number>(n)
    for (let i = 0; i < n; i++) {
      const message = messages[i] as T
      sizes[i] = measure(cfg.sizeOf, message, 'sizeOf')
      tokens[i] = measure(cfg.countTokens, message, 'countTokens')
      flags[i] = cfg.flagged ? this.#flagsOf(message) : 0
    }
    if (cfg.maxBytes !== Infinity || cfg.maxTokens !== Infinity) {
      // Replay how the protected set evolves, message by message, before changing anything.
      const protSizes: number[] = []
      const protTokens: number[] = []
      for (const index of this.#protected) {
        const p = this.#slot(index)
        protSizes.push(this.#sizes[p] as number)
        protTokens.push(this.#tokenCounts[p] as number)
      }
      let protBytes = this.#protectedBytes
      let protTokenSum = this.#protectedTokens
      for (let i = 0; i < n; i++) {
        const size = sizes[i] as number
        const tokenCount = tokens[i] as number
        let needBytes = protBytes + size
        let needTokens = protTokenSum + tokenCount
        if (((flags[i] as number) & PINNED) !== 0 && cfg.maxPinned > 0) {
          if (protSizes.length === cfg.maxPinned) {
            const droppedSize = protSizes.shift() as number
            const droppedTokens = protTokens.shift() as number
            protBytes -= droppedSize
            protTokenSum -= droppedTokens
            needBytes -= droppedSize
            needTokens -= droppedTokens
          }
          protSizes.push(size)
          protTokens.push(tokenCount)
          protBytes += size
          protTokenSum += tokenCount
        }
        if (needBytes > cfg.maxBytes) throw new MessageTooLargeError('bytes', cfg.maxBytes, needBytes)
        if (needTokens > cfg.maxTokens) throw new MessageTooLargeError('tokens', cfg.maxTokens, needTokens)
      }
    }
    const bytesBefore = this.#bytes
    for (let i = 0; i < n; i++) {
      this.#append(messages[i] as T, sizes[i] as number, tokens[i] as number, flags[i] as number)
    }
    this.#afterChange(bytesBefore)
  }

  // Appends one measured message that is known to fit, then trims. Never throws.
  #append(message: T, size: number, tokens: number, flags: number): void {
    const cfg = this.#cfg
    this.#newStep = true
    if ((flags & PINNED) !== 0 && cfg.maxPinned > 0) {
      if (this.#protected.length === cfg.maxPinned) this.#unprotectOldest()
      if (this.#protected === noIndexes) this.#protected = []
      this.#protected.push(this.#len)
      this.#protectedBytes += size
      this.#protectedTokens += tokens
    }
    if (tokens > NARROW_TOKENS) this.#widenTokens()
    let reason: TrimReason | undefined
    if (this.#len === this.#buf.length) {
      if (this.#buf.length < cfg.max) this.#grow()
      else {
        // Full: make room first. An unprotected message older than this one exists, because
        // maxPinned < maxMessages.
        reason = 'count'
        this.#trimOne(reason)
      }
    }
    const p = this.#slot(this.#len)
    this.#buf[p] = message
    this.#sizes[p] = size
    this.#tokenCounts[p] = tokens
    if (this.#flags !== undefined) this.#flags[p] = flags
    if (this.#seqs !== undefined) this.#seqs[p] = this.#pushed
    this.#pushed++
    this.#len++
    this.#bytes += size
    this.#tokens += tokens
    for (;;) {
      if (this.#bytes > cfg.maxBytes) reason = 'bytes'
      else if (this.#tokens > cfg.maxTokens) reason = 'tokens'
      else break
      this.#trimOne(reason)
    }
    if (reason !== undefined && cfg.startOn !== undefined) {
      for (;;) {
        const index = this.#firstUnprotected()
        if (index >= this.#len - 1 || (this.#flagAt(index) & STARTS_TURN) !== 0) break
        this.#trimOne(reason)
      }
    }
  }

  #flagAt(index: number): number {
    return this.#flags === undefined ? 0 : (this.#flags[this.#slot(index)] as number)
  }

  #unprotectOldest(): void {
    const p = this.#slot(this.#protected.shift() as number)
    this.#protectedBytes -= this.#sizes[p] as number
    this.#protectedTokens -= this.#tokenCounts[p] as number
  }

  // Protected messages sit at the front once older ones are gone: the first unprotected index
  // is the length of the run 0, 1, 2, … at the start of the ascending protected list.
  #firstUnprotected(): number {
    const prot = this.#protected
    let i = 0
    while (i < prot.length && prot[i] === i) i++
    return i
  }

  // Removes the oldest unprotected message. The protected messages before it move up one slot,
  // so the ring stays contiguous: O(maxPinned), independent of the capacity.
  #trimOne(reason: TrimReason): void {
    const index = this.#firstUnprotected()
    const p = this.#slot(index)
    const message = this.#buf[p] as T
    const flags = this.#flags
    this.#bytes -= this.#sizes[p] as number
    this.#tokens -= this.#tokenCounts[p] as number
    for (let k = index - 1; k >= 0; k--) {
      const from = this.#slot(k)
      const to = this.#slot(k + 1)
      this.#buf[to] = this.#buf[from]
      this.#sizes[to] = this.#sizes[from] as number
      this.#tokenCounts[to] = this.#tokenCounts[from] as number
      if (flags !== undefined) flags[to] = flags[from] as number
      if (this.#seqs !== undefined) this.#seqs[to] = this.#seqs[from] as number
    }
    this.#buf[this.#head] = undefined
    this.#head = this.#head + 1 === this.#buf.length ? 0 : this.#head + 1
    this.#len--
    const prot = this.#protected
    for (let k = index; k < prot.length; k++) prot[k] = (prot[k] as number) - 1
    this.#evicted++
    if (this.#cfg.onTrim !== undefined) {
      const groups = (this.#trimGroups ??= [])
      const last = groups[groups.length - 1]
      if (last !== undefined && last.reason === reason && !this.#newStep) last.messages.push(message)
      else groups.push({ reason, messages: [message] })
      this.#newStep = false
    }
  }

  // Storage grows by doubling up to the capacity, so an idle history costs a few hundred bytes.
  #grow(): void {
    this.#relayout(Math.min(Math.max(this.#buf.length * 2, FIRST_ALLOCATION), this.#cfg.max))
  }

  // Moves the messages to new columns of `cap` slots, the oldest in slot 0.
  #relayout(cap: number): void {
    const n = this.#len
    const head = this.#head
    const oldCap = this.#buf.length
    // The live run as one or two runs of slots: [head, end1) then [0, end2).
    const end1 = Math.min(head + n, oldCap)
    const end2 = head + n - end1
    const oldBuf = this.#buf
    const buf = new Array<T | undefined>(cap)
    let i = 0
    for (let p = head; p < end1; p++) buf[i++] = oldBuf[p]
    for (let p = 0; p < end2; p++) buf[i++] = oldBuf[p]
    for (; i < cap; i++) buf[i] = undefined
    this.#buf = buf
    this.#sizes = moved(this.#sizes, new Uint32Array(cap), head, end1, end2)
    const wide = this.#tokenCounts instanceof Uint32Array
    this.#tokenCounts = moved(this.#tokenCounts, wide ? new Uint32Array(cap) : new Uint16Array(cap), head, end1, end2)
    if (this.#cfg.flagged) this.#flags = moved(this.#flags ?? new Uint8Array(0), new Uint8Array(cap), head, end1, end2)
    if (this.#line !== undefined) {
      this.#seqs = moved(this.#seqs ?? new Float64Array(0), new Float64Array(cap).fill(-1), head, end1, end2)
    }
    this.#head = 0
  }

  // The token column becomes 32-bit for a message of more than 65,535 tokens.
  #widenTokens(): void {
    const counts = this.#tokenCounts
    if (counts instanceof Uint16Array) {
      const wide = new Uint32Array(counts.length)
      wide.set(counts)
      this.#tokenCounts = wide
    }
  }

  #afterChange(bytesBefore: number): void {
    const delta = this.#bytes - bytesBefore
    const watchers = this.#watchers
    const groups = this.#trimGroups
    this.#trimGroups = undefined
    let failed = false
    let error: unknown
    if (delta !== 0 && watchers !== undefined) {
      // Every watcher is told even if one throws (a copy: a watcher may unsubscribe meanwhile).
      for (const watcher of watchers.length === 1 ? watchers : watchers.slice()) {
        try {
          watcher.historyResized(delta)
        } catch (e) {
          if (!failed) {
            failed = true
            error = e
          }
        }
      }
    }
    const onTrim = this.#cfg.onTrim
    if (groups !== undefined && onTrim !== undefined) {
      for (const group of groups) {
        try {
          onTrim(group.messages, group.reason)
        } catch (e) {
          if (!failed) {
            failed = true
            error = e
          }
        }
      }
    }
    if (failed) throw error
  }

  /**
   * The message at `index`; a negative index counts back from the newest, as on arrays.
   *
   * @returns the message, or `undefined` when the index is out of range
   */
  at(index: number): T | undefined {
    let i = Math.trunc(index) || 0
    if (i < 0) i += this.#len
    if (i < 0 || i >= this.#len) return undefined
    return this.#buf[this.#slot(i)]
  }

  /** Iterates the messages, oldest first. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#len; i++) yield this.#buf[this.#slot(i)] as T
  }

  /** Like `Array.prototype.map`, oldest first. */
  map<U>(fn: (message: T, index: number, history: this) => U): U[] {
    const n = this.#len
    const out = new Array<U>(n)
    const buf = this.#buf
    const cap = buf.length
    let p = this.#head
    for (let i = 0; i < n; i++) {
      out[i] = fn(buf[p] as T, i, this)
      if (++p === cap) p = 0
    }
    return out
  }

  /** Like `Array.prototype.filter`, oldest first. */
  filter<S extends T>(fn: (message: T, index: number, history: this) => message is S): S[]
  filter(fn: (message: T, index: number, history: this) => unknown): T[]
  filter(fn: (message: T, index: number, history: this) => unknown): T[] {
    const out: T[] = []
    for (let i = 0; i < this.#len; i++) {
      const message = this.#buf[this.#slot(i)] as T
      if (fn(message, i, this)) out.push(message)
    }
    return out
  }

  /**
   * Like `Array.prototype.reduce`, oldest first.
   *
   * @throws TypeError when the history is empty and no initial value is given
   */
  reduce(fn: (accumulator: T, message: T, index: number, history: this) => T): T
  reduce<U>(fn: (accumulator: U, message: T, index: number, history: this) => U, initial: U): U
  reduce<U>(fn: (accumulator: U, message: T, index: number, history: this) => U, ...rest: [U?]): U {
    let i = 0
    let acc: U
    if (rest.length > 0) acc = rest[0] as U
    else if (this.#len === 0) throw new TypeError('Reduce of empty history with no initial value')
    else acc = this.#buf[this.#slot(i++)] as unknown as U
    for (; i < this.#len; i++) acc = fn(acc, this.#buf[this.#slot(i)] as T, i, this)
    return acc
  }

  /** Like `Array.prototype.forEach`, oldest first. */
  forEach(fn: (message: T, index: number, history: this) => void): void {
    for (let i = 0; i < this.#len; i++) fn(this.#buf[this.#slot(i)] as T, i, this)
  }

  /** Like `Array.prototype.some`, oldest first. */
  some(fn: (message: T, index: number, history: this) => unknown): boolean {
    for (let i = 0; i < this.#len; i++) if (fn(this.#buf[this.#slot(i)] as T, i, this)) return true
    return false
  }

  /** Like `Array.prototype.every`, oldest first. */
  every(fn: (message: T, index: number, history: this) => unknown): boolean {
    for (let i = 0; i < this.#len; i++) if (!fn(this.#buf[this.#slot(i)] as T, i, this)) return false
    return true
  }

  /** Like `Array.prototype.find`, oldest first. */
  find<S extends T>(fn: (message: T, index: number, history: this) => message is S): S | undefined
  find(fn: (message: T, index: number, history: this) => unknown): T | undefined
  find(fn: (message: T, index: number, history: this) => unknown): T | undefined {
    for (let i = 0; i < this.#len; i++) {
      const message = this.#buf[this.#slot(i)] as T
      if (fn(message, i, this)) return message
    }
    return undefined
  }

  /** Like `Array.prototype.slice`: a new array of the messages from `start` up to `end`. */
  slice(start?: number, end?: number): T[] {
    const n = this.#len
    const from = relativeIndex(start, 0, n)
    const to = relativeIndex(end, n, n)
    const count = to - from
    if (count <= 0) return []
    const cap = this.#buf.length
    let a = this.#head + from
    if (a >= cap) a -= cap
    // A run of contiguous slots is one native copy.
    if (a + count <= cap) return this.#buf.slice(a, a + count) as T[]
    // The run wraps. A second copy of the same wrapped ring, with no push in between, first lays
    // the ring out again from slot 0, so that it and the copies after it are native ones.
    if (this.#copiedAt === this.#pushed) {
      this.#relayout(cap)
      return this.#buf.slice(from, to) as T[]
    }
    this.#copiedAt = this.#pushed
    const buf = this.#buf
    const out = new Array<T>(count)
    let i = 0
    for (let p = a; p < cap; p++) out[i++] = buf[p] as T
    for (let p = 0; i < count; p++) out[i++] = buf[p] as T
    return out
  }

  /** A new array of the messages, oldest first. */
  toArray(): T[] {
    return this.slice()
  }

  /** The messages as an array, so that `JSON.stringify(history)` writes them as one. */
  toJSON(): T[] {
    return this.slice()
  }

  /** Removes every message and frees the storage. Not counted as trimming. */
  clear(): void {
    const bytesBefore = this.#bytes
    this.#buf = noMessages
    this.#sizes = noSizes
    this.#tokenCounts = noTokens
    this.#flags = undefined
    this.#seqs = undefined
    this.#head = 0
    this.#len = 0
    this.#bytes = 0
    this.#tokens = 0
    this.#protected = noIndexes
    this.#protectedBytes = 0
    this.#protectedTokens = 0
    this.#afterChange(bytesBefore)
  }

  /**
   * The messages to send to a model under a tighter budget, as a new array: every protected
   * pinned message, the newest message, and as many of the messages before it as fit the budget
   * (pinned messages count toward it). If anything was left out, the oldest unpinned message
   * included starts a turn (`startOn`). The history itself is not changed.
   *
   * @param budget - limits for this window; a field left out is not limited
   * @throws {@link InvalidOptionsError} when a budget field is not a positive integer
   * @example
   * ```ts
   * const messages = history.window({ maxMessages: 20, maxTokens: 100_000 })
   * ```
   */
  window(budget: HistoryBudget = {}): T[] {
    const maxMessages = budgetField(budget, 'maxMessages')
    const maxBytes = budgetField(budget, 'maxBytes')
    const maxTokens = budgetField(budget, 'maxTokens')
    const n = this.#len
    if (n === 0) return []
    const prot = this.#protected
    const newest = n - 1
    let k = prot.length - 1
    const newestProtected = k >= 0 && prot[k] === newest
    if (newestProtected) k--
    const pn = this.#slot(newest)
    let count = prot.length + (newestProtected ? 0 : 1)
    let bytes = this.#protectedBytes + (newestProtected ? 0 : (this.#sizes[pn] as number))
    let tokens = this.#protectedTokens + (newestProtected ? 0 : (this.#tokenCounts[pn] as number))
    // Walk back from the newest while messages fit; protected ones are already counted.
    let cut = newest
    for (let i = newest - 1; i >= 0; i--) {
      if (k >= 0 && prot[k] === i) {
        k--
        cut = i
        continue
      }
      const p = this.#slot(i)
      const b = this.#sizes[p] as number
      const t = this.#tokenCounts[p] as number
      if (count + 1 > maxMessages || bytes + b > maxBytes || tokens + t > maxTokens) break
      count++
      bytes += b
      tokens += t
      cut = i
    }
    const leftOut = cut - (k + 1) > 0
    if (leftOut && this.#cfg.startOn !== undefined) {
      // Protected indexes below the cut are prot[0..k]; skip those within [cut, newest) too.
      let j = k + 1
      while (cut < newest) {
        if (j < prot.length && prot[j] === cut) {
          j++
          cut++
          continue
        }
        if ((this.#flagAt(cut) & STARTS_TURN) !== 0) break
        cut++
      }
    }
    // The protected messages before the cut, then everything from the cut: never the whole history.
    const out: T[] = []
    for (let j = 0; j < prot.length && (prot[j] as number) < cut; j++) out.push(this.#buf[this.#slot(prot[j] as number)] as T)
    for (let i = cut; i < n; i++) out.push(this.#buf[this.#slot(i)] as T)
    return out
  }

  /**
   * Marks the current end of the history, so that a failed model call can take back the
   * messages it pushed: see {@link RingBufferHistory.rollback}.
   *
   * @example
   * ```ts
   * const mark = history.checkpoint()
   * history.push(prompt)
   * try {
   *   history.push(await callModel(history.toArray()))
   * } catch (error) {
   *   history.rollback(mark) // the retry will push the prompt again
   *   throw error
   * }
   * ```
   */
  checkpoint(): HistoryCheckpoint {
    let line = this.#line
    if (line === undefined) {
      this.#line = line = { next: undefined, rolledBackTo: Infinity }
      // Messages already here were pushed before any checkpoint: mark them as older than all.
      if (this.#buf.length > 0) this.#seqs = new Float64Array(this.#buf.length).fill(-1)
    }
    const record: CheckpointRecord = { position: this.#pushed, [checkpointOwner]: this, [checkpointLine]: line }
    return Object.freeze(record) as unknown as HistoryCheckpoint
  }

  /**
   * Removes the messages pushed after `checkpoint` that are still held. Messages trimmed since
   * the checkpoint cannot come back: a rollback never restores anything. Not counted as
   * trimming; `onTrim` is not called.
   *
   * A rollback also withdraws every checkpoint made after `checkpoint`: they point at messages
   * that no longer exist, and rolling back to one of them throws.
   *
   * @returns how many messages were removed
   * @throws {@link InvalidCheckpointError} for a checkpoint this history did not make, or one
   * withdrawn by an earlier rollback
   */
  rollback(checkpoint: HistoryCheckpoint): number {
    if (!this.#isValid(checkpoint)) throw new InvalidCheckpointError(checkpoint)
    const position = checkpoint.position
    const seqs = this.#seqs
    const bytesBefore = this.#bytes
    let removed = 0
    while (seqs !== undefined && this.#len > 0) {
      const p = this.#slot(this.#len - 1)
      if ((seqs[p] as number) < position) break
      this.#bytes -= this.#sizes[p] as number
      this.#tokens -= this.#tokenCounts[p] as number
      this.#buf[p] = undefined
      this.#len--
      removed++
    }
    // A valid checkpoint exists, so the line does.
    const current = this.#line as Line
    const line: Line = { next: undefined, rolledBackTo: Infinity }
    current.rolledBackTo = position
    current.next = line
    this.#line = line
    if (removed > 0) {
      this.#reprotect()
      this.#afterChange(bytesBefore)
    }
    return removed
  }

  #isValid(checkpoint: unknown): checkpoint is CheckpointRecord {
    if (checkpoint === null || typeof checkpoint !== 'object') return false
    const record = checkpoint as Partial<CheckpointRecord>
    if (record[checkpointOwner] !== this || typeof record.position !== 'number') return false
    for (let line = record[checkpointLine]; line !== this.#line; line = line.next) {
      if (line === undefined || record.position > line.rolledBackTo) return false
    }
    return true
  }

  // Finds the newest maxPinned pinned messages again, after messages left from the end.
  #reprotect(): void {
    const prot: number[] = []
    let bytes = 0
    let tokens = 0
    for (let i = this.#len - 1; i >= 0 && prot.length < this.#cfg.maxPinned; i--) {
      const p = this.#slot(i)
      if ((this.#flagAt(i) & PINNED) !== 0) {
        prot.push(i)
        bytes += this.#sizes[p] as number
        tokens += this.#tokenCounts[p] as number
      }
    }
    this.#protected = prot.reverse()
    this.#protectedBytes = bytes
    this.#protectedTokens = tokens
  }

  /** @internal Lets a session store follow this history's size. */
  [watchKey](watcher: HistoryWatcher, subscribe: boolean): void {
    const watchers = this.#watchers
    if (subscribe) {
      if (watchers === undefined) this.#watchers = [watcher]
      else if (!watchers.includes(watcher)) watchers.push(watcher)
    } else if (watchers !== undefined) {
      const i = watchers.indexOf(watcher)
      if (i >= 0) watchers.splice(i, 1)
      if (watchers.length === 0) this.#watchers = undefined
    }
  }
}

function relativeIndex(value: number | undefined, fallback: number, length: number): number {
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
