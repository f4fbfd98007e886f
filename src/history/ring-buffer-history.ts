import { InvalidArgumentError } from '../errors.js'
import { type HistoryWatcher, watchKey } from '../history-watch.js'
import { isNonNegativeInteger } from '../validate.js'
import { budgetOf } from './budget.js'
import { type CalibrationResult, calibratedBudget, estimateOfSent, recalibrated, withCalibration } from './calibration.js'
import { fitsBudgets } from './fits.js'
import { MESSAGE_OBJECT_BYTES, measured, measureDefault, STRING_HEADER_BYTES } from './measures.js'
import { type Config, configOf, type RingBufferHistoryOptions } from './options.js'
import { HistoryReaders } from './readers.js'
import { NARROW_TOKENS, PINNED, Ring } from './ring.js'
import { snapshotFields, snapshotOf } from './snapshot.js'
import type { HistoryBudget, HistoryCheckpoint, HistorySnapshot } from './types.js'
import type { HistoryView } from './view.js'
import { windowOf } from './window.js'
import { HistoryWriter } from './writer.js'

// The public class: the API, and the fast push inline. What it holds, each behind its own seam:
// - #cfg: the options, resolved (options.ts); replaced by a calibrated copy (calibration.ts)
//   when calibrate() moves the token correction, so that the push paths compare estimates;
// - #ring: the storage, its counters and the protected set (ring.ts);
// - #writer: every other change, the general push path, checkpoints and the watchers (writer.ts),
//   over the trimming engine (trim.ts). Callbacks (watchers, onTrim, onShrink) run in
//   #writer.afterChange, once the ring is consistent;
// - #watchers: the writer's list, kept here too so the fast push checks one field of its own.

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
 * A reader's callback (`map`, `find`, `forEach`, …) sees the history as it is when it is called;
 * one that pushes or trims changes what later calls see, as on an array, and `find`/`findLast`
 * return the message the predicate was given.
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
export class RingBufferHistory<T> extends HistoryReaders<T> implements HistoryView<T> {
  #cfg: Config<T>
  readonly #ring: Ring<T>
  readonly #writer: HistoryWriter<T>
  // The writer's watchers, read here by the fast push: set only in [watchKey], beside the writer's.
  #watchers: HistoryWatcher[] | undefined

  /**
   * @param options - budgets and callbacks, see {@link RingBufferHistoryOptions}. Read once:
   * each option is read a single time and checked, and later changes to the object are not seen.
   * @throws {@link InvalidOptionsError} when an option is invalid or unknown
   */
  constructor(options?: RingBufferHistoryOptions<T>) {
    const cfg = configOf(options)
    const ring = new Ring<T>(cfg.max, cfg.maxPinned, cfg.flagged)
    super(ring)
    this.#cfg = cfg
    this.#ring = ring
    this.#writer = new HistoryWriter(ring, cfg)
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
    const fields = snapshotFields(snapshot)
    const history: RingBufferHistory<T> = new this(options)
    // The correction first, so that a tighter budget trims by it.
    if (fields.calibration !== undefined) history.#setConfig(withCalibration(history.#cfg, fields.calibration))
    history.#writer.restore(fields)
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
    return this.#ring.len
  }

  set length(value: number) {
    if (!isNonNegativeInteger(value)) throw new InvalidArgumentError('length', value, 'a non-negative integer')
    this.#writer.truncate(value)
  }

  /** The most messages it can hold: `maxMessages`. */
  get capacity(): number {
    return this.#cfg.max
  }

  /** The bytes of the messages it holds, as `sizeOf` counted them. */
  get bytes(): number {
    return this.#ring.bytes
  }

  /**
   * The tokens of the messages it holds, as `countTokens` counted them, times the correction once
   * {@link RingBufferHistory.calibrate} has learnt one (rounded up): the count `maxTokens` is
   * checked against.
   */
  get tokens(): number {
    const calibration = this.#cfg.calibration
    return calibration === undefined ? this.#ring.tokens : Math.ceil(this.#ring.tokens * calibration.correction)
  }

  /**
   * How many messages have been trimmed since the history was made: by pushes, and by `reset`,
   * `restore` or `from` when their messages exceed the budgets. Messages removed by `clear`,
   * replaced by `reset`, or taken back by `rollback` or `length = n` do not count.
   */
  get evictedCount(): number {
    return this.#ring.evicted
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
    if (messages.length === 1 && this.#cfg.fast) this.#pushFast(messages[0] as T)
    else this.#push(messages, 0)
    return this.#ring.len
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
    this.#push(messages, PINNED)
    return this.#ring.len
  }

  // The general push path, for messages with these flags.
  #push(messages: T[], flags: number): void {
    if (messages.length === 0) return
    if (this.#cfg.clock !== undefined) this.#writer.pushTimed(messages, flags)
    else if (messages.length === 1) this.#writer.pushOne(messages[0] as T, flags)
    else this.#writer.pushMany(messages, flags)
  }

  /**
   * Replaces the whole content with `messages` (trimmed as pushes would trim them), keeping the
   * options, `evictedCount` and any session store that weighs the history. The call for hosts that
   * reassign `session.conversationHistory = [initPrompt]`. All or nothing, as `push`.
   *
   * What it keeps: a message the history holds pinned (by `pin` or `pushPinned`) that is given
   * again (the same object, or an equal string) stays pinned, so `reset([initPrompt])` after
   * `pushPinned(initPrompt)` keeps the prompt protected; other messages are pinned by `pin` only.
   * Every checkpoint is withdrawn (a rollback to one throws), and the stable window's cut is
   * forgotten.
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
    this.#writer.reset(Array.from(messages))
    return this.#ring.len
  }

  /**
   * An independent copy: the same messages, pins, counters and options, made by the class's own
   * constructor (called with the history's options). Checkpoints of this history are not valid
   * on the copy, and no session store weighs it. Use this rather than `structuredClone`, which
   * returns `{}` for class instances.
   */
  clone(): this {
    const Class = this.constructor as new (options?: RingBufferHistoryOptions<T>) => this
    // With groups, the copy reads its messages' links again, as restore() does.
    if (this.#writer.groups !== undefined) return (Class as unknown as typeof RingBufferHistory).restore<T>(this.snapshot(), this.#cfg.options) as this
    const copy = new Class(this.#cfg.options)
    const other = copy as RingBufferHistory<T>
    other.#writer.copyFrom(this.#writer)
    const calibration = this.#cfg.calibration
    if (calibration !== undefined) other.#setConfig(withCalibration(other.#cfg, calibration.state()))
    return copy
  }

  /**
   * The messages, which of them are pinned, and the counters, as plain data (JSON-safe when the
   * messages are): what {@link RingBufferHistory.restore} needs to give back exactly this
   * history, pins included. `toJSON()` writes the messages only.
   */
  snapshot(): HistorySnapshot<T> {
    return snapshotOf(this.#ring, this.#cfg.calibration)
  }

  /**
   * Learns how the provider counts, from what it reported for the request just made: from then
   * on `tokens`, the `maxTokens` check of every push, `window({ maxTokens })` and `fits()` count
   * `countTokens`' estimate times a correction, in provider tokens. Each message keeps the
   * estimate it was measured with; only the correction moves. A calibrated budget keeps a
   * safety margin ({@link RingBufferHistory.tokenMargin}, 3% to 25%, following how far the readings
   * move): the history holds at most `maxTokens / (1 + tokenMargin)` by that
   * count, against the drift of the messages pushed and trimmed before the next reading. Nothing
   * is trimmed here: a history the new correction puts over that trims at its next push (`fits()`
   * already answers with it).
   *
   * The reading is `(reportedInputTokens - overheadTokens) / the estimate of the messages sent`.
   * A reading above the correction is taken at once (the budget never counts less than was just
   * measured), one below moves it half way; the correction stays in [0.5, 4]. Not used: requests
   * estimated below 256 tokens or whose count is not above the overhead (`'tooSmall'`), and, once,
   * a reading more than 2× away from the correction (`'outlier'`; a second one on the same side
   * is taken as it is: the content has changed). The correction lasts through `clear()` and
   * `reset()`; `snapshot()`, `restore()` and `clone()` carry it.
   *
   * @param reportedInputTokens - the provider's input count of the request (`usage.input_tokens`,
   * `usage.prompt_tokens`, `usageMetadata.promptTokenCount`), overhead included
   * @param sent - the messages the request carried when they were not the whole history: a
   * `window()` result (found in the history by identity, in order). Calibrate before pushing the
   * reply, while they are all held.
   * @returns what was done with the reading, and the correction now in effect
   * @throws {@link InvalidArgumentError} when `reportedInputTokens` is not a finite number from 0
   * up or is more than 32× away from the estimate (overhead taken off): not a count of these
   * messages; or when `sent` holds a message this history does not hold (in that order).
   * Nothing is changed.
   * @example
   * ```ts
   * const messages = history.window({ maxTokens: 150_000 })
   * const response = await client.messages.create({ model, system, messages, max_tokens: 8_000 })
   * history.calibrate(response.usage.input_tokens, messages)
   * history.push({ role: 'assistant', content: response.content })
   * ```
   */
  calibrate(reportedInputTokens: number, sent?: readonly T[]): CalibrationResult {
    const estimated = sent === undefined ? this.#ring.tokens : estimateOfSent(this.#ring, sent)
    const { result, cfg } = recalibrated(this.#cfg, reportedInputTokens, estimated)
    if (cfg !== this.#cfg) this.#setConfig(cfg)
    return result
  }

  /**
   * The safety margin of the calibrated token budget: the history holds at most
   * `maxTokens / (tokenCorrection × (1 + tokenMargin))` estimated tokens. 0 until
   * {@link RingBufferHistory.calibrate} applies a reading, then in [0.03, 0.25]: it widens to how
   * far a reading moved the correction and shrinks back (by a tenth per reading) towards 0.03 as readings agree
   * (`TokenCalibration.margin`).
   */
  get tokenMargin(): number {
    return this.#cfg.calibration?.margin ?? 0
  }

  /** The token correction in effect: provider tokens per estimated token (1 until {@link RingBufferHistory.calibrate} learns one). */
  get tokenCorrection(): number {
    return this.#cfg.calibration?.correction ?? 1
  }

  /**
   * Whether pushing `messages` would keep the history within every budget (`maxMessages`,
   * `maxBytes`, `maxTokens`, calibrated) without trimming anything; with none, whether it is
   * within them now. Changes nothing. For a host that must act before the request that would
   * cross its budget is paid, such as retiring a generation.
   *
   * @throws {@link InvalidMeasurementError} when `sizeOf` or `countTokens` returns an invalid
   * number; an error thrown by one of them is passed on as it is
   * @example
   * ```ts
   * if (!history.fits(observation)) {
   *   await retireGeneration() // abort the provider's session; the next one starts fresh
   *   history.reset([initPrompt])
   * }
   * history.push(observation)
   * ```
   */
  fits(...messages: T[]): boolean {
    return fitsBudgets(this.#ring, this.#cfg, messages)
  }

  // The one place the config changes (calibrate, restore, clone); the writer's trimmer follows.
  #setConfig(cfg: Config<T>): void {
    this.#cfg = cfg
    this.#writer.trimmer.cfg = cfg
  }

  // The hot path: a history without pin, startOn or onTrim, with the default measures and
  // trimTo 1 (cfg.fast). Nothing is protected, so once the storage is fully grown and carries no
  // flags or positions (ring.plain), a full ring overwrites its oldest slot in place and the
  // budgets drop messages from the front. Anything else takes the general path.
  #pushFast(message: T): void {
    const cfg = this.#cfg
    const ring = this.#ring
    let size: number
    let tokens: number
    const content = typeof message === 'object' && message !== null ? (message as { content?: unknown }).content : undefined
    if (typeof content === 'string' && content.length > 0) {
      // The string case, inline: what measureDefault counts for it.
      size = MESSAGE_OBJECT_BYTES + STRING_HEADER_BYTES + 2 * content.length
      // Math.ceil(n / 4), for a length far below 2^31.
      tokens = (content.length + 3) >>> 2
    } else {
      measureDefault(message)
      size = measured.bytes
      tokens = measured.tokens
    }
    // The one guard, after measuring: reading `content` may have changed the history.
    if (!ring.plain || size > cfg.maxBytes || tokens > cfg.maxTokens || tokens > NARROW_TOKENS) {
      this.#writer.pushMeasured(message, size, tokens, 0)
      return
    }
    const bytesBefore = ring.bytes
    const { buf, sizes, counts } = ring
    const cap = buf.length
    let head = ring.head
    let len = ring.len
    let bytes = bytesBefore + size
    let tokenSum = ring.tokens + tokens
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
    while (bytes > cfg.maxBytes || tokenSum > cfg.maxTokens) {
      bytes -= sizes[head] as number
      tokenSum -= counts[head] as number
      buf[head] = undefined
      if (++head === cap) head = 0
      len--
      evicted++
    }
    ring.head = head
    ring.len = len
    ring.bytes = bytes
    ring.tokens = tokenSum
    ring.pushed++
    ring.evicted += evicted
    if (this.#watchers !== undefined) this.#writer.afterChange(bytesBefore)
  }

  /** Removes every message and frees the storage. Not counted as trimming. */
  clear(): void {
    this.#writer.clear()
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
    return windowOf(this.#ring, calibratedBudget(budgetOf(budget), this.#cfg.calibration), this.#cfg.startOn !== undefined, this.#writer.groups !== undefined)
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
    return this.#writer.checkpoint()
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
    return this.#writer.rollback(checkpoint)
  }

  /** @internal Lets a session store follow this history's size. */
  [watchKey](watcher: HistoryWatcher, subscribe: boolean): void {
    this.#writer.watch(watcher, subscribe)
    this.#watchers = this.#writer.watchers
  }
}
