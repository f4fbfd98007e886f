import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import { InvalidMessageError } from '../errors.js'
import type { FormatProblem, MessageFormat, MessageLinks } from '../message-format.js'
import { openaiMedia } from './openai-media.js'
import { CallLedger, Problems, ToolRun, arrayOr, peek, stringOr, toolCallIds } from './problems.js'
import { type TextSlot, replaceAt, shrinkSlots } from './shrink.js'
import { addField, addObject, addPart, addString, defined, found, measuresOf, plainKeys, readCalls, readParts, takeLinks } from './read.js'
import { ancestors, isObject, read, visit } from './walk.js'

const NAME = 'openaiChat'
const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function'])

function readMessage(message: ChatCompletionMessageParam): MessageLinks | undefined {
  if (!isObject(message)) throw new InvalidMessageError(NAME, message, 'a `ChatCompletionMessageParam` object')
  const role = read(NAME, message, 'role')
  if (typeof role !== 'string' || !ROLES.has(role)) {
    throw new InvalidMessageError(NAME, message, "a message with role 'system', 'developer', 'user', 'assistant', 'tool' or 'function'")
  }
  const content = read(NAME, message, 'content')
  if (typeof content !== 'string' && !Array.isArray(content) && !(role === 'assistant' && content == null)) {
    throw new InvalidMessageError(NAME, message, 'a message whose `content` is a string or an array of parts')
  }
  const m = message as Record<string, unknown>
  const toolCalls = m.tool_calls
  const toolCallId = m.tool_call_id
  const name = m.name
  const keys = 1 + defined(content) + defined(toolCalls) + defined(toolCallId) + defined(name)
  if ((toolCalls !== undefined && !Array.isArray(toolCalls)) || plainKeys(message) !== keys) {
    visit(message, true, 0, openaiMedia, found)
    return links(message)
  }
  addObject(keys)
  addString(4, role)
  ancestors[0] = message
  if (Array.isArray(content)) {
    found.chars += 7
    ancestors[1] = content
    readParts(content, 2, openaiMedia)
  } else addField(7, content, 1, openaiMedia)
  addField(12, toolCallId, 1, openaiMedia)
  addField(4, name, 1, openaiMedia)
  if (toolCalls !== undefined) {
    found.chars += 10
    readCalls(toolCalls, openaiMedia, readCall)
  }
  const calls = takeLinks()
  if (role === 'assistant') return calls
  return role === 'tool' && typeof toolCallId === 'string' ? { results: [toolCallId] } : undefined
}

// Counts a `{ id, type, function: { name, arguments } }` tool call at depth 2; false for any
// other shape (the walk counts it).
function readCall(call: Record<string, unknown>, id: unknown): boolean {
  const type = call.type
  const fn = call.function
  if (typeof id !== 'string' || typeof type !== 'string' || typeof fn !== 'object' || fn === null || plainKeys(call) !== 3) return false
  addObject(3)
  addString(2, id)
  addString(4, type)
  found.chars += 8
  const name = (fn as { name?: unknown }).name
  const args = (fn as { arguments?: unknown }).arguments
  if (typeof name === 'string' && typeof args === 'string' && plainKeys(fn) === 2) {
    addObject(2)
    addString(4, name)
    addString(9, args)
  } else {
    ancestors[2] = call
    addPart(fn, 3, openaiMedia)
  }
  return true
}

function links(message: ChatCompletionMessageParam): MessageLinks | undefined {
  const role = peek(message, 'role')
  if (role === 'assistant') {
    const calls = toolCallIds(message)
    if (calls.length > 0) return { calls }
    // The deprecated `function_call` is answered by the `function` message after it, which has no id.
    return peek(message, 'function_call') == null ? undefined : { withNext: true }
  }
  if (role === 'tool') {
    const id = stringOr(peek(message, 'tool_call_id'))
    return id === undefined ? undefined : { results: [id] }
  }
  return undefined
}

/** Text slots of a message with a string `content` or an array of `text` parts. */
export function contentSlots(message: unknown): TextSlot[] {
  const content = peek(message, 'content')
  if (typeof content === 'string') return [{ path: ['content'], text: content }]
  const found: TextSlot[] = []
  arrayOr(content)?.forEach((part, i) => {
    const text = peek(part, 'text')
    if (typeof text === 'string') found.push({ path: ['content', i, 'text'], text })
  })
  return found
}

function check(messages: readonly ChatCompletionMessageParam[]): FormatProblem[] {
  const problems = new Problems()
  const ledger = new CallLedger(problems)
  const run = new ToolRun(ledger, (id) => `The tool call \`${id}\` is not answered by a tool message right after its assistant message`)
  messages.forEach((message, index) => {
    const role = peek(message, 'role')
    const content = peek(message, 'content')
    if (
      typeof role !== 'string' ||
      !ROLES.has(role) ||
      !(typeof content === 'string' || Array.isArray(content) || (role === 'assistant' && content == null))
    ) {
      problems.add(index, 'INVALID_MESSAGE', 'Expected an object with a Chat Completions role and a string or array `content`')
      run.close()
      return
    }
    if (role === 'tool') {
      const id = stringOr(peek(message, 'tool_call_id'))
      if (id === undefined) {
        problems.add(index, 'MISSING_CALL_ID', 'A tool message needs a string `tool_call_id`')
        return
      }
      run.answer(id, index, `The tool message for \`${id}\` does not follow the assistant message that called it (only tool messages may be between)`)
      return
    }
    run.close()
    if (role !== 'assistant') return
    const calls = arrayOr(peek(message, 'tool_calls')) ?? []
    if (content == null && calls.length === 0 && peek(message, 'function_call') == null && peek(message, 'audio') == null) {
      problems.add(index, 'EMPTY_CONTENT', 'An assistant message needs `content` or `tool_calls`')
    }
    run.openCalls(calls, index, 'A tool call needs a string `id`')
  })
  run.close(true)
  return problems.sorted()
}

const measures = measuresOf(NAME, readMessage, links)
const isInstruction = (message: ChatCompletionMessageParam): boolean => {
  const role = peek(message, 'role')
  return role === 'system' || role === 'developer'
}

/**
 * The OpenAI Chat Completions format (`ChatCompletionMessageParam` of `openai`).
 *
 * - Measures: every string the message carries (content, tool call names and arguments, ids),
 *   characters / 4; images by OpenAI's tile rule (low detail 85 tokens; otherwise 85 + 170 per
 *   512-px tile, read from a `data:` URL's image, 1,445 when the size is unknown); audio about 10
 *   tokens a second (a WAV header's rate, else 16 kB a second); files 1,500 tokens a page, one
 *   page per 50 kB.
 * - Groups: an assistant message's `tool_calls` with the tool messages that answer them; a
 *   deprecated `function_call` with the message after it.
 * - `pin`: system and developer messages. `startOn`: user messages.
 * - `check`: every tool message answers a call of the assistant message before it, with only tool
 *   messages between; every call is answered by those tool messages (unless they run to the end:
 *   in flight); an assistant message has `content` or `tool_calls`; call ids are unique.
 * - `shrink`: cuts the largest string content or text part.
 *
 * @example
 * ```ts
 * import { RingBufferHistory } from 'bounded-session'
 * import { openaiChat } from 'bounded-session/formats'
 * import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions'
 *
 * const history = new RingBufferHistory<ChatCompletionMessageParam>({ format: openaiChat, maxTokens: 100_000 })
 * ```
 */
export const openaiChat: MessageFormat<ChatCompletionMessageParam> = {
  name: NAME,
  sizeOf: measures.sizeOf,
  countTokens: measures.countTokens,
  group: measures.group,
  startOn: (message) => peek(message, 'role') === 'user',
  pin: isInstruction,
  shrink: (message, room, measureOf) => shrinkSlots(message, room, measureOf, contentSlots, replaceAt),
  check,
}
