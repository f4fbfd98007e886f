import { InvalidOptionsError } from '../errors.js'
import { checkOptions, fractionRule, functionRule, nonNegativeIntegerRule, positiveIntegerRule, type Rule } from '../validate.js'
import { defaultCountTokens, defaultSizeOf } from './measures.js'
import { trimTarget } from './budget.js'
import type { TokenCalibration } from './calibration.js'
import { CacheClock } from './cold-cache.js'
import type { GroupRule, MessageFormat } from '../message-format.js'
import type { ShrinkMessage, TrimReason, TrimSummary } from './types.js'

// The history's options: their documentation, their rules (a table of predicates, no zod: the
// history's bundle stays small), and the resolved configuration a history runs on.

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
   * The most tokens the history holds, as `countTokens` counts them, pinned messages included
   * (times the correction once `calibrate()` has learnt one: see
   * `inputBudget()` (from the package root) for a budget from a model's context window). A positive integer.
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
  /**
   * Ties messages together so that trimming and `window()` keep or drop them as one group:
   * called once per message, when it is pushed, it returns the message's
   * {@link MessageLinks} (the ids of the tool calls it makes, the ids of the calls it answers,
   * `withNext` to go with the next message), or `undefined` when it stands alone.
   *
   * A group runs from a call to its last result (parallel calls and results in later messages
   * included), and from a `withNext` message to the one after it. Trimming never leaves part of
   * a group at the start (it goes on to the next message that starts a group, as with
   * `startOn`, and both hold together), and no window starts inside one; the newest group may
   * be open at the end (calls in flight). A push of a result whose call the history does not
   * hold (never pushed, or trimmed since: a late result) throws {@link OrphanResultError} and
   * changes nothing.
   *
   * The `trimTo` target is a target, never a reason to cut into the newest group: under every
   * budget (`maxMessages`, `maxBytes`, `maxTokens`), trimming to the target stops at the start of
   * the newest group (the oldest call still unanswered, or the group the pushed message belongs
   * to; with `startOn`, the start of the turn it is in, or of the newest turn) while the budget
   * itself holds that much, so the history may stay above the target until the group is done.
   * Only a group that alone exceeds a budget is cut: at its start, as the newest message is
   * always kept (a push is not refused for it); `toArray()` then starts inside that group until
   * a message that starts another group comes, and its pending results are refused as late.
   * `window()` never starts inside a group: when its budget cannot hold the newest group whole,
   * it leaves that group out (fewer messages: the pinned ones, or none), and a window with
   * `trimTo` below 1 is cut under its full budget when meeting its target would leave out the
   * newest group or turn. Pinned messages are kept on their own: pin messages that stand alone
   * (instructions), not calls.
   *
   * @defaultValue the format's `group`, else none: messages stand alone
   */
  group?: GroupRule<T> | undefined
  /**
   * Told of every message `shrink` replaced, once the push has taken effect: the message as it
   * was given and the message stored instead (say, to log or meter what was cut). One call per
   * shrunk message, after `onTrim`'s. If it throws, the push has still taken effect: every call
   * is made, then `push` throws {@link TrimCallbackError} with the first error as its `cause`.
   *
   * @defaultValue none
   */
  onShrink?: ((original: T, shrunk: T) => void) | undefined
  /**
   * A provider's or framework's message shape ({@link MessageFormat}; `bounded-session/formats`
   * has one per SDK): supplies `sizeOf`, `countTokens`, `group`, `startOn`, `pin` and `shrink`.
   * An option given explicitly overrides the format's.
   *
   * @defaultValue none
   */
  format?: MessageFormat<T> | undefined
  /**
   * Provider tokens every request carries beside the history (system prompt, tool definitions):
   * a finite number from 0 up. `calibrate()` takes it off each reported
   * count, so that it does not inflate the correction. Not counted in `tokens` or against
   * `maxTokens` (give `inputBudget()` the same number to keep it out of the budget).
   *
   * @defaultValue 0
   */
  overheadTokens?: number | undefined
  /**
   * How long the provider's prompt cache lives after a request, in ms: a positive finite number
   * (`300_000` for Anthropic's 5-minute cache). When the previous push is more than this old, the
   * cache has expired and the next request pays the full write whatever it sends: that push
   * trims the history down to `trimTo ×` (or `coldTrimTo ×`) every budget it is above (exceeded
   * or not), before its first message goes in, in whole turns; `onTrim` gets
   * `summary.cold === true`. A trim made then is free, and it postpones the next trim, which
   * would break a warm cache. No effect with `trimTo: 1` unless `coldTrimTo` is given.
   *
   * @defaultValue no cold trims
   */
  cacheTtlMs?: number | undefined
  /**
   * How far a cold trim (`cacheTtlMs`) goes: a fraction from 0 to 1 of each budget. A push that
   * finds the cache cold trims every budget the history would be above `min(coldTrimTo, trimTo) ×`
   * of down to that, by the same rules as `trimTo` (whole turns and groups, the newest kept).
   * Below `trimTo` it trims deeper when the trim is free: on traffic with pauses longer than the
   * cache's life, `coldTrimTo: 0.1` with `trimTo: 0.5` bills 11% less than `trimTo: 0.5` alone at
   * 0.96× its mean context (the claude-mem traffic of `npm run bench -- --only=cache`), where
   * cold trims to `trimTo` save 2%. No effect without `cacheTtlMs`.
   *
   * @defaultValue `trimTo`
   */
  coldTrimTo?: number | undefined
  /**
   * The clock for `cacheTtlMs`, in ms (inject one in tests). Read once per push, and only with
   * `cacheTtlMs`; a reading that is not a finite number makes the push throw
   * `InvalidClockError` (`ERR_INVALID_CLOCK`), changing nothing.
   *
   * @defaultValue `Date.now`
   */
  now?: (() => number) | undefined
}

const finiteNonNegativeRule: Rule = { test: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0, expected: 'a finite number from 0 up' }
const positiveMsRule: Rule = { test: (v) => typeof v === 'number' && Number.isFinite(v) && v > 0, expected: 'a positive finite number of ms' }

// One rule per option, in the order they are checked.
const rules = {
  maxMessages: positiveIntegerRule,
  maxBytes: positiveIntegerRule,
  maxTokens: positiveIntegerRule,
  sizeOf: functionRule,
  countTokens: functionRule,
  pin: functionRule,
  maxPinned: nonNegativeIntegerRule,
  startOn: functionRule,
  onTrim: functionRule,
  trimTo: fractionRule,
  shrink: functionRule,
  overheadTokens: finiteNonNegativeRule,
  cacheTtlMs: positiveMsRule,
  coldTrimTo: fractionRule,
  now: functionRule,
  group: functionRule,
  onShrink: functionRule,
  format: { test: (v) => typeof v === 'object' && v !== null && typeof (v as MessageFormat<unknown>).sizeOf === 'function', expected: 'a message format (an object with sizeOf, countTokens, group, shrink)' },
} satisfies Record<keyof RingBufferHistoryOptions<unknown>, Rule>

/**
 * The options, resolved. One object per history made with options; histories made without
 * share one, so their instances hold only their state.
 */
export interface Config<T> {
  /** The checked options, for clone(). */
  readonly options: RingBufferHistoryOptions<T> | undefined
  readonly max: number
  readonly maxBytes: number
  readonly maxTokens: number
  readonly maxPinned: number
  /** What a trim goes down to: floor(trimTo × budget). */
  readonly countTarget: number
  readonly bytesTarget: number
  readonly tokensTarget: number
  /** What a cold trim (cacheTtlMs) goes down to: floor(min(coldTrimTo, trimTo) × budget). */
  readonly coldCountTarget: number
  readonly coldBytesTarget: number
  readonly coldTokensTarget: number
  readonly sizeOf: (message: T) => number
  readonly countTokens: (message: T) => number
  readonly pin: ((message: T) => boolean) | undefined
  readonly startOn: ((message: T) => boolean) | undefined
  readonly onTrim: ((trimmed: T[], reason: TrimReason, summary: TrimSummary) => void) | undefined
  readonly shrink: ShrinkMessage<T> | undefined
  readonly group: GroupRule<T> | undefined
  readonly onShrink: ((original: T, shrunk: T) => void) | undefined
  /** Both measures are the defaults: they cannot return an invalid number. */
  readonly defaultMeasures: boolean
  /** No pin, startOn or onTrim, default measures, a sliding window: push can take the shortest path. */
  readonly fast: boolean
  /** pin or startOn is set: every message carries flags. */
  readonly flagged: boolean
  readonly trimTo: number
  /** min(coldTrimTo, trimTo): the fraction of a cold trim. */
  readonly coldTrimTo: number
  /**
   * maxTokens as given. `maxTokens` and `tokensTarget` above are in estimated tokens: divided by
   * the correction once the history is calibrated.
   */
  readonly declaredMaxTokens: number
  readonly overheadTokens: number
  /** Set by calibrate() (calibratedConfig in calibration.ts): each calibrated history has its own config. */
  readonly calibration: TokenCalibration | undefined
  /** With cacheTtlMs (the history's own config). */
  readonly clock: CacheClock | undefined
}

let defaultConfig: Config<unknown> | undefined

/**
 * Checks `options` (each read once) and resolves them.
 *
 * @throws {@link InvalidOptionsError} when an option is invalid or unknown
 */
export function configOf<T>(options: RingBufferHistoryOptions<T> | undefined): Config<T> {
  if (options === undefined) return (defaultConfig ??= resolve<unknown>(undefined)) as Config<T>
  return resolve(options)
}

function resolve<T>(options: RingBufferHistoryOptions<T> | undefined): Config<T> {
  const o = checkOptions(options, rules) as RingBufferHistoryOptions<T>
  const max = o.maxMessages ?? 50
  const maxPinned = o.maxPinned ?? Math.min(1, max - 1)
  if (maxPinned >= max) {
    throw new InvalidOptionsError('maxPinned', maxPinned, `a non-negative integer smaller than \`maxMessages\` (${max})`)
  }
  const f = o.format
  // The option, else the format's function of that name, bound to it (a format may be a class instance).
  const pick = <K extends 'sizeOf' | 'countTokens' | 'group' | 'startOn' | 'pin' | 'shrink'>(key: K): RingBufferHistoryOptions<T>[K] => {
    if (o[key] !== undefined) return o[key]
    const fn = f?.[key] as ((...args: never[]) => unknown) | undefined
    return (typeof fn === 'function' ? fn.bind(f) : undefined) as RingBufferHistoryOptions<T>[K]
  }
  const sizeOf = pick('sizeOf') ?? defaultSizeOf
  const countTokens = pick('countTokens') ?? defaultCountTokens
  const pin = pick('pin')
  const startOn = pick('startOn')
  const shrink = pick('shrink')
  const group = pick('group')
  const { onTrim, onShrink } = o
  const trimTo = o.trimTo ?? 1
  const coldTrimTo = Math.min(o.coldTrimTo ?? trimTo, trimTo)
  const maxBytes = o.maxBytes ?? Infinity
  const maxTokens = o.maxTokens ?? Infinity
  const defaultMeasures = sizeOf === defaultSizeOf && countTokens === defaultCountTokens
  const flagged = pin !== undefined || startOn !== undefined || group !== undefined
  const clock = o.cacheTtlMs === undefined ? undefined : new CacheClock(o.cacheTtlMs, o.now ?? (() => Date.now()))
  return {
    options: options === undefined ? undefined : o,
    max,
    maxBytes,
    maxTokens,
    maxPinned,
    countTarget: trimTarget(trimTo, max),
    bytesTarget: trimTarget(trimTo, maxBytes),
    tokensTarget: trimTarget(trimTo, maxTokens),
    coldCountTarget: trimTarget(coldTrimTo, max),
    coldBytesTarget: trimTarget(coldTrimTo, maxBytes),
    coldTokensTarget: trimTarget(coldTrimTo, maxTokens),
    sizeOf,
    countTokens,
    pin,
    startOn,
    onTrim,
    shrink,
    group,
    onShrink,
    defaultMeasures,
    flagged,
    fast: !flagged && onTrim === undefined && defaultMeasures && trimTo === 1 && clock === undefined,
    trimTo,
    coldTrimTo,
    declaredMaxTokens: maxTokens,
    overheadTokens: o.overheadTokens ?? 0,
    calibration: undefined,
    clock,
  }
}
