/**
 * How each design holds a session's `conversationHistory` (see `HistoryPolicy`):
 * - v8.5.7: an array that grows forever;
 * - v13: an array recycled as a whole "generation" when it outgrows the character budget, then
 *   re-seeded with the framing prompt (`session.conversationHistory = [initPrompt]`);
 * - the port: a `RingBufferHistory` bounded by the same budget, that keeps the framing prompt.
 */
import { RingBufferHistory, truncateContent } from 'bounded-session'
import { isUserTurn } from './prompts.js'
import type { ActiveSession, ArrayActiveSession, ConversationHistory, ConversationMessage, HistoryPolicy, Logger } from './types.js'

/** Characters in a history, as the worker counts them (`reduce` over `content.length`). */
export function conversationChars(history: ConversationHistory): number {
  return history.reduce((sum, message) => sum + message.content.length, 0)
}

/** v8.5.7: every message is pushed, nothing is ever dropped. */
export function growingHistory(): HistoryPolicy<ArrayActiveSession> {
  return {
    seed: (session, framing) => void session.conversationHistory.push(framing),
    append: (session, message) => void session.conversationHistory.push(message),
    beforePrompt: () => 'ok',
  }
}

/**
 * v13: before each observation, a history over `budgetChars` is dropped whole and re-seeded with
 * the session's framing prompt. The second recycle in a row asks for a pause.
 */
export function generationHistory(budgetChars: number): HistoryPolicy<ArrayActiveSession> {
  const framingOf = new WeakMap<ArrayActiveSession, ConversationMessage>()
  return {
    seed(session, framing) {
      framingOf.set(session, framing)
      session.conversationHistory.push(framing)
    },
    append: (session, message) => void session.conversationHistory.push(message),
    beforePrompt(session, _next, kind) {
      if (kind !== 'observation') return 'ok'
      if (conversationChars(session.conversationHistory) <= budgetChars) {
        session.consecutiveRecycles = 0
        return 'ok'
      }
      const framing = framingOf.get(session)
      session.conversationHistory = framing === undefined ? [] : [framing]
      session.consecutiveRecycles++
      return session.consecutiveRecycles >= 2 ? 'pause' : 'recycled'
    },
  }
}

/** How far the port's history trims when it outgrows its budget: to half of it. */
export const PORT_TRIM_TO = 0.5

/**
 * The port's history:
 * - keeps the newest framing prompt whatever else is trimmed (it is pushed with `pushPinned`);
 * - trims whole turns, so it always starts on a user turn (Gemini rejects anything else);
 * - holds at most `budgetChars` characters, framing prompt included;
 * - when a push goes over the budget, trims down to `trimTo ×` the budget in one step, so that
 *   the calls in between send the same prefix as the one before (the provider's cache hits);
 * - shrinks a message that cannot fit beside the framing prompt (a tool output of megabytes)
 *   instead of throwing: on the Claude path a throw would kill the observer.
 */
export function createConversationHistory(
  budgetChars: number,
  options: {
    trimTo?: number
    logger?: Logger
    sessionDbId?: number
    /** The provider's cache lifetime: trim when the cache has gone cold (`RingBufferHistory` `cacheTtlMs`). */
    cacheTtlMs?: number
    /** How far a cold trim goes (`RingBufferHistory` `coldTrimTo`). */
    coldTrimTo?: number
    /** The clock of `cacheTtlMs`. */
    now?: () => number
  } = {},
): RingBufferHistory<ConversationMessage> {
  const { logger, sessionDbId, cacheTtlMs, coldTrimTo, now } = options
  return new RingBufferHistory<ConversationMessage>({
    // No count bound of its own (the worker removed count-based trimming in v13.9.2): a backstop
    // far above what the character budget lets in. Storage grows on demand, so it costs nothing.
    maxMessages: 10_000,
    maxBytes: budgetChars,
    sizeOf: (message) => message.content.length,
    maxPinned: 1,
    startOn: isUserTurn,
    trimTo: options.trimTo ?? PORT_TRIM_TO,
    ...(cacheTtlMs === undefined ? {} : { cacheTtlMs }),
    ...(coldTrimTo === undefined ? {} : { coldTrimTo }),
    ...(now === undefined ? {} : { now }),
    shrink(message, room, measure) {
      const shrunk = truncateContent(message, room, measure)
      logger?.warn('SESSION', 'Message exceeds the conversation budget, truncated', {
        sessionDbId,
        role: message.role,
        chars: message.content.length,
        kept: shrunk.content.length,
      })
      // A flat copy: the cut text is made of slices that would keep the whole original alive.
      return { ...shrunk, content: copyOf(shrunk.content) }
    },
  })
}

// A fresh copy of a string, sharing no memory with the one it came from.
function copyOf(text: string): string {
  return Buffer.from(text, 'utf16le').toString('utf16le')
}

/**
 * Room kept for the reply when the Claude path checks whether the next observation fits: the
 * reply joins the SDK's conversation too, and the next check comes only before the next
 * observation. The observer's replies are about 1 KB; a summary, a little more.
 */
export const REPLY_RESERVE_CHARS = 4_096
const RESERVED_REPLY: ConversationMessage = { role: 'assistant', content: ' '.repeat(REPLY_RESERVE_CHARS) }

/**
 * The port, on both provider paths:
 * - every path: the framing prompt is pinned as it is pushed; prompts and replies are plain pushes;
 * - the stateless paths (Gemini, OpenRouter send the whole history on every call): the history
 *   trims itself in place when a push goes over the budget (`trimTo`), which bounds what they send;
 * - the Claude path, where the real conversation lives in the SDK subprocess and the history
 *   only meters it: trimming would shrink the meter, not the SDK's conversation. So a generator
 *   run starts a fresh generation (`reset` to the framing prompt, as the SDK starts a fresh
 *   query), and before an observation that would not fit beside a reply (`fits`) the generation
 *   is retired: the history is reset to the seed, and the worker aborts the SDK query and starts
 *   the next one from it. A generation records at least one observation before its budget is
 *   checked again, so a retire can never loop without progress (an observation larger than a
 *   whole fresh generation is shrunk by the history, as on every path).
 */
export function ringHistory(): HistoryPolicy<ActiveSession> {
  const seeds = new WeakMap<ActiveSession, ConversationMessage>()
  // Observations recorded in the current generation, per session.
  const recorded = new WeakMap<ActiveSession, number>()
  const startGeneration = (session: ActiveSession, framing: ConversationMessage): void => {
    session.conversationHistory.reset()
    session.conversationHistory.pushPinned(framing)
    recorded.set(session, 0)
  }
  return {
    seed(session, framing) {
      seeds.set(session, framing)
      if (session.currentProvider === 'claude') startGeneration(session, framing)
      else session.conversationHistory.pushPinned(framing)
    },
    append: (session, message) => void session.conversationHistory.push(message),
    beforePrompt(session, next, kind) {
      const count = recorded.get(session) ?? 0
      if (kind === 'observation') recorded.set(session, count + 1)
      if (session.currentProvider !== 'claude') return 'ok'
      const history = session.conversationHistory
      // The first observation of a generation goes in whatever its size (the history shrinks one
      // that cannot fit beside the seed); only a history holding more than the seed is retired for it.
      if (count === 0 && history.length <= 2 && history.fits(next)) return 'ok'
      if (count === 0 && history.length <= 1) return 'ok'
      if (history.fits(next, RESERVED_REPLY)) return 'ok'
      const seed = seeds.get(session)
      if (seed === undefined) return 'ok'
      startGeneration(session, seed)
      recorded.set(session, kind === 'observation' ? 1 : 0)
      return 'recycled'
    },
  }
}
