import { MessageTooLargeError } from '../errors.js'
import type { CacheClock } from './cold-cache.js'
import { checkedMeasure } from './measures.js'
import type { Config } from './options.js'
import { PINNED, type Ring, STARTS_TURN } from './ring.js'
import type { TrimReason } from './types.js'

// The trimming engine: measures and fits messages before anything changes (all or nothing), then
// appends them, trimming first what each pushes out. The rules: a push trims the oldest
// unprotected messages until every budget the new message exceeds is at or below trimTo × that
// budget (config.*Target), then, with startOn, on to the start of a turn; the protected messages
// (the newest maxPinned pinned ones) and the new message are never trimmed. The same rules run
// in Lua for bounded-session/redis (src/redis/), with the targets from budget.ts; the Redis
// model test checks the two against each other.

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
export interface Measured {
  sizes: number[]
  tokens: number[]
  flags: number[]
}

interface Shrunk<T> {
  message: T
  size: number
  tokens: number
}

/** Appends to one history's ring under its configuration, and collects the trims for onTrim. */
export class Trimmer<T> {
  #groups: TrimGroup<T>[] | undefined
  // Set at each appended message, so its trims are reported apart from the previous one's.
  #newStep = false

  constructor(
    readonly ring: Ring<T>,
    /** Replaced, with the history's, by a calibrated copy when calibrate() moves the correction. */
    public cfg: Config<T>,
  ) {}

  /** The trims since the last call, for onTrim (undefined: none). */
  takeGroups(): TrimGroup<T>[] | undefined {
    const groups = this.#groups
    this.#groups = undefined
    return groups
  }

  get hasGroups(): boolean {
    return this.#groups !== undefined
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
    const full = (flags & PINNED) !== 0 && cfg.maxPinned > 0 && ring.protected.length >= cfg.maxPinned
    const oldest = full ? ring.slot(ring.protected[0] as number) : -1
    const otherBytes = ring.protectedBytes - (full ? (ring.sizes[oldest] as number) : 0)
    const otherTokens = ring.protectedTokens - (full ? (ring.tokenCounts[oldest] as number) : 0)
    return this.#fit(message, size, tokens, otherBytes, otherTokens)
  }

  // Checks that a message fits beside `otherBytes`/`otherTokens` of protected messages. Returns
  // undefined when it fits as it is, the shrunk message when `shrink` made it fit; throws
  // MessageTooLargeError otherwise. Changes nothing.
  #fit(message: T, size: number, tokens: number, otherBytes: number, otherTokens: number): Shrunk<T> | undefined {
    const cfg = this.cfg
    if (otherBytes + size <= cfg.maxBytes && otherTokens + tokens <= cfg.maxTokens) return undefined
    if (cfg.shrink === undefined) throw tooLarge(cfg, otherBytes + size, otherTokens + tokens)
    const smaller = cfg.shrink(message, { bytes: cfg.maxBytes - otherBytes, tokens: cfg.maxTokens - otherTokens }, (m) => ({
      bytes: checkedMeasure(cfg.sizeOf, m, 'sizeOf'),
      tokens: checkedMeasure(cfg.countTokens, m, 'countTokens'),
    }))
    const newSize = checkedMeasure(cfg.sizeOf, smaller, 'sizeOf')
    const newTokens = checkedMeasure(cfg.countTokens, smaller, 'countTokens')
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
  prepare(messages: T[], extraFlags: (index: number) => number, fromEmpty: boolean): Measured {
    const cfg = this.cfg
    const ring = this.ring
    const n = messages.length
    const sizes = new Array<number>(n)
    const tokens = new Array<number>(n)
    const flags = new Array<number>(n)
    for (let i = 0; i < n; i++) {
      const message = messages[i] as T
      sizes[i] = checkedMeasure(cfg.sizeOf, message, 'sizeOf')
      tokens[i] = checkedMeasure(cfg.countTokens, message, 'countTokens')
      flags[i] = (cfg.flagged ? this.flagsOf(message) : 0) | extraFlags(i)
    }
    if (cfg.maxBytes !== Infinity || cfg.maxTokens !== Infinity) {
      const protSizes: number[] = []
      const protTokens: number[] = []
      if (!fromEmpty) {
        for (const index of ring.protected) {
          const p = ring.slot(index)
          protSizes.push(ring.sizes[p] as number)
          protTokens.push(ring.tokenCounts[p] as number)
        }
      }
      let protBytes = fromEmpty ? 0 : ring.protectedBytes
      let protTokenSum = fromEmpty ? 0 : ring.protectedTokens
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

  /** Appends messages that {@link Trimmer.prepare} measured. Never throws. */
  appendAll(messages: T[], measured: Measured): void {
    for (let i = 0; i < messages.length; i++) {
      this.append(messages[i] as T, measured.sizes[i] as number, measured.tokens[i] as number, measured.flags[i] as number)
    }
  }

  /** Appends one measured message that is known to fit, trimming first what it pushes out. Never throws. */
  append(message: T, size: number, tokens: number, flags: number): void {
    const cfg = this.cfg
    const ring = this.ring
    this.#newStep = true
    if ((flags & PINNED) !== 0 && cfg.maxPinned > 0) ring.protectNext(size, tokens)
    // The budgets this message takes over: trimming makes room before it goes in, exactly as if
    // it had gone in first (it is never the one trimmed).
    const overCount = ring.len >= cfg.max
    const overBytes = ring.bytes + size > cfg.maxBytes
    const overTokens = ring.tokens + tokens > cfg.maxTokens
    if (cfg.clock !== undefined && cfg.clock.coldPush) this.#trimCold(size, tokens)
    else if (overCount || overBytes || overTokens) this.#trim(overCount, overBytes, overTokens, size, tokens)
    ring.write(message, size, tokens, flags)
  }

  // The first message of a push that found the prompt cache cold (cacheTtlMs): every budget the
  // history would be above trimTo × of with it is trimmed down to that, by the same rules as a
  // push over the budget (whole turns, never the protected or the new message).
  #trimCold(size: number, tokens: number): void {
    const cfg = this.cfg
    const ring = this.ring
    ;(cfg.clock as CacheClock).coldPush = false
    this.#trim(ring.len + 1 > cfg.countTarget, ring.bytes + size > cfg.bytesTarget, ring.tokens + tokens > cfg.tokensTarget, size, tokens, true)
  }

  // Trims the oldest unprotected messages until every budget the incoming message exceeds is at
  // or below its target (trimTo × the budget), then, with startOn, on to the start of a turn.
  #trim(overCount: boolean, overBytes: boolean, overTokens: boolean, size: number, tokens: number, cold = false): void {
    const cfg = this.cfg
    const ring = this.ring
    let reason: TrimReason | undefined
    for (;;) {
      if (overCount && ring.len + 1 > cfg.countTarget) reason = 'count'
      else if (overBytes && ring.bytes + size > cfg.bytesTarget) reason = 'bytes'
      else if (overTokens && ring.tokens + tokens > cfg.tokensTarget) reason = 'tokens'
      else break
      const index = ring.firstUnprotected()
      // Only protected messages are left (the incoming one is kept): the targets cannot be met.
      if (index >= ring.len) break
      this.#trimOne(index, reason, cold)
    }
    if (reason !== undefined && cfg.startOn !== undefined) {
      for (;;) {
        const index = ring.firstUnprotected()
        if (index >= ring.len || (ring.flagAt(index) & STARTS_TURN) !== 0) break
        this.#trimOne(index, reason, cold)
      }
    }
  }

  #trimOne(index: number, reason: TrimReason, cold = false): void {
    const ring = this.ring
    const p = ring.slot(index)
    const size = ring.sizes[p] as number
    const tokens = ring.tokenCounts[p] as number
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
  return new MessageTooLargeError('tokens', cfg.declaredMaxTokens, Math.ceil(tokens * (cfg.calibration?.correction ?? 1)))
}
