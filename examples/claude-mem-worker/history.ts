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
    beforeObservation: () => 'ok',
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
    beforeObservation(session) {
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
  options: { trimTo?: number; logger?: Logger; sessionDbId?: number } = {},
): RingBufferHistory<ConversationMessage> {
  const { logger, sessionDbId } = options
  return new RingBufferHistory<ConversationMessage>({
    // No count bound of its own (the worker removed count-based trimming in v13.9.2): a backstop
    // far above what the character budget lets in. Storage grows on demand, so it costs nothing.
    maxMessages: 10_000,
    maxBytes: budgetChars,
    sizeOf: (message) => message.content.length,
    maxPinned: 1,
    startOn: isUserTurn,
    trimTo: options.trimTo ?? PORT_TRIM_TO,
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

/** The port: the framing prompt is pinned as it is pushed; everything else is a plain push. */
export function ringHistory(): HistoryPolicy<ActiveSession> {
  return {
    seed: (session, framing) => void session.conversationHistory.pushPinned(framing),
    append: (session, message) => void session.conversationHistory.push(message),
    beforeObservation: () => 'ok',
  }
}
