import type { BaseMessage } from '@langchain/core/messages'
import { RunnableLambda } from '@langchain/core/runnables'
import { ListMirror } from '../adapter-kit/list-mirror.js'
import { InvalidOptionsError } from '../errors.js'
import type { RingBufferHistoryOptions } from '../ring-buffer-history.js'
import { chatMessages } from './format.js'

/** Options of {@link boundedTrimmer}: the window's budgets, `trimTo` and measures. */
export interface BoundedTrimmerOptions extends RingBufferHistoryOptions<BaseMessage> {}

const DEFAULT_MAX_MESSAGES = 1_000

/**
 * A cache-stable replacement for `trimMessages` as a runnable: put it before the model in a chain
 * and every call sends a window of the messages it is given, within the budgets, the system
 * message kept, a tool call never apart from its `ToolMessage`s (by `tool_call_id`, not by message
 * type), and with `trimTo` below 1 the same prefix from call to call until the window outgrows the
 * budget. `trimMessages` re-counts the whole list on every call and cuts afresh each time; this
 * measures each message once and costs O(new messages) per call.
 *
 * A trimmer follows each conversation it sees (recognised by its first message) with a history of
 * its own, dropped with the conversation's messages.
 *
 * @example
 * ```ts
 * const chain = boundedTrimmer({ maxTokens: 100_000, trimTo: 0.5 }).pipe(model)
 * ```
 * @throws {@link InvalidOptionsError} when an option is invalid or unknown
 */
export function boundedTrimmer(options: BoundedTrimmerOptions = {}): RunnableLambda<BaseMessage[], BaseMessage[]> {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', options, 'an object or undefined')
  const historyOptions: RingBufferHistoryOptions<BaseMessage> = {
    maxMessages: DEFAULT_MAX_MESSAGES,
    format: chatMessages,
    ...options,
  }
  new ListMirror(historyOptions)
  const conversations = new WeakMap<BaseMessage, ListMirror<BaseMessage>>()
  return new RunnableLambda<BaseMessage[], BaseMessage[]>({
    func: (messages: BaseMessage[]) => {
      const first = messages[0]
      if (first === undefined) return []
      let mirror = conversations.get(first)
      if (mirror === undefined) {
        mirror = new ListMirror(historyOptions)
        conversations.set(first, mirror)
      }
      return mirror.sync(messages)
    },
  })
}
