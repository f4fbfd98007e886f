/**
 * The bounded conversation history of one session, and the one helper the agents call instead
 * of `conversationHistory.push(message)`.
 */
import { RingBufferHistory } from 'bounded-session'
import { isInstructionPrompt, isUserTurn } from './prompts.js'
import type { ConversationHistory, ConversationMessage, Logger } from './types.js'

export interface ConversationBudget {
  /** Messages kept at most (CLAUDE_MEM_MAX_CONVERSATION_HISTORY). */
  maxMessages: number
  /** Characters kept at most (CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS). */
  maxChars: number
}

/**
 * A history that:
 * - keeps the newest init/continuation prompt whatever else is trimmed (it carries the schema);
 * - trims whole turns, so it always starts on a user turn (Gemini rejects anything else);
 * - holds at most `maxMessages` messages and `maxChars` characters, pinned prompt included.
 */
export function createConversationHistory(budget: ConversationBudget): RingBufferHistory<ConversationMessage> {
  return new RingBufferHistory<ConversationMessage>({
    maxMessages: budget.maxMessages,
    maxBytes: budget.maxChars,
    sizeOf: (message) => message.content.length,
    pin: isInstructionPrompt,
    maxPinned: 1,
    startOn: isUserTurn,
  })
}

interface TooLarge {
  code: 'ERR_MESSAGE_TOO_LARGE'
  limit: number
  needed: number
}

// By code, not instanceof: the worker is bundled to CommonJS and may hold another copy of the package.
function isMessageTooLarge(error: unknown): error is TooLarge {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ERR_MESSAGE_TOO_LARGE'
}

// A fresh copy: `slice` alone would keep the whole original string alive behind the short one.
function copyOf(text: string): string {
  return Buffer.from(text, 'utf16le').toString('utf16le')
}

/**
 * Appends a message. A message that cannot fit the character budget even beside the pinned
 * prompt (a tool output of megabytes) is cut to fit and reported, rather than crashing the agent.
 * A plain array (the original design) takes every message as it is.
 */
export function appendMessage(
  history: ConversationHistory,
  message: ConversationMessage,
  logger: Logger,
  sessionDbId: number,
): void {
  try {
    history.push(message)
  } catch (error) {
    if (!isMessageTooLarge(error)) throw error
    const keep = Math.max(0, message.content.length - (error.needed - error.limit))
    logger.warn('SESSION', 'Message exceeds the conversation budget, truncated', {
      sessionDbId,
      role: message.role,
      chars: message.content.length,
      kept: keep,
    })
    history.push({ role: message.role, content: copyOf(message.content.slice(0, keep)) })
  }
}
