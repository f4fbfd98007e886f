import * as z from 'zod/mini'
import {
  InvalidArgumentError,
  InvalidCheckpointError,
  InvalidMeasurementError,
  InvalidOptionsError,
  InvalidSnapshotError,
  MessageTooLargeError,
  TrimCallbackError,
} from './errors.js'
import { type HistoryWatcher, watchKey } from './history-watch.js'
import type { HistoryView } from './history-view.js'
import { callback, fraction, lazyOptionsParser, nonNegativeInteger, positiveInteger } from './options.js'

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
  /**
   * Makes the window cache-stable: a number in [0, 1]. Below 1, the window's first message (its
   * cut) stays where it was on the previous call for as long as the window still fits the budget;
   * when it no longer fits, the cut moves forward in one step, to where the window fits
   * `trimTo ×` the budget. With no cut yet, or when the history has trimmed the message at the
   * cut, the window starts at the oldest message if the whole history fits. Every call between two steps sends the same prefix as the one before,
   * so a provider's prompt cache keeps hitting.
   *
   * What it costs: the window then holds between `trimTo ×` and all of the budget (a sliding
   * window always holds nearly all of it), the history remembers one cut (a sequence number, not
   * a message) and from the first such call keeps a sequence number per message (8 bytes each),
   * which also moves its pushes off the allocation-free fast path. One history remembers one cut:
   * give each history one stable budget.
   *
   * @defaultValue 1: a sliding window, cut afresh on every call
   */
  trimTo?: number | undefined
}

/** What one `onTrim` call trimmed, in total. */
export interface TrimSummary {
  /** How many messages were trimmed. */
  readonly messages: number
  /** Their bytes, as `sizeOf` counted them. */
  readonly bytes: number
  /** Their tokens, as `countTokens` counted them. */
  readonly tokens: number
}

/** Bytes and tokens, as a history's `sizeOf` and `countTokens` count them. */
export interface HistoryMeasure {
  /** Bytes, as `sizeOf` counts them (`Infinity` for no byte budget, in a room). */
  readonly bytes: number
  /** Tokens, as `countTokens` counts them (`Infinity` for no token budget, in a room). */
  readonly tokens: number
}

/**
 * The option `shrink` of {@link RingBufferHistoryOptions}: makes a message that cannot fit beside
 * the protected messages small enough to fit `room`, and returns the message to store.
 *
 * @param message - the message that does not fit
 * @param room - what is left of each budget beside the messages that stay protected
 * @param measure - the history's own measures, to check a candidate against `room`
 */
export type ShrinkMessage<T> = (message: T, room: HistoryMeasure, measure: (message: T) => HistoryMeasure) => T

/**
 * A history's messages and pins as plain data, made by {@link RingBufferHistory.snapshot} and read
 * by {@link RingBufferHistory.restore}. JSON-safe when the messages are.
 */
export interface HistorySnapshot<T> {
  /** The snapshot format: always 1. */
  version: 1
  /** The messages, oldest first. */
  messages: T[]
  /** Indexes into `messages` of the pinned ones (by `pin` or `pushPinned`), ascending. */
  pinned: number[]
  /** {@link RingBufferHistory.evictedCount} when the snapshot was made. */
  evictedCount: number
}

/**
 * An opaque mark made by {@link RingBufferHistory.checkpoint}, to give to
 * {@link RingBufferHistory.rollback}.
 */
export interface HistoryCheckpoint {
  /** How many messages the history had been given when the checkpoint was made, not counting those rolled back. */
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
   * first, the budget that made room for them, and a summary of what went (how many messages,
   * bytes and tokens: what a host needs to re-seed after a big step). One call per appended
   * message and reason (a push of several messages may make several calls). Costs nothing when
   * not given. If it throws, the push has still taken effect: every call is made, then `push`
   * throws {@link TrimCallbackError} with the first error as its `cause`. Do not push the same
   * messages again.
   *
   * @defaultValue none
   */
  onTrim?: ((trimmed: T[], reason: TrimReason, summary: TrimSummary) => void) | undefined
  /**
   * How far a trim goes, as a fraction of each budget: a number in [0, 1]. When a push exceeds a
   * budget, trimming goes on (oldest unprotected whole turns first, never the protected or the
   * newest message) until every budget that was exceeded is at or below `trimTo ×` that budget.
   *
   * - `1`: a sliding window. Every push into a full history trims, so the oldest message a model
   *   sees changes on every call, and a provider's prompt cache (which matches the prompt by its
   *   exact prefix) never hits.
   * - `0.5`: trims in big steps. After a trim, many pushes go by before the next one, and every
   *   request in between shares its whole prefix with the one before it.
   * - `0`: generations. A trim keeps only the protected messages and the newest one, like a host
   *   that starts over from its instructions, without re-seeding them.
   *
   * @defaultValue 1
   */
  trimTo?: number | undefined
  /**
   * Makes a message that cannot fit `maxBytes` or `maxTokens` beside the protected messages fit,
   * instead of throwing: called with the message, the room left and the history's measures, it
   * returns the message to store (see {@link truncateContent} for `{ role, content }` messages).
   * The result is measured again; if it still does not fit, `push` throws
   * {@link MessageTooLargeError} and the history is unchanged.
   *
   * @defaultValue none: such a push throws {@link MessageTooLargeError}
   */
  shrink?: ShrinkMessage<T> | undefined
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

const parseOptions = lazyOptionsParser(() => ({
  schema: z.strictObject({
    maxMessages: positiveInteger(),
    maxBytes: positiveInteger(),
    maxTokens: positiveInteger(),
    sizeOf: callback(),
    countTokens: callback(),
    pin: callback(),
    maxPinned: nonNegativeInteger(),
    startOn: callback(),
    onTrim: callback(),
    trimTo: fraction(),
    shrink: callback(),
  }) satisfies z.ZodMiniType<{ [K in keyof RingBufferHistoryOptions<unknown>]?: unknown }>,
  expected: {
    maxMessages: 'a positive integer',
    maxBytes: 'a positive integer',
    maxTokens: 'a positive integer',
    sizeOf: 'a function',
    countTokens: 'a function',
    pin: 'a function',
    maxPinned: 'a non-negative integer',
    startOn: 'a function',
    onTrim: 'a function',
    trimTo: 'a number from 0 to 1',
    shrink: 'a function',
  } satisfies Record<keyof RingBufferHistoryOptions<unknown>, string>,
}))

// Every rollback (and clear(), reset(), `length =` below the end) starts a new line of history.
// A checkpoint stays valid across it only if it lies at or before the point gone back to (-1
// for clear and reset: none does); lines are linked forward, so the history holds only its
// current line and old ones live as long as checkpoints refer to them.
interface Line {
  next: Line | undefined
  rolledBackTo: number
}

// The checkpoints handed out, with their history and line. A copy of a checkpoint object is not
// in here, so it is refused whatever its `position` says.
const issued = new WeakMap<object, { owner: object; line: Line }>()

interface TrimGroup<T> {
  reason: TrimReason
  messages: T[]
  bytes: number
  tokens: number
}

// The options, resolved. One object per history made with options; histories made without
// share one, so their instances hold only their state.
interface Config<T> {
  // The checked options, for clone().
  readonly options: RingBufferHistoryOptions<T> | undefined
  readonly max: number
  readonly maxBytes: number
  readonly maxTokens: number
  readonly maxPinned: number
  // What a trim goes down to: floor(trimTo × budget).
  readonly countTarget: number
  readonly bytesTarget: number
  readonly tokensTarget: number
  readonly sizeOf: (message: T) => number
  readonly countTokens: (message: T) => number
  readonly pin: ((message: T) => boolean) | undefined
  readonly startOn: ((message: T) => boolean) | undefined
  readonly onTrim: ((trimmed: T[], reason: TrimReason, summary: TrimSummary) => void) | undefined
  readonly shrink: ShrinkMessage<T> | undefined
  // Both measures are the defaults: they cannot return an invalid number.
  readonly defaultMeasures: boolean
  // No pin, startOn or onTrim, default measures, a sliding window: push can take the shortest path.
  readonly fast: boolean
  // pin or startOn is set: every message carries flags.
  readonly flagged: boolean
}

let defaultConfig: Config<unknown> | undefined

const target = (trimTo: number, budget: number): number => (budget === Infinity ? Infinity : Math.floor(trimTo * budget))

function configOf<T>(options: RingBufferHistoryOptions<T> | undefined): Config<T> {
  const o = parseOptions(options) as RingBufferHistoryOptions<T>
  const max = o.maxMessages ?? 50
  const maxPinned = o.maxPinned ?? Math.min(1, max - 1)
  if (maxPinned >= max) {
    throw new InvalidOptionsError('maxPinned', maxPinned, `a non-negative integer smaller than \`maxMessages\` (${max})`)
  }
  const sizeOf = o.sizeOf ?? defaultSizeOf
  const countTokens = o.countTokens ?? defaultCountTokens
  const { pin, startOn, onTrim, shrink } = o
  const trimTo = o.trimTo ?? 1
  const maxBytes = o.maxBytes ?? Infinity
  const maxTokens = o.maxTokens ?? Infinity
  const defaultMeasures = sizeOf === defaultSizeOf && countTokens === defaultCountTokens
  return {
    options: options === undefined ? undefined : o,
    max,
    maxBytes,
    maxTokens,
    maxPinned,
    countTarget: target(trimTo, max),
    bytesTarget: target(trimTo, maxBytes),
    tokensTarget: target(trimTo, maxTokens),
    sizeOf,
    countTokens,
    pin,
    startOn,
    onTrim,
    shrink,
    defaultMeasures,
    flagged: pin !== undefined || startOn !== undefined,
    fast: pin === undefined && startOn === undefined && onTrim === undefined && defaultMeasures && trimTo === 1,
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

const isPositiveInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0
const isNonNegativeInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0

interface Budget {
  maxMessages: number
  maxBytes: number
  maxTokens: number
  trimTo: number
}

const budgetExpected: Record<keyof HistoryBudget, string> = {
  maxMessages: 'a positive integer',
  maxBytes: 'a positive integer',
  maxTokens: 'a positive integer',
  trimTo: 'a number from 0 to 1',
}
const noBudget: Budget = { maxMessages: Infinity, maxBytes: Infinity, maxTokens: Infinity, trimTo: 1 }

// window() runs once per model call: its four fields are checked by hand rather than by a zod
// parse, with the same rules and the same error as the options (each field read once).
function budgetOf(budget: unknown): Budget {
  if (budget === undefined) return noBudget
  if (budget === null || typeof budget !== 'object' || Array.isArray(budget)) {
    throw new InvalidOptionsError('budget', budget, 'an object or undefined')
  }
  const record = budget as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(budgetExpected, key)) {
      throw new InvalidOptionsError(key, record[key], `a known budget field (${Object.keys(budgetExpected).join(', ')})`)
    }
  }
  const out = { ...noBudget }
  for (const key of ['maxMessages', 'maxBytes', 'maxTokens'] as const) {
    const value = record[key]
    if (value === undefined) continue
    if (!isPositiveInteger(value)) throw new InvalidOptionsError(key, value, budgetExpected[key])
    out[key] = value
  }
  const trimTo = record.trimTo
  if (trimTo !== undefined) {
    if (typeof trimTo !== 'number' || !(trimTo >= 0 && trimTo <= 1)) throw new InvalidOptionsError('trimTo', trimTo, budgetExpected.trimTo)
    out.trimTo = trimTo
  }
  return out
}

/**
 * A conversation history with a fixed budget: a ring buffer that drops its oldest messages as
 * new ones arrive, so it can be appended to forever in constant memory. It replaces the plain
 * array that an agent appends every prompt and reply to, and reads like one: it offers every
 * reader of `ReadonlyArray` in {@link HistoryView}, and `length` can be assigned.
 *
 * - `push` is O(1) whatever the capacity, and allocates nothing once the buffer is full.
 * - Bounded by message count, and optionally by bytes and tokens.
 * - The newest `maxPinned` pinned messages (by `pin` or {@link RingBufferHistory.pushPinned}:
 *   the agent's instructions) are never trimmed.
 * - With `startOn`, trimming removes whole turns; with `trimTo` below 1 it trims in big steps, so
 *   the prompt prefix a provider caches stays the same between steps.
 * - Trimmed messages are no longer referenced, so the garbage collector can reclaim them.
 *
 * Index access (`history[0]`) is not supported: use `at(0)`, which arrays have too. Answering
 * `history[0]` would need a `Proxy`, which would cost every read and every push.
 * `structuredClone(history)` does not work on class instances (it returns `{}`): use
 * {@link RingBufferHistory.clone}, {@link RingBufferHistory.snapshot} or `toJSON()`.
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
 *   trimTo: 0.5,
 *   startOn: (m) => m.role === 'user',
 * })
 * history.pushPinned({ role: 'user', content: '<instructions>…' })
 * history.push({ role: 'assistant', content: 'ok' })
 * const request = history.map((m) => ({ role: m.role, parts: [{ text: m.content }] }))
 * ```
 */
export class RingBufferHistory<T> implements HistoryView<T> {
  readonly #cfg: Config<T>

  // Parallel columns of one ring: slot p holds a message, its size, its tokens and (once a
  // message carries a flag: pin, startOn or pushPinned) its flags. The ring's capacity is
  // #buf.length. The token column is 16-bit until a message counts more than 65,535 tokens.
  #buf: (T | undefined)[] = noMessages
  #sizes: Uint32Array = noSizes
  #tokenCounts: Uint16Array | Uint32Array = noTokens
  #flags: Uint8Array | undefined
  // Push sequence numbers, kept once #sequenced (from the first checkpoint() or stable window()).
  #seqs: Float64Array | undefined
  #sequenced = false
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

  // Made by the first checkpoint().
  #line: Line | undefined
  // The sequence number of the first message of the last stable window (-1: none).
  #cutSeq = -1

  #watchers: HistoryWatcher[] | undefined
  #trimGroups: TrimGroup<T>[] | undefined
  // Set at each appended message, so its trims are reported apart from the previous one's.
  #newStep = false
  // The push count when slice() last copied a wrapped ring (-1: never).
  #copiedAt = -1

  /**
   * @param options - budgets and callbacks, see {@link RingBufferHistoryOptions}. Read once:
   * each option is read a single time and checked, and later changes to the object are not seen.
   * @throws {@link InvalidOptionsError} when an option is invalid or unknown
   */
  constructor(options?: RingBufferHistoryOptions<T>) {
    this.#cfg = options === undefined ? ((defaultConfig ??= configOf(undefined)) as Config<T>) : configOf(options)
  }

  /**
   * Makes a history of the class it is called on (`Sub.from(…)` is a `Sub`) and pushes `items`
   * into it one by one with `push`, trimming as `push` would. If `onTrim` throws meanwhile, `from`
   * throws {@link TrimCallbackError} and the history is not returned. For a generic subclass
   * `class G<T> extends RingBufferHistory<T>`, TypeScript cannot infer `T` through `this`: write
   * `G.from<Msg, G<Msg>>(…)`.
   *
   * @param items - the messages, oldest first
   * @param options - see {@link RingBufferHistoryOptions}
   * @example
   * ```ts
   * const history = RingBufferHistory.from(session.conversationHistory, { maxMessages: 50 })
   * ```
   */
  static from<T, H extends RingBufferHistory<T> = RingBufferHistory<T>>(
    this: new (options?: RingBufferHistoryOptions<T>) => H,
    items: Iterable<T>,
    options?: RingBufferHistoryOptions<T>,
  ): H {
    const history = new this(options)
    // One push per item: spreading a long array would overflow the call stack.
    for (const item of items) history.push(item)
    return history
  }

  /**
   * Makes a history of the class it is called on from a {@link RingBufferHistory.snapshot}, in
   * O(n): the same messages, the same pins and the same `evictedCount`. The messages are measured
   * with `options` (which need not be the original ones); if those are tighter, the history is
   * trimmed as pushes would trim it (and if `onTrim` throws then, `restore` throws
   * {@link TrimCallbackError}). Extra fields in the snapshot are ignored.
   *
   * @param snapshot - what `snapshot()` returned, possibly through `JSON.stringify`/`JSON.parse`
   * @param options - see {@link RingBufferHistoryOptions}
   * @throws {@link InvalidSnapshotError} for a malformed snapshot; nothing is built
   * @example
   * ```ts
   * await db.put(id, JSON.stringify(history.snapshot()))
   * // after a restart
   * const history = RingBufferHistory.restore(JSON.parse(await db.get(id)), options)
   * ```
   */
  static restore<T, H extends RingBufferHistory<T> = RingBufferHistory<T>>(
    this: new (options?: RingBufferHistoryOptions<T>) => H,
    snapshot: HistorySnapshot<T>,
    options?: RingBufferHistoryOptions<T>,
  ): H {
    const { messages, pinned, evictedCount } = snapshotFields(snapshot)
    const history: RingBufferHistory<T> = new this(options)
    history.#load(messages, pinned, evictedCount)
    return history as H
  }

  /**
   * How many messages the history holds. Assignable as on arrays: `history.length = n` keeps the
   * oldest `n` messages (`0` clears), with `bytes`, `tokens` and the weight a session store gives
   * the history following. A value at or above the length changes nothing (a history never holds
   * holes). Not counted as trimming; `onTrim` is not called.
   *
   * @throws {@link InvalidArgumentError} when assigned anything but a non-negative integer
   */
  get length(): number {
    return this.#len
  }

  set length(value: number) {
    if (!isNonNegativeInteger(value)) throw new InvalidArgumentError('length', value, 'a non-negative integer')
    if (value >= this.#len) return
    // Like a rollback to just before the first message removed.
    const seqs = this.#seqs
    this.#rewind(seqs === undefined ? this.#pushed - (this.#len - value) : (seqs[this.#slot(value)] as number))
    this.#removeNewest(this.#len - value)
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

  /**
   * How many messages have been trimmed since the history was made: by pushes, and by `reset`,
   * `restore` or `from` when their messages exceed the budgets. Messages removed by `clear`,
   * replaced by `reset`, or taken back by `rollback` or `length = n` do not count.
   */
  get evictedCount(): number {
    return this.#evicted
  }

  /**
   * Appends messages in order, trimming after each as {@link RingBufferHistoryOptions.trimTo}
   * says: the oldest unprotected messages go first, and the newest message is always kept.
   * All or nothing: if any message is rejected, or a measure or `pin`/`startOn`/`shrink` throws,
   * the history is left exactly as it was.
   *
   * @returns the new length
   * @throws {@link MessageTooLargeError} when a message cannot fit `maxBytes` or `maxTokens`
   * beside the protected messages, even with everything else trimmed (and `shrink`, if given,
   * did not make it fit)
   * @throws {@link InvalidMeasurementError} when `sizeOf` or `countTokens` returns an invalid
   * number; an error thrown by a callback is passed on as it is
   * @throws {@link TrimCallbackError} when `onTrim` threw: the push HAS taken effect
   */
  push(...messages: T[]): number {
    // Kept tiny so that it inlines and the rest array is never allocated for one message.
    if (messages.length === 1) {
      const message = messages[0] as T
      const cfg = this.#cfg
      if (cfg.fast && this.#buf.length === cfg.max && this.#seqs === undefined && this.#flags === undefined) {
        if (this.#watchers === undefined) this.#pushFast(message, cfg)
        else {
          const bytesBefore = this.#bytes
          if (!this.#pushFast(message, cfg)) this.#afterChange(bytesBefore)
        }
      } else this.#pushOne(message, 0)
    } else if (messages.length > 1) this.#pushMany(messages, 0)
    return this.#len
  }

  /**
   * Appends messages as `push` does, and pins each of them as `pin` would: the newest
   * `maxPinned` pinned messages are never trimmed, and these count towards `maxPinned`. Works
   * with or without the `pin` option, for a host that knows which message is its framing prompt
   * and need not recognise it by its content.
   *
   * @returns the new length
   * @throws what {@link RingBufferHistory.push} throws
   * @example
   * ```ts
   * history.pushPinned({ role: 'user', content: initPrompt })
   * ```
   */
  pushPinned(...messages: T[]): number {
    if (messages.length === 1) this.#pushOne(messages[0] as T, PINNED)
    else if (messages.length > 1) this.#pushMany(messages, PINNED)
    return this.#len
  }

  /**
   * Replaces the whole content with `messages` (trimmed as pushes would trim them), keeping the
   * options, `evictedCount` and any session store that weighs the history. The call for hosts that
   * reassign `session.conversationHistory = [initPrompt]`. All or nothing, as `push`.
   *
   * @param messages - the new content, oldest first (none: the history is emptied)
   * @returns the new length
   * @throws what {@link RingBufferHistory.push} throws; the history is unchanged, except after
   * {@link TrimCallbackError}
   * @example
   * ```ts
   * history.reset([initPrompt]) // a new generation, same options
   * ```
   */
  reset(messages: Iterable<T> = []): number {
    const list = Array.from(messages)
    const measured = this.#prepare(list, () => 0, true)
    const bytesBefore = this.#bytes
    this.#withdrawAll()
    this.#empty()
    this.#appendAll(list, measured)
    this.#afterChange(bytesBefore)
    return this.#len
  }

  /**
   * An independent copy: the same messages, pins, counters and options, made by the class's own
   * constructor (called with the history's options). Checkpoints of this history are not valid
   * on the copy, and no session store weighs it. Use this rather than `structuredClone`, which
   * returns `{}` for class instances.
   */
  clone(): this {
    const Class = this.constructor as new (options?: RingBufferHistoryOptions<T>) => this
    const copy = new Class(this.#cfg.options)
    ;(copy as RingBufferHistory<T>).#copyFrom(this)
    return copy
  }

  /**
   * The messages, which of them are pinned, and the counters, as plain data (JSON-safe when the
   * messages are): what {@link RingBufferHistory.restore} needs to give back exactly this
   * history, pins included. `toJSON()` writes the messages only.
   */
  snapshot(): HistorySnapshot<T> {
    const pinned: number[] = []
    if (this.#flags !== undefined) for (let i = 0; i < this.#len; i++) if ((this.#flagAt(i) & PINNED) !== 0) pinned.push(i)
    return { version: 1, messages: this.slice(), pinned, evictedCount: this.#evicted }
  }

  // The steady state of a history without pin, startOn or onTrim, with the default measures,
  // trimTo 1, its storage fully grown, no flagged message and no sequence numbers. Nothing is
  // protected, so a full ring overwrites its oldest slot in place and the budgets drop messages
  // from the front. Kept small enough for the optimiser to inline.
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
    if (
      size > maxBytes ||
      tokens > maxTokens ||
      tokens > NARROW_TOKENS ||
      this.#buf.length !== cfg.max ||
      this.#seqs !== undefined ||
      this.#flags !== undefined
    ) {
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

  // The rare cases of #pushFast, once the message is measured: a message over a budget (shrunk
  // or refused by the general path), one that needs the wide token column, and a history that
  // reading the message changed (a `content` getter that cleared it, took a checkpoint or pushed
  // a pinned message): those take the general path. Returns whether it pushed the message.
  #pushRare(message: T, size: number, tokens: number): boolean {
    const cfg = this.#cfg
    if (size > cfg.maxBytes || tokens > cfg.maxTokens || this.#buf.length !== cfg.max || this.#seqs !== undefined || this.#flags !== undefined) {
      this.#pushMeasured(message, size, tokens, 0)
      return true
    }
    if (tokens > NARROW_TOKENS) this.#widenTokens()
    return false
  }

  #pushOne(message: T, extraFlags: number): void {
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
    this.#pushMeasured(message, size, tokens, (cfg.flagged ? this.#flagsOf(message) : 0) | extraFlags)
  }

  // The general path once a message is measured: make sure it fits (shrinking it if it must and
  // may), append it, report the change.
  #pushMeasured(message: T, size: number, tokens: number, flags: number): void {
    const cfg = this.#cfg
    if (cfg.maxBytes !== Infinity || cfg.maxTokens !== Infinity) {
      const fitted = this.#fit(message, size, tokens, this.#besideBytes(flags), this.#besideTokens(flags))
      if (fitted !== undefined) {
        message = fitted.message
        size = fitted.size
        tokens = fitted.tokens
      }
    }
    const bytesBefore = this.#bytes
    this.#append(message, size, tokens, flags)
    if (this.#watchers !== undefined || this.#trimGroups !== undefined) this.#afterChange(bytesBefore)
  }

  // What stays protected beside a new message with these flags (a pinned one displaces the
  // oldest protected message when the protected set is full).
  #besideBytes(flags: number): number {
    return this.#protectedBytes - this.#displaced(flags, this.#sizes)
  }

  #besideTokens(flags: number): number {
    return this.#protectedTokens - this.#displaced(flags, this.#tokenCounts)
  }

  #displaced(flags: number, column: Uint16Array | Uint32Array): number {
    const cfg = this.#cfg
    if ((flags & PINNED) === 0 || cfg.maxPinned === 0 || this.#protected.length < cfg.maxPinned) return 0
    return column[this.#slot(this.#protected[0] as number)] as number
  }

  // Checks that a message fits beside `otherBytes`/`otherTokens` of protected messages. Returns
  // undefined when it fits as it is, the shrunk message when `shrink` made it fit; throws
  // MessageTooLargeError otherwise. Changes nothing.
  #fit(message: T, size: number, tokens: number, otherBytes: number, otherTokens: number): Shrunk<T> | undefined {
    const cfg = this.#cfg
    if (otherBytes + size <= cfg.maxBytes && otherTokens + tokens <= cfg.maxTokens) return undefined
    if (cfg.shrink === undefined) throw tooLarge(cfg, otherBytes + size, otherTokens + tokens)
    const smaller = cfg.shrink(message, { bytes: cfg.maxBytes - otherBytes, tokens: cfg.maxTokens - otherTokens }, (m) => ({
      bytes: measure(cfg.sizeOf, m, 'sizeOf'),
      tokens: measure(cfg.countTokens, m, 'countTokens'),
    }))
    const newSize = measure(cfg.sizeOf, smaller, 'sizeOf')
    const newTokens = measure(cfg.countTokens, smaller, 'countTokens')
    if (otherBytes + newSize > cfg.maxBytes || otherTokens + newTokens > cfg.maxTokens) {
      throw tooLarge(cfg, otherBytes + newSize, otherTokens + newTokens)
    }
    return { message: smaller, size: newSize, tokens: newTokens }
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

  #pushMany(messages: T[], extraFlags: number): void {
    const measured = this.#prepare(messages, () => extraFlags, false)
    const bytesBefore = this.#bytes
    this.#appendAll(messages, measured)
    this.#afterChange(bytesBefore)
  }

  // Measures, flags and fits every message before anything changes, replaying how the protected
  // set evolves message by message (from the current one, or from none for a new content).
  // Messages that `shrink` replaced are replaced in `messages`. Throws, changing nothing.
  #prepare(messages: T[], extraFlags: (index: number) => number, fromEmpty: boolean): Measured {
    const cfg = this.#cfg
    const n = messages.length
    const sizes = new Array<number>(n)
    const tokens = new Array<number>(n)
    const flags = new Array<number>(n)
    for (let i = 0; i < n; i++) {
      const message = messages[i] as T
      sizes[i] = measure(cfg.sizeOf, message, 'sizeOf')
      tokens[i] = measure(cfg.countTokens, message, 'countTokens')
      flags[i] = (cfg.flagged ? this.#flagsOf(message) : 0) | extraFlags(i)
    }
    if (cfg.maxBytes !== Infinity || cfg.maxTokens !== Infinity) {
      const protSizes: number[] = []
      const protTokens: number[] = []
      if (!fromEmpty) {
        for (const index of this.#protected) {
          const p = this.#slot(index)
          protSizes.push(this.#sizes[p] as number)
          protTokens.push(this.#tokenCounts[p] as number)
        }
      }
      let protBytes = fromEmpty ? 0 : this.#protectedBytes
      let protTokenSum = fromEmpty ? 0 : this.#protectedTokens
      for (let i = 0; i < n; i++) {
        const pinned = ((flags[i] as number) & PINNED) !== 0 && cfg.maxPinned > 0
        if (pinned && protSizes.length === cfg.maxPinned) {
          protBytes -= protSizes.shift() as number
          protTokenSum -= protTokens.shift() as number
        }
        const fitted = this.#fit(messages[i] as T, sizes[i] as number, tokens[i] as number, protBytes, protTokenSum)
        if (fitted !== undefined) {
          messages[i] = fitted.message
          sizes[i] = fitted.size
          tokens[i] = fitted.tokens
        }
        if (pinned) {
          protSizes.push(sizes[i] as number)
          protTokens.push(tokens[i] as number)
          protBytes += sizes[i] as number
          protTokenSum += tokens[i] as number
        }
      }
    }
    return { sizes, tokens, flags }
  }

  #appendAll(messages: T[], measured: Measured): void {
    for (let i = 0; i < messages.length; i++) {
      this.#append(messages[i] as T, measured.sizes[i] as number, measured.tokens[i] as number, measured.flags[i] as number)
    }
  }

  // Appends one measured message that is known to fit, trimming first what it pushes out.
  // Never throws.
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
    if (flags !== 0 && this.#flags === undefined) this.#flags = new Uint8Array(this.#buf.length)
    if (tokens > NARROW_TOKENS) this.#widenTokens()
    // The budgets this message takes over: trimming makes room before it goes in, exactly as if
    // it had gone in first (it is never the one trimmed).
    const overCount = this.#len >= cfg.max
    const overBytes = this.#bytes + size > cfg.maxBytes
    const overTokens = this.#tokens + tokens > cfg.maxTokens
    if (overCount || overBytes || overTokens) this.#trim(overCount, overBytes, overTokens, size, tokens)
    if (this.#len === this.#buf.length) this.#grow()
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
  }

  // Trims the oldest unprotected messages until every budget the incoming message exceeds is at
  // or below its target (trimTo × the budget), then, with startOn, on to the start of a turn.
  #trim(overCount: boolean, overBytes: boolean, overTokens: boolean, size: number, tokens: number): void {
    const cfg = this.#cfg
    let reason: TrimReason | undefined
    for (;;) {
      if (overCount && this.#len + 1 > cfg.countTarget) reason = 'count'
      else if (overBytes && this.#bytes + size > cfg.bytesTarget) reason = 'bytes'
      else if (overTokens && this.#tokens + tokens > cfg.tokensTarget) reason = 'tokens'
      else break
      const index = this.#firstUnprotected()
      // Only protected messages are left (the incoming one is kept): the targets cannot be met.
      if (index >= this.#len) break
      this.#trimOne(index, reason)
    }
    if (reason !== undefined && cfg.startOn !== undefined) {
      for (;;) {
        const index = this.#firstUnprotected()
        if (index >= this.#len || (this.#flagAt(index) & STARTS_TURN) !== 0) break
        this.#trimOne(index, reason)
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

  // Removes the unprotected message at `index` (the oldest one). The protected messages before
  // it move up one slot, so the ring stays contiguous: O(maxPinned), independent of the capacity.
  #trimOne(index: number, reason: TrimReason): void {
    const p = this.#slot(index)
    const message = this.#buf[p] as T
    const size = this.#sizes[p] as number
    const tokens = this.#tokenCounts[p] as number
    const flags = this.#flags
    const seqs = this.#seqs
    this.#bytes -= size
    this.#tokens -= tokens
    for (let k = index - 1; k >= 0; k--) {
      const from = this.#slot(k)
      const to = this.#slot(k + 1)
      this.#buf[to] = this.#buf[from]
      this.#sizes[to] = this.#sizes[from] as number
      this.#tokenCounts[to] = this.#tokenCounts[from] as number
      if (flags !== undefined) flags[to] = flags[from] as number
      if (seqs !== undefined) seqs[to] = seqs[from] as number
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
      if (last !== undefined && last.reason === reason && !this.#newStep) {
        last.messages.push(message)
        last.bytes += size
        last.tokens += tokens
      } else groups.push({ reason, messages: [message], bytes: size, tokens })
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
    if (this.#flags !== undefined || this.#cfg.flagged) this.#flags = moved(this.#flags ?? new Uint8Array(0), new Uint8Array(cap), head, end1, end2)
    if (this.#sequenced) {
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

  // From now on every message carries its push sequence number. Messages already here get
  // numbers below every later one (and below any checkpoint made from now on).
  #sequence(): void {
    if (this.#sequenced) return
    this.#sequenced = true
    if (this.#buf.length === 0) return
    const seqs = new Float64Array(this.#buf.length).fill(-1)
    for (let i = 0; i < this.#len; i++) seqs[this.#slot(i)] = this.#pushed - this.#len + i
    this.#seqs = seqs
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
          onTrim(group.messages, group.reason, { messages: group.messages.length, bytes: group.bytes, tokens: group.tokens })
        } catch (e) {
          if (!failed) {
            failed = true
            error = new TrimCallbackError(e)
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

  /** Iterates the messages, oldest first (as `Array#values`). */
  values(): IterableIterator<T> {
    return this[Symbol.iterator]()
  }

  /** Iterates the indexes, `0` to `length - 1` (as `Array#keys`). */
  *keys(): IterableIterator<number> {
    for (let i = 0; i < this.#len; i++) yield i
  }

  /** Iterates `[index, message]` pairs, oldest first (as `Array#entries`). */
  *entries(): IterableIterator<[number, T]> {
    for (let i = 0; i < this.#len; i++) yield [i, this.#buf[this.#slot(i)] as T]
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

  /** Like `Array.prototype.flatMap`, oldest first: arrays the callback returns are spread one level. */
  flatMap<U>(fn: (message: T, index: number, history: this) => U | ReadonlyArray<U>): U[] {
    const out: U[] = []
    for (let i = 0; i < this.#len; i++) {
      const result = fn(this.#buf[this.#slot(i)] as T, i, this)
      if (Array.isArray(result)) for (const item of result as ReadonlyArray<U>) out.push(item)
      else out.push(result as U)
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
    const i = this.findIndex(fn)
    return i < 0 ? undefined : this.#buf[this.#slot(i)]
  }

  /** Like `Array.prototype.findIndex`, oldest first. */
  findIndex(fn: (message: T, index: number, history: this) => unknown): number {
    for (let i = 0; i < this.#len; i++) if (fn(this.#buf[this.#slot(i)] as T, i, this)) return i
    return -1
  }

  /** Like `Array.prototype.findLast`, newest first. */
  findLast<S extends T>(fn: (message: T, index: number, history: this) => message is S): S | undefined
  findLast(fn: (message: T, index: number, history: this) => unknown): T | undefined
  findLast(fn: (message: T, index: number, history: this) => unknown): T | undefined {
    const i = this.findLastIndex(fn)
    return i < 0 ? undefined : this.#buf[this.#slot(i)]
  }

  /** Like `Array.prototype.findLastIndex`, newest first. */
  findLastIndex(fn: (message: T, index: number, history: this) => unknown): number {
    for (let i = this.#len - 1; i >= 0; i--) if (fn(this.#buf[this.#slot(i)] as T, i, this)) return i
    return -1
  }

  /** Like `Array.prototype.indexOf`: the first index of `message` (by `===`) from `fromIndex`, or -1. */
  indexOf(message: T, fromIndex?: number): number {
    for (let i = relativeIndex(fromIndex, 0, this.#len); i < this.#len; i++) if (this.#buf[this.#slot(i)] === message) return i
    return -1
  }

  /** Like `Array.prototype.lastIndexOf`: the last index of `message` (by `===`) at or before `fromIndex`, or -1. */
  lastIndexOf(message: T, fromIndex?: number): number {
    const n = this.#len
    let from = n - 1
    // As on arrays, a fromIndex passed as `undefined` counts (it means 0); only a missing one does not.
    if (arguments.length > 1) {
      const i = Math.trunc(fromIndex ?? 0) || 0
      from = i < 0 ? n + i : Math.min(i, n - 1)
    }
    for (let i = from; i >= 0; i--) if (this.#buf[this.#slot(i)] === message) return i
    return -1
  }

  /** Like `Array.prototype.includes` (SameValueZero: finds `NaN`). */
  includes(message: T, fromIndex?: number): boolean {
    for (let i = relativeIndex(fromIndex, 0, this.#len); i < this.#len; i++) {
      const m = this.#buf[this.#slot(i)]
      if (m === message || (m !== m && message !== message)) return true
    }
    return false
  }

  /** Like `Array.prototype.join`: the messages as strings, joined by `separator` (default `,`). */
  join(separator?: string): string {
    return this.slice().join(separator)
  }

  /**
   * Like `Array.prototype.concat`: a new array of the messages, then each item; arrays and
   * histories among the items are spread one level. (`[].concat(history)` does not spread a
   * history: use `[...history]` or `history.toArray()` there.)
   */
  concat(...items: (T | ConcatArray<T> | RingBufferHistory<T>)[]): T[] {
    const out = this.slice()
    for (const item of items) {
      if (Array.isArray(item) || item instanceof RingBufferHistory) for (const m of item as Iterable<T>) out.push(m)
      else out.push(item as T)
    }
    return out
  }

  /** Like `Array.prototype.toReversed`: a new array of the messages, newest first. */
  toReversed(): T[] {
    return this.slice().reverse()
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

  /** The messages as an array, so that `JSON.stringify(history)` writes them as one (pins are not written: see {@link RingBufferHistory.snapshot}). */
  toJSON(): T[] {
    return this.slice()
  }

  /** Removes every message and frees the storage. Not counted as trimming. */
  clear(): void {
    this.#withdrawAll()
    this.#removeNewest(this.#len)
  }

  // Removes the newest `count` messages (all of them frees the storage). Not trimming.
  #removeNewest(count: number): void {
    if (count < this.#len) {
      this.#dropNewest(count)
      return
    }
    const bytesBefore = this.#bytes
    this.#empty()
    this.#afterChange(bytesBefore)
  }

  #empty(): void {
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
    this.#cutSeq = -1
  }

  // Removes the newest `count` messages (fewer than the length). Not trimming.
  #dropNewest(count: number): void {
    const bytesBefore = this.#bytes
    for (let r = 0; r < count; r++) {
      const p = this.#slot(this.#len - 1)
      this.#bytes -= this.#sizes[p] as number
      this.#tokens -= this.#tokenCounts[p] as number
      this.#buf[p] = undefined
      this.#len--
    }
    this.#reprotect()
    this.#afterChange(bytesBefore)
  }

  #load(messages: unknown[], pinned: ReadonlySet<number>, evictedCount: number): void {
    const list = messages as T[]
    const measured = this.#prepare(list, (i) => (pinned.has(i) ? PINNED : 0), true)
    this.#evicted = evictedCount
    this.#appendAll(list, measured)
    this.#afterChange(0)
  }

  #copyFrom(source: RingBufferHistory<T>): void {
    if (source.#len === 0) {
      this.#evicted = source.#evicted
      this.#pushed = source.#pushed
      return
    }
    this.#buf = source.#buf.slice()
    this.#sizes = source.#sizes.slice()
    this.#tokenCounts = source.#tokenCounts.slice()
    this.#flags = source.#flags?.slice()
    this.#head = source.#head
    this.#len = source.#len
    this.#bytes = source.#bytes
    this.#tokens = source.#tokens
    this.#pushed = source.#pushed
    this.#evicted = source.#evicted
    this.#protected = source.#protected.slice()
    this.#protectedBytes = source.#protectedBytes
    this.#protectedTokens = source.#protectedTokens
  }

  /**
   * The messages to send to a model under a tighter budget, as a new array: every protected
   * pinned message, the newest message, and as many of the messages before it as fit the budget
   * (protected messages count toward it). If anything was left out, the oldest unprotected
   * message included starts a turn (`startOn`). The history itself is not changed.
   *
   * With `budget.trimTo` below 1 the window is cache-stable: its cut moves in steps rather than
   * on every call (see {@link HistoryBudget.trimTo} for what that costs).
   *
   * @param budget - limits for this window; a field left out is not limited
   * @throws {@link InvalidOptionsError} when `budget` is not an object, has an unknown field, or
   * a field is out of range
   * @example
   * ```ts
   * const messages = history.window({ maxMessages: 20, maxTokens: 100_000 })
   * const cached = history.window({ maxTokens: 100_000, trimTo: 0.5 }) // same prefix until it outgrows the budget
   * ```
   */
  window(budget?: HistoryBudget): T[] {
    const b = budgetOf(budget)
    if (this.#len === 0) return []
    if (b.trimTo === 1) return this.#windowFor(b.maxMessages, b.maxBytes, b.maxTokens, -1) as T[]
    this.#sequence()
    // The cut stays while the window from it fits; with no cut yet (or one trimmed away) the
    // window starts at the oldest message if everything fits.
    const seqs = this.#seqs as Float64Array
    const anchor = this.#cutSeq >= 0 ? this.#cutSeq : (seqs[this.#head] as number)
    const kept = this.#windowFor(b.maxMessages, b.maxBytes, b.maxTokens, anchor)
    if (kept !== undefined) {
      this.#cutSeq = anchor
      return kept
    }
    if (this.#cutSeq >= 0) {
      const whole = this.#windowFor(b.maxMessages, b.maxBytes, b.maxTokens, seqs[this.#head] as number)
      if (whole !== undefined) {
        this.#cutSeq = seqs[this.#head] as number
        return whole
      }
    }
    const t = b.trimTo
    return this.#windowFor(target(t, b.maxMessages), target(t, b.maxBytes), target(t, b.maxTokens), -1, true) as T[]
  }

  // The window under these limits. With `anchor` (a sequence number), the window that starts at
  // that message, or undefined when it is gone or what follows it no longer fits. With
  // `remember`, the sequence number of the window's first message becomes the anchor.
  #windowFor(maxMessages: number, maxBytes: number, maxTokens: number, anchor: number, remember = false): T[] | undefined {
    const n = this.#len
    const prot = this.#protected
    const seqs = this.#seqs
    const newest = n - 1
    let k = prot.length - 1
    const newestProtected = k >= 0 && prot[k] === newest
    if (newestProtected) k--
    const pn = this.#slot(newest)
    let count = prot.length + (newestProtected ? 0 : 1)
    let bytes = this.#protectedBytes + (newestProtected ? 0 : (this.#sizes[pn] as number))
    let tokens = this.#protectedTokens + (newestProtected ? 0 : (this.#tokenCounts[pn] as number))
    let cut = newest
    let found = anchor >= 0 && seqs !== undefined && seqs[pn] === anchor
    // Walk back from the newest while messages fit; protected ones are already counted.
    for (let i = newest - 1; i >= 0 && !found; i--) {
      const p = this.#slot(i)
      if (anchor >= 0 && seqs !== undefined && (seqs[p] as number) < anchor) return undefined
      if (k >= 0 && prot[k] === i) {
        k--
        cut = i
      } else {
        const b = this.#sizes[p] as number
        const t = this.#tokenCounts[p] as number
        if (count + 1 > maxMessages || bytes + b > maxBytes || tokens + t > maxTokens) {
          if (anchor >= 0) return undefined
          break
        }
        count++
        bytes += b
        tokens += t
        cut = i
      }
      if (anchor >= 0 && seqs !== undefined && seqs[p] === anchor) found = true
    }
    if (anchor >= 0 && !found) return undefined
    const leftOut = cut - (k + 1) > 0
    if (anchor < 0 && leftOut && this.#cfg.startOn !== undefined) {
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
    if (remember && seqs !== undefined) {
      // The window's first message, as sent: the protected messages right before the cut are in
      // it too, and stay in it when a newer pin displaces them.
      let first = cut
      let j = 0
      while (j < prot.length && (prot[j] as number) < cut) j++
      while (j > 0 && prot[j - 1] === first - 1) {
        j--
        first--
      }
      this.#cutSeq = seqs[this.#slot(first)] as number
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
    this.#sequence()
    const line = (this.#line ??= { next: undefined, rolledBackTo: Infinity })
    const checkpoint = Object.freeze({ position: this.#pushed })
    issued.set(checkpoint, { owner: this, line })
    return checkpoint as unknown as HistoryCheckpoint
  }

  /**
   * Removes the messages pushed after `checkpoint` that are still held. Messages trimmed since
   * the checkpoint cannot come back: a rollback never restores anything. Not counted as
   * trimming; `onTrim` is not called.
   *
   * A checkpoint stays valid until the history goes back to a point before it: a rollback to an
   * older checkpoint, or `length = n` removing a message that was already there when it was made.
   * `clear()` and `reset()` withdraw every checkpoint, and no checkpoint carries over to a copy
   * (`clone()`, `restore()`). A rollback to it, or to a later checkpoint, keeps it valid.
   * Positions do not count rolled-back pushes: after a rollback the next push takes the position
   * rolled back to, so a checkpoint made then is at that same position.
   *
   * @returns how many messages were removed
   * @throws {@link InvalidCheckpointError} for anything but a checkpoint this history made (a
   * copy of one is refused too), or one withdrawn by an earlier rollback
   */
  rollback(checkpoint: HistoryCheckpoint): number {
    const record = typeof checkpoint === 'object' && checkpoint !== null ? issued.get(checkpoint) : undefined
    if (record === undefined || record.owner !== this || !this.#isCurrent(record.line, checkpoint.position)) {
      throw new InvalidCheckpointError(checkpoint)
    }
    const position = checkpoint.position
    const seqs = this.#seqs
    let removed = 0
    while (seqs !== undefined && removed < this.#len && (seqs[this.#slot(this.#len - 1 - removed)] as number) >= position) removed++
    this.#rewind(position)
    if (removed > 0) this.#removeNewest(removed)
    return removed
  }

  // The history goes back to `position`: checkpoints made after it are withdrawn, and the next
  // push takes that position again (positions do not count rolled-back pushes).
  #rewind(position: number): void {
    if (this.#line !== undefined) this.#withdrawAfter(position)
    this.#pushed = position
    this.#copiedAt = -1
    // The cut's message is gone, and its sequence number will be given to another.
    if (this.#cutSeq >= position) this.#cutSeq = -1
  }

  // clear() and reset(): no checkpoint made before stays valid.
  #withdrawAll(): void {
    if (this.#line !== undefined) this.#withdrawAfter(-1)
  }

  #withdrawAfter(position: number): void {
    const current = this.#line as Line
    current.rolledBackTo = position
    current.next = this.#line = { next: undefined, rolledBackTo: Infinity }
  }

  #isCurrent(line: Line, position: number): boolean {
    for (let l: Line | undefined = line; l !== this.#line; l = l.next) {
      if (l === undefined || position > l.rolledBackTo) return false
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
    this.#protected = prot.length === 0 ? noIndexes : prot.reverse()
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

interface Shrunk<T> {
  message: T
  size: number
  tokens: number
}

interface Measured {
  sizes: number[]
  tokens: number[]
  flags: number[]
}

function tooLarge(cfg: { maxBytes: number; maxTokens: number }, bytes: number, tokens: number): MessageTooLargeError {
  return bytes > cfg.maxBytes ? new MessageTooLargeError('bytes', cfg.maxBytes, bytes) : new MessageTooLargeError('tokens', cfg.maxTokens, tokens)
}

// Reads and checks each field of a snapshot once.
function snapshotFields(snapshot: unknown): { messages: unknown[]; pinned: Set<number>; evictedCount: number } {
  if (snapshot === null || typeof snapshot !== 'object' || Array.isArray(snapshot)) {
    throw new InvalidSnapshotError('snapshot', snapshot, 'an object made by snapshot()')
  }
  const { version, messages, pinned, evictedCount } = snapshot as Record<string, unknown>
  if (version !== 1) throw new InvalidSnapshotError('version', version, '1')
  if (!Array.isArray(messages)) throw new InvalidSnapshotError('messages', messages, 'an array')
  if (!Array.isArray(pinned)) throw new InvalidSnapshotError('pinned', pinned, 'an array of indexes')
  const set = new Set<number>()
  let previous = -1
  for (const index of pinned as unknown[]) {
    if (!isNonNegativeInteger(index) || index <= previous || index >= messages.length) {
      throw new InvalidSnapshotError('pinned', pinned, `ascending indexes below ${messages.length}`)
    }
    set.add(index)
    previous = index
  }
  if (!isNonNegativeInteger(evictedCount)) throw new InvalidSnapshotError('evictedCount', evictedCount, 'a non-negative integer')
  return { messages: messages.slice(), pinned: set, evictedCount }
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
