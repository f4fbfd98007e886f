import type { ModelMessage } from 'ai'
import { countAllTokens, sizeOfAll } from '../adapter-kit/measure.js'
import type { FormatProblem, MessageFormat, MessageLinks } from '../message-format.js'
import { shrinkLongestString } from '../adapter-kit/shrink.js'

// The AI SDK's `ModelMessage`s as this adapter reads them: a `tool-call` part of an assistant
// message and the `tool-result` parts (in `tool` messages) that answer it are tied by
// `toolCallId`; tool approval requests and responses travel with them too.

interface Part {
  type?: unknown
  toolCallId?: unknown
  approvalId?: unknown
}

function partsOf(message: ModelMessage): readonly Part[] {
  const content = (message as { content?: unknown }).content
  return Array.isArray(content) ? (content as Part[]) : []
}

function idsOf(message: ModelMessage, type: string): string[] {
  const ids: string[] = []
  for (const part of partsOf(message)) {
    if (part !== null && typeof part === 'object' && part.type === type && typeof part.toolCallId === 'string') ids.push(part.toolCallId)
  }
  return ids
}

function linksOf(message: ModelMessage): MessageLinks | undefined {
  const role = (message as { role?: unknown }).role
  if (role === 'assistant') {
    const calls = idsOf(message, 'tool-call')
    // A provider-executed call has its result in the same message: it is not left open.
    const own = new Set(idsOf(message, 'tool-result'))
    const open = calls.filter((id) => !own.has(id))
    return open.length > 0 ? { calls: open } : undefined
  }
  if (role === 'tool') {
    const results = idsOf(message, 'tool-result')
    return results.length > 0 ? { results } : undefined
  }
  return undefined
}

/** A window may start at a user or an assistant message: never at tool results (their calls would be missing). */
const startsTurn = (message: ModelMessage): boolean => {
  const role = (message as { role?: unknown }).role
  return role === 'user' || role === 'assistant'
}

const isSystem = (message: ModelMessage): boolean => (message as { role?: unknown }).role === 'system'

function check(messages: readonly ModelMessage[]): FormatProblem[] {
  const problems: FormatProblem[] = []
  let open = new Map<string, number>()
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as ModelMessage
    const role = (message as { role?: unknown }).role
    if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'tool') {
      problems.push({ index: i, code: 'UNKNOWN_MESSAGE', message: `message ${i} has no known role` })
      continue
    }
    if (role === 'tool') {
      for (const id of idsOf(message, 'tool-result')) {
        if (!open.has(id)) problems.push({ index: i, code: 'ORPHAN_RESULT', message: `tool result ${JSON.stringify(id)} at ${i} answers no call of the assistant message before it` })
        open.delete(id)
      }
      continue
    }
    for (const [id, at] of open) problems.push({ index: at, code: 'UNANSWERED_CALL', message: `tool call ${JSON.stringify(id)} at ${at} is not answered before message ${i}` })
    open = new Map()
    if (role === 'assistant') for (const id of linksOf(message)?.calls ?? []) open.set(id, i)
  }
  // Calls still open at the end are the newest step's, still in flight: allowed.
  return problems
}

/**
 * The format this adapter uses for `ModelMessage`s: every string measured (text, tool inputs and
 * outputs, unknown parts), tool calls grouped with their results by `toolCallId`, system messages
 * pinned, windows starting at a user or assistant message, and `check` for what providers refuse
 * (a result without its call in the assistant message before it, a call unanswered before the
 * next message).
 */
export const modelMessages: MessageFormat<ModelMessage> = {
  name: 'ai-sdk',
  sizeOf: sizeOfAll,
  countTokens: countAllTokens,
  group: linksOf,
  startOn: startsTurn,
  pin: isSystem,
  shrink: shrinkLongestString,
  check,
}
