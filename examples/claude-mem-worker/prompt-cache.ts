/**
 * What a provider with prompt caching bills for the input of each model call. Used by the demo
 * (`npm run demo`) and by the `cache` suite of `npm run bench`, so both count the same way.
 *
 * The model, per conversation (one observer session):
 * - The prompt of a call is the whole conversation the host sends, message by message (on the
 *   Claude SDK path, the SDK's own copy of the conversation, which the history mirrors); a
 *   message costs `ceil(characters / 4)` tokens (the worker's own estimate).
 * - The provider caches a prompt by its exact prefix. The leading messages that are equal to the
 *   leading messages of the previous call's prompt (same role, same content) are cache reads;
 *   the rest of the prompt is written to the cache. Anthropic's published multipliers:
 *   a cache read bills 0.1× the base input price, a cache write 1.25×; without caching every
 *   input token bills 1×.
 * - A cached prefix lives 5 minutes after its last use (Anthropic's default); a call later than
 *   that reads nothing. Calls without a time (the bench) never expire.
 * - Only calls that were answered are billed: record a call once the provider replied.
 *
 * Simplifications, the same for every design compared: the system prompt and the reply are left
 * out (equal in every design), the cache is per conversation, and there is no minimum cacheable
 * length.
 */

/** Cache read price, as a multiple of the base input price (Anthropic). */
export const CACHE_READ_MULTIPLIER = 0.1
/** Cache write price, as a multiple of the base input price (Anthropic, 5-minute cache). */
export const CACHE_WRITE_MULTIPLIER = 1.25
/** How long a cached prefix lives after its last use (Anthropic's default). */
export const CACHE_TTL_MS = 5 * 60_000

/** A message as the meter sees it: the worker's `ConversationMessage` fits. */
export interface PromptMessage {
  readonly role: string
  readonly content: string
}

/** Tokens of one message: the worker's 4-characters-per-token estimate. */
export function estimateTokens(message: PromptMessage): number {
  return Math.ceil(message.content.length / 4)
}

/** What one call cost. */
export interface CallCost {
  /** Tokens in the prompt: the context the model saw. */
  inputTokens: number
  /** Tokens served from the cache (the shared prefix). */
  cacheReadTokens: number
  /** Tokens written to the cache (the rest). */
  cacheWriteTokens: number
  /** Whether the prompt lost the previous call's newest message: the model lost its context. */
  contextLost: boolean
}

/** Running totals over every recorded call. */
export interface PromptCacheTotals {
  calls: number
  inputTokens: number
  cacheReadTokens: number
  cacheWriteTokens: number
  /** Billed input with caching, in base-price tokens: reads × 0.1 + writes × 1.25. */
  cost: number
  /** Billed input without caching, in base-price tokens: every token × 1. */
  uncachedCost: number
  /** The largest prompt, in tokens. */
  peakContextTokens: number
  /** Calls whose prompt no longer held the previous call's newest message (a recycle, a fresh session). */
  contextLost: number
}

/** The share of input tokens served from the cache. */
export function cacheShare(totals: PromptCacheTotals): number {
  return totals.inputTokens === 0 ? 0 : totals.cacheReadTokens / totals.inputTokens
}

/** The mean prompt, in tokens: what the model saw on average. */
export function meanContextTokens(totals: PromptCacheTotals): number {
  return totals.calls === 0 ? 0 : totals.inputTokens / totals.calls
}

/** `after − before`, field by field (the peak is `after`'s): the figures of a stretch of calls. */
export function totalsBetween(before: PromptCacheTotals, after: PromptCacheTotals): PromptCacheTotals {
  return {
    calls: after.calls - before.calls,
    inputTokens: after.inputTokens - before.inputTokens,
    cacheReadTokens: after.cacheReadTokens - before.cacheReadTokens,
    cacheWriteTokens: after.cacheWriteTokens - before.cacheWriteTokens,
    cost: after.cost - before.cost,
    uncachedCost: after.uncachedCost - before.uncachedCost,
    peakContextTokens: after.peakContextTokens,
    contextLost: after.contextLost - before.contextLost,
  }
}

interface CachedPrompt {
  /** One key per message of the previous prompt. */
  keys: number[]
  /** When it was last used (its expiry is `at + ttlMs`). */
  at: number
}

export interface PromptCacheMeterOptions {
  /** How long a cached prefix lives after its last use. @defaultValue {@link CACHE_TTL_MS} */
  ttlMs?: number
  /** Tokens of a message. @defaultValue {@link estimateTokens} */
  tokensOf?: (message: PromptMessage) => number
}

/**
 * Counts, call by call, what a prompt-caching provider bills. It keeps per conversation only
 * one number per message of the previous prompt, dropped once the cache entry has expired, so
 * that measuring does not weigh on the heap figures it is measured beside.
 */
export class PromptCacheMeter {
  readonly #ttlMs: number
  readonly #tokensOf: (message: PromptMessage) => number
  readonly #cached = new Map<number | string, CachedPrompt>()
  // The previous prompt's newest message, kept beyond the cache's life: losing it is a lost context.
  readonly #newest = new Map<number | string, number>()
  // One key per message object, computed once: messages are immutable once pushed.
  readonly #keys = new WeakMap<object, number>()
  #lastPurge = 0
  readonly #totals: PromptCacheTotals = {
    calls: 0,
    inputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    cost: 0,
    uncachedCost: 0,
    peakContextTokens: 0,
    contextLost: 0,
  }

  constructor(options: PromptCacheMeterOptions = {}) {
    this.#ttlMs = options.ttlMs ?? CACHE_TTL_MS
    this.#tokensOf = options.tokensOf ?? estimateTokens
  }

  /**
   * Records one answered model call of `conversation` whose prompt was `prompt` (oldest message
   * first), made at `at` (ms; leave it out when time does not matter).
   */
  record(conversation: number | string, prompt: Iterable<PromptMessage>, at = 0): CallCost {
    const previous = this.#cached.get(conversation)
    const live = previous !== undefined && at - previous.at <= this.#ttlMs ? previous.keys : undefined
    const newest = this.#newest.get(conversation)
    const keys: number[] = []
    let inputTokens = 0
    let cacheReadTokens = 0
    let sharing = live !== undefined
    let keptNewest = newest === undefined
    for (const message of prompt) {
      const key = this.#keyOf(message)
      const tokens = this.#tokensOf(message)
      if (sharing && live?.[keys.length] === key) cacheReadTokens += tokens
      else sharing = false
      if (key === newest) keptNewest = true
      keys.push(key)
      inputTokens += tokens
    }
    const cacheWriteTokens = inputTokens - cacheReadTokens
    this.#cached.set(conversation, { keys, at })
    const last = keys[keys.length - 1]
    if (last !== undefined) this.#newest.set(conversation, last)
    const t = this.#totals
    t.calls++
    t.inputTokens += inputTokens
    t.cacheReadTokens += cacheReadTokens
    t.cacheWriteTokens += cacheWriteTokens
    t.cost += cacheReadTokens * CACHE_READ_MULTIPLIER + cacheWriteTokens * CACHE_WRITE_MULTIPLIER
    t.uncachedCost += inputTokens
    if (inputTokens > t.peakContextTokens) t.peakContextTokens = inputTokens
    if (!keptNewest) t.contextLost++
    this.#purge(at)
    return { inputTokens, cacheReadTokens, cacheWriteTokens, contextLost: !keptNewest }
  }

  /** A copy of the totals so far. */
  totals(): PromptCacheTotals {
    return { ...this.#totals }
  }

  // Expired entries can never be read again: drop them, at most once per TTL.
  #purge(now: number): void {
    if (now - this.#lastPurge < this.#ttlMs) return
    this.#lastPurge = now
    for (const [conversation, entry] of this.#cached) if (now - entry.at > this.#ttlMs) this.#cached.delete(conversation)
  }

  // Equal role and content give equal keys: two 32-bit FNV-style hashes over the whole text,
  // 53 bits in all, so a false "equal" between two different messages is out of reach here.
  #keyOf(message: PromptMessage): number {
    const cached = this.#keys.get(message)
    if (cached !== undefined) return cached
    const text = message.content
    let a = 0x811c9dc5 ^ (message.role === 'user' ? 1 : message.role === 'assistant' ? 2 : 3)
    let b = 0x9e3779b9 ^ text.length
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      a = Math.imul(a ^ c, 0x01000193)
      b = Math.imul(b ^ c, 0x5bd1e995)
    }
    const key = (a >>> 0) * 2 ** 21 + ((b >>> 0) & 0x1fffff)
    this.#keys.set(message, key)
    return key
  }
}
