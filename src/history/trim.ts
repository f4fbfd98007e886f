import { MessageTooLargeError } from '../errors.js'
import type { CacheClock } from './cold-cache.js'
import { budgetFactor } from './calibration.js'
import { checkedMeasure } from './measures.js'
import type { Config } from './options.js'
import type { MessageLinks } from '../message-format.js'
import type { Groups } from './groups.js'
import { PINNED, type Ring, STARTS_TURN, TIED } from './ring.js'
import type { HistoryMeasure, TrimReason } from './types.js'

// The trimming engine: measures and fits messages before anything changes (all or nothing), then
// appends them, trimming first what each pushes out. The rules: a push trims the oldest
// unprotected messages until every budget the new message exceeds is at or below trimTo × that
// budget (config.*Target), then, with startOn, on to the start of a turn; the protected messages
// (the newest maxPinned pinned ones) and the new message are never trimmed. With group, the
// target never cuts into the newest group: trimming to it stops at that group's start while the
// budgets themselves hold (only a group over a budget alone is cut, at its start). The same rules
// run in Lua for bounded-session/redis (src/redis/lua/push-4.lua, group included), with the
// targets from budget.ts; the Redis model test checks the two against each other.

/** What one onTrim call reports. */
export interface TrimGroup<T> {
  reason: TrimReason
  /** A cold trim (cacheTtlMs) rather than one for an exceeded budget. */
  cold: boolean
  messages: T[]
  bytes: number
  tokens: number
}

/** Messages measured, flagged and fitted by {@link Trimmer.prepare}. */
export interface Measured<T> {
  sizes: number[]
  tokens: number[]
  flags: number[]
  /** What `group` returned for each (none without a group rule). */
  links: (MessageLinks | undefined)[] | undefined
  /** The messages `shrink` replaced, with what replaced them, for onShrink. */
  shrunk: [original: T, shrunk: T][] | undefined
}

interface Shrunk<T> {
  message: T
  size: number
  tokens: number
}

/** Appends to one history's ring under its configuration, and collects the trims for onTrim. */
export class Trimmer<T> {
  #groups: TrimGroup<T>[] | undefined
  #shrunk: [T, T][] | undefined
  // Set at each appended message, so its trims are reported apart from the previous one's.
  #newStep = false
  // The reason of the last trim, for what is left of a group it cut.
  #lastReason: TrimReason = 'count'

  constructor(
    readonly ring: Ring<T>,
    /** Replaced, with the history's, by a calibrated copy when calibrate() moves the correction. */
    public cfg: Config<T>,
    readonly groups: Groups<T> | undefined,
  ) {}

  /** A message `shrink` replaced, once it is in the history, for onShrink. */
  noteShrunk(original: T, shrunk: T): void {
    if (this.cfg.onShrink !== undefined) (this.#shrunk ??= []).push([original, shrunk])
  }

  /** The shrinks since the last call, for onShrink (undefined: none). */
  takeShrunk(): [original: T, shrunk: T][] | undefined {
    const shrunk = this.#shrunk
    this.#shrunk = undefined
    return shrunk
  }

  /** The trims since the last call, for onTrim (undefined: none). */
  takeGroups(): TrimGroup<T>[] | undefined {
    const groups = this.#groups
    this.#groups = undefined
    return groups
  }

  /** Whether there is anything to report (trims for onTrim, shrinks for onShrink). */
  get hasGroups(): boolean {
    return this.#groups !== undefined || this.#shrunk !== undefined
  }

  /** The flags `pin` and `startOn` give a message. */
  flagsOf(message: T): number {
    const cfg = this.cfg
    let flags = 0
    if (cfg.pin !== undefined && cfg.pin(message)) flags |= PINNED
    if (cfg.startOn !== undefined && cfg.startOn(message)) flags |= STARTS_TURN
    return flags
  }

  /**
   * Makes sure one measured message fits beside what stays protected (shrinking it if it must
   * and may): returns the message to store with its measures. Throws, changing nothing.
   */
  fitOne(message: T, size: number, tokens: number, flags: number): Shrunk<T> | undefined {
    const cfg = this.cfg
    if (cfg.maxBytes === Infinity && cfg.maxTokens === Infinity) return undefined
    const ring = this.ring
    // What stays protected beside it (a pinned one displaces the oldest protected message when
    // the protected set is full).
    let otherBytes = ring.protBytes
    let otherTokens = ring.protTokens
    if ((flags & PINNED) !== 0 && cfg.maxPinned > 0 && ring.prot.length >= cfg.maxPinned) {
      const oldest = ring.slot(ring.prot[0] as number)
      otherBytes -= ring.sizes[oldest] as number
      otherTokens -= ring.counts[oldest] as number
    }
    return this.#fit(message, size, tokens, otherBytes, otherTokens)
  }

  // Checks that a message fits beside `otherBytes`/`otherTokens` of protected messages. Returns
  // undefined when it fits as it is, the shrunk message when `shrink` made it fit; throws
  // MessageTooLargeError otherwise. Changes nothing.
  #fit(message: T, size: number, tokens: number, otherBytes: number, otherTokens: number): Shrunk<T> | undefined {
    const cfg = this.cfg
    if (otherBytes + size <= cfg.maxBytes && otherTokens + tokens <= cfg.maxTokens) return undefined
    if (cfg.shrink === undefined) throw tooLarge(cfg, otherBytes + size, otherTokens + tokens)
    // The history's measures, as shrink is given them and as its result is measured.
    const measure = (m: T): HistoryMeasure => ({
      bytes: checkedMeasure(cfg.sizeOf, m, 'sizeOf'),
      tokens: checkedMeasure(cfg.countTokens, m, 'countTokens'),
    })
    const smaller = cfg.shrink(message, { bytes: cfg.maxBytes - otherBytes, tokens: cfg.maxTokens - otherTokens }, measure)
    const { bytes: newSize, tokens: newTokens } = measure(smaller)
    if (otherBytes + newSize > cfg.maxBytes || otherTokens + newTokens > cfg.maxTokens) {
      throw tooLarge(cfg, otherBytes + newSize, otherTokens + newTokens)
    }
    return { message: smaller, size: newSize, tokens: newTokens }
  }

  /**
   * Measures, flags and fits every message before anything changes, replaying how the protected
   * set evolves message by message (from the current one, or from none for a new content).
   * Messages that `shrink` replaced are replaced in `messages`. Throws, changing nothing.
   */
  prepare(messages: T[], extraFlags: (index: number) => number, fromEmpty: boolean, cutStart = false): Measured<T> {
    const cfg = this.cfg
    const ring = this.ring
    const n = messages.length
    const sizes = new Array<number>(n)
    const tokens = new Array<number>(n)
    const flags = new Array<number>(n)
    const links = this.groups?.read(messages, fromEmpty, cutStart)
    let shrunk: [T, T][] | undefined
    for (let i = 0; i < n; i++) {
      const message = messages[i] as T
      sizes[i] = checkedMeasure(cfg.sizeOf, message, 'sizeOf')
      tokens[i] = checkedMeasure(cfg.countTokens, message, 'countTokens')
      flags[i] = (cfg.flagged ? this.flagsOf(message) : 0) | extraFlags(i)
    }
    if (cfg.maxBytes !== Infinity || cfg.maxTokens !== Infinity) {
      // The protected messages' measures, oldest first, as they are when each message comes.
      const prot = fromEmpty ? [] : ring.prot.map((index) => [ring.sizes[ring.slot(index)] as number, ring.counts[ring.slot(index)] as number])
      let protBytes = fromEmpty ? 0 : ring.protBytes
      let protTokens = fromEmpty ? 0 : ring.protTokens
      for (let i = 0; i < n; i++) {
        const pinned = ((flags[i] as number) & PINNED) !== 0 && cfg.maxPinned > 0
        if (pinned && prot.length === cfg.maxPinned) {
          const [b, t] = prot.shift() as number[]
          protBytes -= b as number
          protTokens -= t as number
        }
        const fitted = this.#fit(messages[i] as T, sizes[i] as number, tokens[i] as number, protBytes, protTokens)
        if (fitted !== undefined) {
          // (Passed on to noteShrunk, which keeps them only for onShrink.)
          ;(shrunk ??= []).push([messages[i] as T, fitted.message])
          messages[i] = fitted.message
          sizes[i] = fitted.size
          tokens[i] = fitted.tokens
        }
        if (pinned) {
          prot.push([sizes[i] as number, tokens[i] as number])
          protBytes += sizes[i] as number
          protTokens += tokens[i] as number
        }
      }
    }
    return { sizes, tokens, flags, links, shrunk }
  }

  /** Appends messages that {@link Trimmer.prepare} measured. Never throws. */
  appendAll(messages: T[], measured: Measured<T>): void {
    if (measured.shrunk !== undefined) for (const [original, shrunk] of measured.shrunk) this.noteShrunk(original, shrunk)
    for (let i = 0; i < messages.length; i++) {
      this.append(messages[i] as T, measured.sizes[i] as number, measured.tokens[i] as number, measured.flags[i] as number, measured.links?.[i])
    }
  }

  /** Appends one measured message that is known to fit, trimming first what it pushes out. Never throws. */
  append(message: T, size: number, tokens: number, flags: number, links?: MessageLinks): void {
    const cfg = this.cfg
    const ring = this.ring
    this.#newStep = true
    if (this.groups !== undefined) flags |= this.groups.tie(links)
    if ((flags & PINNED) !== 0 && cfg.maxPinned > 0) ring.protectNext(size, tokens)
    // The budgets this message takes over: trimming makes room before it goes in, exactly as if
    // it had gone in first (it is never the one trimmed).
    let overCount = ring.len >= cfg.max
    let overBytes = ring.bytes + size > cfg.maxBytes
    let overTokens = ring.tokens + tokens > cfg.maxTokens
    const over = overCount || overBytes || overTokens
    const cold = cfg.clock !== undefined && cfg.clock.coldPush
    if (cold) {
      // The first message of a push that found the prompt cache cold (cacheTtlMs): every budget
      // the history would be above min(coldTrimTo, trimTo) × of is trimmed down to that, exceeded
      // or not, by the same rules as a push over the budget.
      ;(cfg.clock as CacheClock).coldPush = false
      overCount = ring.len + 1 > cfg.coldCountTarget
      overBytes = ring.bytes + size > cfg.coldBytesTarget
      overTokens = ring.tokens + tokens > cfg.coldTokensTarget
    }
    if (over || cold) this.#trim(overCount, overBytes, overTokens, size, tokens, cold, (flags & TIED) !== 0)
    if (!over && this.groups !== undefined && (flags & TIED) === 0) {
      // What is left of a group whose start a trim cut (it was the newest group then) goes once
      // a message that starts another group comes.
      const index = ring.firstUnprotected()
      if (index < ring.len && (ring.flagAt(index) & TIED) !== 0) this.#trimOn(this.#lastReason)
    }
    ring.write(message, size, tokens, flags)
  }

  // Trims the oldest unprotected messages until every budget the incoming message exceeds is at
  // or below its target (trimTo × the budget), then, with startOn, on to the start of a turn.
  // The target is only a target: when the incoming message is `tied` to the newest group (it is
  // in flight), trimming stops at that group's start as long as the hard budgets hold, and cuts
  // into it (at its start, then on past the rest) only when they do not.
  #trim(overCount: boolean, overBytes: boolean, overTokens: boolean, size: number, tokens: number, cold: boolean, tied: boolean): void {
    const cfg = this.cfg
    const ring = this.ring
    // Indexes, moved down as older messages go: where trimming to the target stops while the
    // hard budgets hold (the calls in flight, the newest group, with startOn its turn), and the
    // first message of the group the incoming message is tied to, cut only when it alone
    // exceeds a hard budget.
    let groupFrom = tied ? this.#tiedStart() : Infinity
    let keepFrom = this.groups === undefined ? Infinity : this.#keepFrom(groupFrom)
    let passed = false
    let reason: TrimReason | undefined
    // A cold trim goes down to its own targets (coldTrimTo).
    const countTarget = cold ? cfg.coldCountTarget : cfg.countTarget
    const bytesTarget = cold ? cfg.coldBytesTarget : cfg.bytesTarget
    const tokensTarget = cold ? cfg.coldTokensTarget : cfg.tokensTarget
    for (;;) {
      if (overCount && ring.len + 1 > countTarget) reason = 'count'
      else if (overBytes && ring.bytes + size > bytesTarget) reason = 'bytes'
      else if (overTokens && ring.tokens + tokens > tokensTarget) reason = 'tokens'
      else break
      const index = ring.firstUnprotected()
      // Only protected messages are left (the incoming one is kept): the targets cannot be met.
      if (index >= ring.len) break
      if (index >= keepFrom) {
        if (ring.len + 1 <= cfg.max && ring.bytes + size <= cfg.maxBytes && ring.tokens + tokens <= cfg.maxTokens) break
        // A hard budget needs more: trimming goes on until it holds, then on to a start.
        passed = true
      }
      // The group alone exceeds a hard budget: it is cut, from its start.
      if (index >= groupFrom) keepFrom = groupFrom = Infinity
      this.#trimOne(index, reason, cold)
      keepFrom--
      groupFrom--
    }
    if (reason !== undefined) {
      this.#lastReason = reason
      if (cfg.startOn !== undefined || this.groups !== undefined) this.#trimOn(reason, cold, passed ? Infinity : keepFrom, groupFrom)
    }
  }

  // The first message of the group the newest held one is in: the last one not tied to the one
  // before it (0 when every held message is: the rest of a group cut before).
  #tiedStart(): number {
    const ring = this.ring
    let i = ring.len - 1
    while (i > 0 && (ring.flagAt(i) & TIED) !== 0) i--
    return Math.max(i, 0)
  }

  // Where trimming to the target stops: the oldest message that makes a call in flight, or
  // `groupFrom` when older; with startOn, the start of the turn that is in (of the newest turn
  // when nothing is in flight), when there is one.
  #keepFrom(groupFrom: number): number {
    const ring = this.ring
    const i = Math.min((this.groups as Groups<T>).oldestOpen(), groupFrom)
    if (this.cfg.startOn === undefined) return i >= ring.len ? Infinity : i
    let j = Math.min(i, ring.len - 1)
    while (j >= 0 && ((ring.flagAt(j) & STARTS_TURN) === 0 || (ring.flagAt(j) & TIED) !== 0)) j--
    return j >= 0 ? j : i >= ring.len ? Infinity : i
  }

  // Trims on to a message that may start a window: one that starts a turn (with startOn) and is
  // not tied to the one before it (with group). Never past `groupFrom` (the group the incoming
  // message is tied to), nor, but for a tied message, past `keepFrom`.
  #trimOn(reason: TrimReason, cold = false, keepFrom = Infinity, groupFrom = Infinity): void {
    const ring = this.ring
    const needStart = this.cfg.startOn !== undefined
    for (;;) {
      const index = ring.firstUnprotected()
      if (index >= ring.len || index >= groupFrom) break
      const f = ring.flagAt(index)
      if ((f & TIED) === 0 && (index >= keepFrom || !needStart || (f & STARTS_TURN) !== 0)) break
      this.#trimOne(index, reason, cold)
      keepFrom--
      groupFrom--
    }
  }

  #trimOne(index: number, reason: TrimReason, cold = false): void {
    const ring = this.ring
    const p = ring.slot(index)
    const size = ring.sizes[p] as number
    const tokens = ring.counts[p] as number
    if (this.groups !== undefined) this.groups.forget(ring.seqs?.[p] as number)
    const message = ring.removeAt(index)
    if (this.cfg.onTrim === undefined) return
    const groups = (this.#groups ??= [])
    const last = groups[groups.length - 1]
    if (last !== undefined && last.reason === reason && last.cold === cold && !this.#newStep) {
      last.messages.push(message)
      last.bytes += size
      last.tokens += tokens
    } else groups.push({ reason, cold, messages: [message], bytes: size, tokens })
    this.#newStep = false
  }
}

// `tokens` is an estimate: the error names the budget as given and the need in provider tokens.
function tooLarge(cfg: Pick<Config<unknown>, 'maxBytes' | 'declaredMaxTokens' | 'calibration'>, bytes: number, tokens: number): MessageTooLargeError {
  if (bytes > cfg.maxBytes) return new MessageTooLargeError('bytes', cfg.maxBytes, bytes)
  // In provider tokens with the calibrated budget's margin, so that `needed` is above `limit`.
  return new MessageTooLargeError('tokens', cfg.declaredMaxTokens, Math.ceil(tokens * budgetFactor(cfg.calibration)))
}
