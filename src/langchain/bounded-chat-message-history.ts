import { BaseListChatMessageHistory } from '@langchain/core/chat_history'
import type { BaseMessage } from '@langchain/core/messages'
import { RingBufferHistory, type RingBufferHistoryOptions } from '../ring-buffer-history.js'
import { chatMessages } from './format.js'

const DEFAULT_MAX_MESSAGES = 1_000

/** Options of {@link BoundedChatMessageHistory}: the history's budgets, `trimTo` and measures. */
export interface BoundedChatMessageHistoryOptions extends RingBufferHistoryOptions<BaseMessage> {}

/**
 * A LangChain chat message history (a `BaseListChatMessageHistory`, for `RunnableWithMessageHistory`
 * and anything that takes one) that stays bounded: its messages are held in a `RingBufferHistory`,
 * trimmed to the budgets you give, the system message pinned, a tool call never apart from its
 * `ToolMessage`s, cache-stable with `trimTo` below 1. `InMemoryChatMessageHistory` grows forever.
 *
 * @example
 * ```ts
 * const histories = new BoundedSessionStore<string, BoundedChatMessageHistory>({ maxSessions: 10_000 })
 * const chain = new RunnableWithMessageHistory({
 *   runnable: model,
 *   getMessageHistory: (id) => histories.getOrCreate(id, () => new BoundedChatMessageHistory({ maxTokens: 100_000, trimTo: 0.5 })),
 * })
 * ```
 */
export class BoundedChatMessageHistory extends BaseListChatMessageHistory {
  /** LangChain's serialisation namespace. */
  lc_namespace = ['bounded-session', 'langchain']
  readonly #history: RingBufferHistory<BaseMessage>

  /**
   * @param options - see `RingBufferHistoryOptions`; what is left out takes this class's defaults:
   * `maxMessages` 1,000 and the `format` (its measures, groups, pins, turns and shrink) of the
   * LangChain format
   * @throws {@link InvalidOptionsError} when an option is invalid or unknown
   */
  constructor(options?: BoundedChatMessageHistoryOptions) {
    super()
    this.#history = new RingBufferHistory<BaseMessage>({
      maxMessages: DEFAULT_MAX_MESSAGES,
      format: chatMessages,
      ...options,
    })
  }

  /** The history that holds the messages (its `tokens`, `bytes`, `evictedCount`, `window()`…). */
  get history(): RingBufferHistory<BaseMessage> {
    return this.#history
  }

  /** The messages held, oldest first (a new array). */
  async getMessages(): Promise<BaseMessage[]> {
    return this.#history.toArray()
  }

  /** Appends a message, trimming as the options say. */
  async addMessage(message: BaseMessage): Promise<void> {
    this.#history.push(message)
  }

  /** Appends messages in one step (all or nothing), trimming as the options say. */
  override async addMessages(messages: BaseMessage[]): Promise<void> {
    if (messages.length > 0) this.#history.push(...messages)
  }

  /** Removes every message. */
  override async clear(): Promise<void> {
    this.#history.clear()
  }
}
