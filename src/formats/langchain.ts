import type { BaseMessage } from '@langchain/core/messages'
import { InvalidMessageError } from '../errors.js'
import type { FormatProblem, MessageFormat, MessageLinks } from '../message-format.js'
import { AUDIO_TOKENS_PER_SECOND, PAGE_TOKENS, anthropicImageTokens, audioSeconds, base64Bytes, base64Head, base64ImageSize, documentPages } from './media.js'
import { CallLedger, Problems, ToolRun, arrayOr, peek, stringOr, toolCallIds } from './problems.js'
import { type TextPath, type TextSlot, replaceAt, shrinkSlots } from './shrink.js'
import { addField, addObject, addString, defined, found, measuresOf, plainKeys, readCalls, readParts, takeLinks } from './read.js'
import { ancestors, isObject } from './walk.js'

const NAME = 'langchain'
const TYPES = new Set(['human', 'ai', 'generic', 'developer', 'system', 'function', 'tool'])

// The message type, read through the public API: `_getType()` where there is one (every copy
// of @langchain/core has it), else the `type` field. Never `instanceof`, which fails across two
// copies of the package.
function typeOf(message: unknown): unknown {
  if (!isObject(message)) return undefined
  const getType = message._getType
  if (typeof getType === 'function') return getType.call(message)
  return message.type
}

const safeTypeOf = (message: unknown): unknown => {
  try {
    return typeOf(message)
  } catch {
    return undefined
  }
}

function dataOf(data: unknown): { head: Uint8Array | undefined; bytes: number } {
  if (typeof data !== 'string' || /^(https?|gs|s3):/.test(data)) return { head: undefined, bytes: 0 }
  return { head: base64Head(data), bytes: base64Bytes(data) }
}

// A LangChain message goes to any provider, so a block costs the most a provider's rule gives
// (as for the AI SDK): Anthropic's image rule, Gemini's 32 audio tokens a second, Anthropic's
// 3,000 tokens a document page.
function media(node: object): number | undefined {
  const type = (node as { type?: unknown }).type
  if (type === 'image_url') {
    const image = (node as { image_url?: unknown }).image_url
    const url = typeof image === 'string' ? image : isObject(image) ? image.url : undefined
    return anthropicImageTokens(typeof url === 'string' && url.startsWith('data:') ? base64ImageSize(url) : undefined)
  }
  if (type !== 'image' && type !== 'audio' && type !== 'file' && type !== 'video') return undefined
  const block = node as { data?: unknown; url?: unknown; source_type?: unknown; mimeType?: unknown; mime_type?: unknown }
  if (block.source_type === 'text') return undefined
  const { head, bytes } = dataOf(block.data ?? block.url)
  const data = block.data ?? block.url
  if (type === 'image') return anthropicImageTokens(typeof data === 'string' && !/^(https?|gs|s3):/.test(data) ? base64ImageSize(data) : undefined)
  if (type === 'audio') return Math.ceil(AUDIO_TOKENS_PER_SECOND.gemini * (bytes === 0 ? 60 : audioSeconds(head, bytes)))
  if (type === 'video') return Math.ceil(290 * (bytes === 0 ? 60 : bytes / 1_000_000))
  return PAGE_TOKENS.anthropic * documentPages(bytes)
}

// The stand-in root of a message's walk: what is counted is what the chat model integrations
// send of a message (its public fields `type`, `content`, `tool_calls`, `tool_call_id`, `name`
// and `role`, as one object of six keys), not the serialisation copies (`lc_kwargs` repeats
// `content`). It is no part of any message, so no cycle runs through it.
const VIEW = {}
const VIEW_KEYS = 6

function readMessage(message: BaseMessage): MessageLinks | undefined {
  let type: unknown
  try {
    type = typeOf(message)
  } catch (error) {
    throw new InvalidMessageError(NAME, message, 'readable (its type could not be read)', error)
  }
  if (typeof type !== 'string' || !TYPES.has(type)) {
    throw new InvalidMessageError(NAME, message, 'a LangChain message (`_getType()` or `type` of human, ai, system, developer, tool, function or generic)')
  }
  const m = message as unknown as Record<string, unknown>
  let content: unknown, toolCalls: unknown, toolCallId: unknown, name: unknown, role: unknown
  try {
    content = m.content
    toolCalls = m.tool_calls
    toolCallId = m.tool_call_id
    name = m.name
    role = m.role
  } catch (error) {
    throw new InvalidMessageError(NAME, message, 'readable (a getter threw)', error)
  }
  if (typeof content !== 'string' && !Array.isArray(content)) {
    throw new InvalidMessageError(NAME, message, 'a message whose `content` is a string or an array of blocks')
  }
  addObject(VIEW_KEYS)
  addString(4, type)
  ancestors[0] = VIEW
  if (typeof content === 'string') addString(7, content)
  else {
    found.chars += 7
    ancestors[1] = content
    readParts(content, 2, media)
  }
  if (Array.isArray(toolCalls)) {
    found.chars += 10
    readCalls(toolCalls, media, readCall)
  } else addField(10, toolCalls, 1, media)
  addField(12, toolCallId, 1, media)
  addField(4, name, 1, media)
  addField(4, role, 1, media)
  const calls = takeLinks()
  if (type === 'ai') return calls
  return type === 'tool' && typeof toolCallId === 'string' ? { results: [toolCallId] } : undefined
}

// Counts a `{ name, args, id, type }` tool call at depth 2; false for any other shape (the walk
// counts it).
function readCall(call: Record<string, unknown>, id: unknown): boolean {
  const name = call.name
  const args = call.args
  const type = call.type
  const keys = defined(name) + defined(args) + defined(id) + defined(type)
  if (plainKeys(call) !== keys) return false
  addObject(keys)
  ancestors[2] = call
  addField(4, name, 3, media)
  addField(4, args, 3, media)
  addField(2, id, 3, media)
  addField(4, type, 3, media)
  return true
}

function links(message: BaseMessage): MessageLinks | undefined {
  const type = safeTypeOf(message)
  if (type === 'ai') {
    const calls = toolCallIds(message)
    return calls.length === 0 ? undefined : { calls }
  }
  if (type === 'tool') {
    const id = stringOr(peek(message, 'tool_call_id'))
    return id === undefined ? undefined : { results: [id] }
  }
  return undefined
}

function slots(message: BaseMessage): TextSlot[] {
  const content = peek(message, 'content')
  if (typeof content === 'string') return [{ path: ['content'], text: content }]
  const found: TextSlot[] = []
  arrayOr(content)?.forEach((block, i) => {
    const text = peek(block, 'text')
    if (typeof text === 'string') found.push({ path: ['content', i, 'text'], text })
  })
  return found
}

// The constructor fields of a message, read from its public fields (a field set after
// construction wins over the one it was built with).
const FIELDS = ['id', 'name', 'content', 'additional_kwargs', 'response_metadata', 'tool_calls', 'invalid_tool_calls', 'usage_metadata', 'tool_call_id', 'status', 'artifact', 'metadata', 'role'] as const

// A copy of the same class with the string at `path` replaced, made by the class's own
// constructor (so `lc_kwargs`, which serialisation reads, carries the new content too).
function replace(message: BaseMessage, path: TextPath, text: string): BaseMessage {
  const m = message as unknown as Record<string, unknown>
  const fields: Record<string, unknown> = { ...(isObject(m.lc_kwargs) ? m.lc_kwargs : {}) }
  for (const field of FIELDS) if (m[field] !== undefined) fields[field] = m[field]
  const replaced = replaceAt(fields, path, text)
  const Ctor = (message as unknown as { constructor: new (fields: Record<string, unknown>) => BaseMessage }).constructor
  return new Ctor(replaced)
}

function check(messages: readonly BaseMessage[]): FormatProblem[] {
  const problems = new Problems()
  const ledger = new CallLedger(problems)
  const run = new ToolRun(ledger, (id) => `The tool call \`${id}\` is not answered by a ToolMessage right after its AIMessage`)
  messages.forEach((message, index) => {
    const type = safeTypeOf(message)
    const content = peek(message, 'content')
    if (typeof type !== 'string' || !TYPES.has(type) || !(typeof content === 'string' || Array.isArray(content))) {
      problems.add(index, 'INVALID_MESSAGE', 'Expected a LangChain message with a known type and a string or array `content`')
      run.close()
      return
    }
    if (type === 'tool') {
      const id = stringOr(peek(message, 'tool_call_id'))
      if (id === undefined) {
        problems.add(index, 'MISSING_CALL_ID', 'A ToolMessage needs a string `tool_call_id`')
        return
      }
      run.answer(id, index, `The ToolMessage for \`${id}\` does not follow the AIMessage that called it (only ToolMessages may be between)`)
      return
    }
    run.close()
    if (type !== 'ai') return
    run.openCalls(arrayOr(peek(message, 'tool_calls')) ?? [], index, 'A tool call needs a string `id` (providers refuse one without)')
  })
  run.close(true)
  return problems.sorted()
}

const measures = measuresOf(NAME, readMessage, links)

/**
 * The LangChain.js format (`BaseMessage` of `@langchain/core/messages`: `HumanMessage`,
 * `AIMessage`, `ToolMessage`, `SystemMessage`, …). Messages are read through their public
 * fields (`_getType()` or `type`, `content`, `tool_calls`, `tool_call_id`, `name`), never with
 * `instanceof`, so messages made by another copy of `@langchain/core` work too.
 *
 * - Measures: every string of those fields, characters / 4; media blocks by the most a
 *   provider's rule gives (as for {@link aiSdk}): images `width × height / 750` up to 1,600,
 *   audio 32 tokens a second, documents 3,000 tokens a page. `additional_kwargs` and
 *   `response_metadata` are not counted (integrations do not send them as text).
 * - Groups: an AIMessage's `tool_calls` with the ToolMessages that answer them.
 * - `pin`: system messages. `startOn`: human messages.
 * - `check`: every ToolMessage answers a call of the AIMessage before it, with only ToolMessages
 *   between; every call has an id and is answered there (unless they run to the end: in
 *   flight); call ids are unique.
 * - `shrink`: cuts the largest string content or text block, and returns a new message of the
 *   same class (made by its constructor, so it serialises with the new content).
 *
 * @example
 * ```ts
 * import { RingBufferHistory } from 'bounded-session'
 * import { langchain } from 'bounded-session/formats'
 * import type { BaseMessage } from '@langchain/core/messages'
 *
 * const history = new RingBufferHistory<BaseMessage>({ format: langchain, maxTokens: 100_000 })
 * ```
 */
export const langchain: MessageFormat<BaseMessage> = {
  name: NAME,
  sizeOf: measures.sizeOf,
  countTokens: measures.countTokens,
  group: measures.group,
  startOn: (message) => safeTypeOf(message) === 'human',
  pin: (message) => safeTypeOf(message) === 'system',
  shrink: (message, room, measureOf) => shrinkSlots(message, room, measureOf, slots, replace),
  check,
}
