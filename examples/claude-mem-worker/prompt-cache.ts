/**
 * What a provider with prompt caching bills for the input of each model call. Used by the demo
 * (`npm run demo`) and by the `cache` suite of `npm run bench`, so both count the same way.
 *
 * The model, per conversation (one observer session):
 * - The prompt of a call is what the provider was actually sent, message by message: the whole
 *   history on the stateless paths (Gemini, OpenRouter), the SDK's own conversation on the Claude
 *   path. A message costs `ceil(characters / 4)` tokens (the worker's own estimate).
 * - The provider caches a prompt by its exact prefix. The leading messages equal to the leading
 *   messages of the previous call's prompt (same role, same content) are read from the cache,
 *   if that prompt is still cached; the rest is written to it. Prices come from a
 *   {@link CachePricing} table: a read and a write as multiples of the base input price.
 * - A cached prompt lives `ttlMs` after its last use: a call later than that reads nothing, and
 *   a hit refreshes it (it is used again). Calls without a time (`at` left out) never expire.
 * - Nothing shorter than the model's minimum is cached: a prompt under `minCacheableTokens` is
 *   billed at the base price and written nowhere, and a shared prefix under it is not read.
 * - Only calls that were answered are billed: record a call once the provider replied.
 *
 * Simplifications, the same for every design compared: the system prompt and the reply are left
 * out (equal in every design); the cache is per conversation; it holds the previous prompt only
 * (a provider keeps older prefixes too, but a prompt that dropped its head shares nothing with
 * them beyond the pinned framing prompt, which is under every minimum here); OpenAI's 128-token
 * granularity is not modelled.
 */

/** A provider's prompt-cache prices and lifetime. */
export interface CachePricing {
  /** What the table is, for reports. */
  readonly name: string
  /** Cache read price, as a multiple of the base input price. */
  readonly readMultiplier: number
  /** Cache write price, as a multiple of the base input price. */
  readonly writeMultiplier: number
  /** How long a cached prompt lives after its last use, in ms. */
  readonly ttlMs: number
  /** The shortest prompt (and shared prefix) the provider caches, in tokens. */
  readonly minCacheableTokens: number
  /** Where the figures were published. */
  readonly source: string
}

const MINUTE = 60_000

/**
 * Anthropic, default 5-minute cache (Claude Sonnet 4.x and the other 0.1× models): writes
 * 1.25×, reads 0.1×, at least 1,024 tokens.
 */
export const ANTHROPIC_5M: CachePricing = {
  name: 'Anthropic 5 min',
  readMultiplier: 0.1,
  writeMultiplier: 1.25,
  ttlMs: 5 * MINUTE,
  minCacheableTokens: 1024,
  source: 'https://platform.claude.com/docs/en/about-claude/pricing ("Prompt caching"); minimums: https://docs.litellm.ai/docs/completion/prompt_caching',
}

/** Anthropic, 1-hour cache (`cache_control: { ttl: '1h' }`): writes 2×, reads 0.1×. */
export const ANTHROPIC_1H: CachePricing = {
  ...ANTHROPIC_5M,
  name: 'Anthropic 1 h',
  writeMultiplier: 2,
  ttlMs: 60 * MINUTE,
}

/** An Anthropic model that reads at 0.05× (Claude Sonnet 5.5, Opus 5.5), 5-minute cache. */
export const ANTHROPIC_LOW_READ: CachePricing = {
  ...ANTHROPIC_5M,
  name: 'Anthropic 0.05× read (Sonnet 5.5), 5 min',
  readMultiplier: 0.05,
}

/**
 * OpenAI GPT-5.6 family (e.g. gpt-5.6-terra, $2.50 per million input tokens): cache writes are
 * billed at 1.25× (they were free before 5.6), reads at 0.1×, a cached prefix lives at least 30
 * minutes (modelled as exactly 30), prompts from 1,024 tokens.
 */
export const OPENAI_GPT_5_6: CachePricing = {
  name: 'OpenAI GPT-5.6, 30 min',
  readMultiplier: 0.1,
  writeMultiplier: 1.25,
  ttlMs: 30 * MINUTE,
  minCacheableTokens: 1024,
  source:
    'https://developers.openai.com/api/docs/guides/prompt-caching ("For GPT-5.6 models and later model families, cache writes cost 1.25× the uncached input token rate"); ' +
    '30-minute minimum life and 90% read discount: OpenAI\'s GPT-5.6 announcement, as quoted at https://www.howtonotcode.com/story/2218-openai-previews-gpt-56-solterraluna-with-new-pricing-and-cache-semantics-under-limited-rollout',
}

/** Every table, in the order of the reports. */
export const PRICE_TABLES: readonly CachePricing[] = [ANTHROPIC_5M, ANTHROPIC_1H, ANTHROPIC_LOW_READ, OPENAI_GPT_5_6]

/** Cache read price of the default table ({@link ANTHROPIC_5M}). */
export const CACHE_READ_MULTIPLIER = ANTHROPIC_5M.readMultiplier
/** Cache write price of the default table ({@link ANTHROPIC_5M}). */
export const CACHE_WRITE_MULTIPLIER = ANTHROPIC_5M.writeMultiplier
/** Cache lifetime of the default table ({@link ANTHROPIC_5M}). */
export const CACHE_TTL_MS = ANTHROPIC_5M.ttlMs

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
  /** Tokens written to the cache (the rest, when the prompt is long enough to be cached). */
  cacheWriteTokens: number
  /** Tokens billed at the base price: the whole prompt when it is under the minimum. */
  plainTokens: number
  /** Whether the prompt lost the previous call's newest message: the model lost its context. */
  contextLost: boolean
}

/** Running totals over every recorded call. */
export interface PromptCacheTotals {
  calls: number
  inputTokens: number
  cacheReadTokens: number
  cacheWriteTokens: number
  plainTokens: number
  /** Billed input with caching, in base-price tokens: reads × read price + writes × write price + plain. */
  cost: number
  /** Billed input without caching, in base-price tokens: every token × 1. */
  uncachedCost: number
  /** The largest prompt, in tokens (summed message by message). */
  peakContextTokens: number
  /** The largest prompt, in characters (the unit of the worker's budget). */
  peakContextChars: number
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
    plainTokens: after.plainTokens - before.plainTokens,
    cost: after.cost - before.cost,
    uncachedCost: after.uncachedCost - before.uncachedCost,
    peakContextTokens: after.peakContextTokens,
    peakContextChars: after.peakContextChars,
    contextLost: after.contextLost - before.contextLost,
  }
}

interface CachedPrompt {
  /** One key per message of the cached prompt. */
  keys: number[]
  /** When it was last used (its expiry is `at + ttlMs`). */
  at: number
}

/** Options of {@link PromptCacheMeter}. */
export interface PromptCacheMeterOptions {
  /** The provider's prices, lifetime and minimum. @defaultValue {@link ANTHROPIC_5M} */
  pricing?: CachePricing
  /** Tokens of a message. @defaultValue {@link estimateTokens} */
  tokensOf?: (message: PromptMessage) => number
}

/**
 * Counts, call by call, what a prompt-caching provider bills. It keeps per conversation only
 * one number per message of the cached prompt, dropped once that prompt has expired, so that
 * measuring does not weigh on the heap figures it is measured beside.
 */
export class PromptCacheMeter {
  /** The table this meter bills with. */
  readonly pricing: CachePricing
  readonly #tokensOf: (message: PromptMessage) => number
  readonly #cached = new Map<number | string, CachedPrompt>()
  // The previous prompt's newest message, kept beyond the cache's life: losing it is a lost context.
  readonly #newest = new Map<number | string, number>()
  #lastPurge = 0
  readonly #totals: PromptCacheTotals = {
    calls: 0,
    inputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    plainTokens: 0,
    cost: 0,
    uncachedCost: 0,
    peakContextTokens: 0,
    peakContextChars: 0,
    contextLost: 0,
  }

  constructor(options: PromptCacheMeterOptions = {}) {
    this.pricing = options.pricing ?? ANTHROPIC_5M
    this.#tokensOf = options.tokensOf ?? estimateTokens
  }

  /**
   * Records one answered model call of `conversation` whose prompt was `prompt` (oldest message
   * first), made at `at` (ms; leave it out when time does not matter).
   */
  record(conversation: number | string, prompt: Iterable<PromptMessage>, at = 0): CallCost {
    const { ttlMs, minCacheableTokens, readMultiplier, writeMultiplier } = this.pricing
    const previous = this.#cached.get(conversation)
    const live = previous !== undefined && at - previous.at <= ttlMs ? previous : undefined
    const newest = this.#newest.get(conversation)
    const keys: number[] = []
    let inputTokens = 0
    let chars = 0
    let shared = 0
    let sharing = live !== undefined
    let keptNewest = newest === undefined
    for (const message of prompt) {
      const key = keyOf(message)
      const t = this.#tokensOf(message)
      if (sharing && live?.keys[keys.length] === key) shared += t
      else sharing = false
      if (key === newest) keptNewest = true
      keys.push(key)
      inputTokens += t
      chars += message.content.length
    }
    const cacheable = inputTokens >= minCacheableTokens
    const cacheReadTokens = cacheable && shared >= minCacheableTokens ? shared : 0
    const cacheWriteTokens = cacheable ? inputTokens - cacheReadTokens : 0
    const plainTokens = cacheable ? 0 : inputTokens
    // A prompt under the minimum is cached nowhere, and leaves the cached one as it was (unused).
    if (cacheable) this.#cached.set(conversation, { keys, at })
    const last = keys[keys.length - 1]
    if (last !== undefined) this.#newest.set(conversation, last)
    const t = this.#totals
    t.calls++
    t.inputTokens += inputTokens
    t.cacheReadTokens += cacheReadTokens
    t.cacheWriteTokens += cacheWriteTokens
    t.plainTokens += plainTokens
    t.cost += cacheReadTokens * readMultiplier + cacheWriteTokens * writeMultiplier + plainTokens
    t.uncachedCost += inputTokens
    if (inputTokens > t.peakContextTokens) t.peakContextTokens = inputTokens
    if (chars > t.peakContextChars) t.peakContextChars = chars
    if (!keptNewest) t.contextLost++
    this.#purge(at)
    return { inputTokens, cacheReadTokens, cacheWriteTokens, plainTokens, contextLost: !keptNewest }
  }

  /** A copy of the totals so far. */
  totals(): PromptCacheTotals {
    return { ...this.#totals }
  }

  // Expired entries can never be read again: drop them, at most once per TTL.
  #purge(now: number): void {
    const ttlMs = this.pricing.ttlMs
    if (now - this.#lastPurge < ttlMs) return
    this.#lastPurge = now
    for (const [conversation, entry] of this.#cached) if (now - entry.at > ttlMs) this.#cached.delete(conversation)
  }
}

/**
 * Several meters fed the same calls, one per price table (each with its own lifetime), so that
 * one replay gives the bill under every table.
 */
export class PromptCacheMeters {
  /** One meter per table, in the order given. */
  readonly meters: readonly PromptCacheMeter[]

  constructor(tables: readonly CachePricing[] = PRICE_TABLES, tokensOf?: (message: PromptMessage) => number) {
    this.meters = tables.map((pricing) => new PromptCacheMeter(tokensOf === undefined ? { pricing } : { pricing, tokensOf }))
  }

  /** Records the call in every meter (see {@link PromptCacheMeter.record}). */
  record(conversation: number | string, prompt: Iterable<PromptMessage>, at = 0): void {
    const messages = Array.isArray(prompt) ? (prompt as readonly PromptMessage[]) : [...prompt]
    for (const meter of this.meters) meter.record(conversation, messages, at)
  }

  /** The totals of the meter at `index` (0: the first table). */
  totals(index = 0): PromptCacheTotals {
    const meter = this.meters[index]
    if (meter === undefined) throw new RangeError(`no meter ${index}`)
    return meter.totals()
  }
}

// One key per message object, computed once and shared by every meter: messages are immutable
// once pushed. Equal role and content give equal keys: two 32-bit FNV-style hashes over the
// whole text, 53 bits in all, so a false "equal" between two different messages is out of reach.
const keys = new WeakMap<object, number>()

function keyOf(message: PromptMessage): number {
  const cached = keys.get(message)
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
  keys.set(message, key)
  return key
}
