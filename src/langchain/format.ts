import type { BaseMessage } from '@langchain/core/messages'
import { langchain } from '../formats/langchain.js'
import type { MessageFormat } from '../message-format.js'

function typeOf(message: BaseMessage): string | undefined {
  const getType = (message as { _getType?: unknown })._getType
  const type = typeof getType === 'function' ? getType.call(message) : (message as { type?: unknown }).type
  return typeof type === 'string' ? type : undefined
}

/**
 * The format this adapter holds `BaseMessage`s by: the `langchain` format of
 * `bounded-session/formats`, except that trimming may stop at an AI message as well as a human
 * message (never at a tool message), so a long tool loop is trimmed step by step.
 */
export const chatMessages: MessageFormat<BaseMessage> = {
  ...langchain,
  startOn: (message) => {
    const type = typeOf(message)
    return type === 'human' || type === 'ai' || type === 'generic'
  },
}
