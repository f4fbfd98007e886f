import type { ModelMessage } from 'ai'
import { RingBufferHistory, type RingBufferHistoryOptions } from '../ring-buffer-history.js'
import { modelMessages } from './format.js'

const DEFAULT_MAX_MESSAGES = 1_000

/**
 * A `RingBufferHistory` of the AI SDK's `ModelMessage`s, for a chat route that keeps each chat's
 * conversation between requests (the `useChat` flow: load the chat's history, push the new user
 * message, send `toArray()`, push the response's messages when it finishes). Its defaults suit
 * `ModelMessage`s: every string measured (text, tool inputs and outputs, unknown parts), the
 * system message pinned, trims that start at a user or assistant message so a tool result is
 * never left without its call, and an oversized message shortened instead of refused.
 *
 * Give `maxTokens` and a `trimTo` below 1 for a cache-stable history: it trims in steps, and
 * every request between two trims starts with the same messages as the one before.
 *
 * @example
 * ```ts
 * const history = chats.getOrCreate(chatId, () => new ModelMessageHistory({ maxTokens: 100_000, trimTo: 0.5 }))
 * history.push(...(await convertToModelMessages([lastUserMessage])))
 * const result = streamText({
 *   model, tools, messages: history.toArray(),
 *   onFinish: ({ response }) => history.push(...response.messages),
 * })
 * ```
 */
export class ModelMessageHistory extends RingBufferHistory<ModelMessage> {
  /**
   * @param options - see `RingBufferHistoryOptions`; what is left out takes this class's defaults:
   * `maxMessages` 1,000 and the `format` (its measures, groups, pins, turns and shrink) of the
   * `ModelMessage` format
   * @throws {@link InvalidOptionsError} when an option is invalid or unknown
   */
  constructor(options?: RingBufferHistoryOptions<ModelMessage>) {
    super({
      maxMessages: DEFAULT_MAX_MESSAGES,
      format: modelMessages,
      ...options,
    })
  }
}
