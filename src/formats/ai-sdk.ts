import type { ModelMessage } from 'ai'
import { InvalidMessageError } from '../errors.js'
import type { FormatProblem, MessageFormat, MessageLinks } from '../message-format.js'
import { AUDIO_TOKENS_PER_SECOND, PAGE_TOKENS, type ImageSize, anthropicImageTokens, audioSeconds, base64Bytes, base64Head, base64ImageSize, documentPages, imageSize } from './media.js'
import { CallLedger, Problems, ToolRun, arrayOr, peek, stringOr } from './problems.js'
import { type TextSlot, replaceAt, shrinkSlots } from './shrink.js'
import { addCall, addField, addObject, addResult, addString, found, measuresOf, plainKeys, readRoleContent, readText, takeLinks } from './read.js'
import { ancestors, isObject, read, visit } from './walk.js'

const NAME = 'aiSdk'
const ROLES = new Set(['system', 'user', 'assistant', 'tool'])

// The pixel size of an image given as base64 text, bytes or `{ type: 'data', data }`.
function imageOf(data: unknown): ImageSize | undefined {
  if (typeof data === 'string') return /^(https?|gs|s3):/.test(data) ? undefined : base64ImageSize(data)
  if (data instanceof Uint8Array) return imageSize(data)
  if (data instanceof ArrayBuffer) return imageSize(new Uint8Array(data, 0, Math.min(data.byteLength, 65_536)))
  if (isObject(data) && data.type === 'data') return imageOf(data.data)
  return undefined
}

// The first bytes and the size of an AI SDK data value: base64 text (or a data: URL), bytes, or
// `{ type: 'data', data }`. A URL or a provider reference has neither.
function dataOf(data: unknown): { head: Uint8Array | undefined; bytes: number } {
  if (typeof data === 'string') {
    if (/^(https?|gs|s3):/.test(data)) return { head: undefined, bytes: 0 }
    return { head: base64Head(data), bytes: base64Bytes(data) }
  }
  if (data instanceof Uint8Array) return { head: data, bytes: data.byteLength }
  if (data instanceof ArrayBuffer) return { head: new Uint8Array(data, 0, Math.min(data.byteLength, 65_536)), bytes: data.byteLength }
  if (isObject(data) && data.type === 'data') return dataOf(data.data)
  return { head: undefined, bytes: 0 }
}

// The AI SDK sends a part to whichever provider the model is, so a part costs what the most
// expensive provider rule gives: images by Anthropic's (1,600 tokens unknown), audio at Gemini's
// 32 tokens a second, documents at Anthropic's 3,000 tokens a page.
function media(node: object): number | undefined {
  const type = (node as { type?: unknown }).type
  if (type === 'image' || type === 'image-data' || type === 'image-url') {
    return anthropicImageTokens(imageOf((node as { image?: unknown }).image ?? (node as { data?: unknown }).data))
  }
  if (type !== 'file' && type !== 'file-data' && type !== 'file-url' && type !== 'reasoning-file') return undefined
  const data = (node as { data?: unknown }).data
  if (isObject(data) && data.type === 'text') return undefined
  const mediaType = (node as { mediaType?: unknown }).mediaType
  const { head, bytes } = dataOf(data)
  if (typeof mediaType === 'string' && mediaType.startsWith('image/')) return anthropicImageTokens(imageOf(data))
  if (typeof mediaType === 'string' && mediaType.startsWith('audio/')) {
    return Math.ceil(AUDIO_TOKENS_PER_SECOND.gemini * (bytes === 0 ? 60 : audioSeconds(head, bytes)))
  }
  if (typeof mediaType === 'string' && mediaType.startsWith('text/') && typeof data === 'string' && !/^(https?|gs|s3):/.test(data)) {
    return Math.ceil(bytes / 4)
  }
  return PAGE_TOKENS.anthropic * documentPages(bytes)
}

function readMessage(message: ModelMessage): MessageLinks | undefined {
  if (!isObject(message)) throw new InvalidMessageError(NAME, message, 'a `ModelMessage` object')
  const role = read(NAME, message, 'role')
  if (typeof role !== 'string' || !ROLES.has(role)) {
    throw new InvalidMessageError(NAME, message, "a message with role 'system', 'user', 'assistant' or 'tool'")
  }
  const content = read(NAME, message, 'content')
  if (typeof content !== 'string' && !Array.isArray(content)) {
    throw new InvalidMessageError(NAME, message, 'a message whose `content` is a string or an array of parts')
  }
  if (!readRoleContent(message, role, content, media, readPart)) {
    visit(message, true, 0, media, found)
    return links(message)
  }
  return takeLinks()
}

// Counts a text, reasoning, tool-call or tool-result part with no field but its type's, at
// depth 2, and finds the call the client answers (a provider-executed call is answered by the
// provider, in the same assistant message) or its result; false for any other part (the walk
// counts it).
function readPart(part: Record<string, unknown>, role: string): boolean {
  const type = part.type
  if (type === 'text' || type === 'reasoning') return readText(part, type)
  if (type !== 'tool-call' && type !== 'tool-result') return false
  const id = part.toolCallId
  if (typeof id === 'string') {
    if (type === 'tool-call' && role === 'assistant' && part.providerExecuted !== true) addCall(id)
    else if (type === 'tool-result' && role === 'tool') addResult(id)
  }
  const name = part.toolName
  const value = type === 'tool-call' ? part.input : part.output
  if (typeof id !== 'string' || typeof name !== 'string' || value === undefined || plainKeys(part) !== 4) return false
  addObject(4)
  addString(4, type)
  addString(10, id)
  addString(8, name)
  ancestors[2] = part
  addField(type === 'tool-call' ? 5 : 6, value, 3, media)
  return true
}

const partsOf = (message: unknown): readonly unknown[] => arrayOr(peek(message, 'content')) ?? []

// Calls the client answers: a provider-executed call is answered by the provider, in the same
// assistant message.
function clientCalls(message: unknown): string[] {
  const ids: string[] = []
  for (const part of partsOf(message)) {
    if (peek(part, 'type') !== 'tool-call' || peek(part, 'providerExecuted') === true) continue
    const id = stringOr(peek(part, 'toolCallId'))
    if (id !== undefined) ids.push(id)
  }
  return ids
}

function links(message: ModelMessage): MessageLinks | undefined {
  const role = peek(message, 'role')
  if (role === 'assistant') {
    const calls = clientCalls(message)
    return calls.length === 0 ? undefined : { calls }
  }
  if (role !== 'tool') return undefined
  const results: string[] = []
  for (const part of partsOf(message)) {
    const id = stringOr(peek(part, 'toolCallId'))
    if (peek(part, 'type') === 'tool-result' && id !== undefined) results.push(id)
  }
  return results.length === 0 ? undefined : { results }
}

function slots(message: ModelMessage): TextSlot[] {
  const content = peek(message, 'content')
  if (typeof content === 'string') return [{ path: ['content'], text: content }]
  const found: TextSlot[] = []
  partsOf(message).forEach((part, i) => {
    const type = peek(part, 'type')
    const text = peek(part, 'text')
    if (type === 'text' && typeof text === 'string') found.push({ path: ['content', i, 'text'], text })
    if (type !== 'tool-result') return
    const output = peek(part, 'output')
    const value = peek(output, 'value')
    if (typeof value === 'string') found.push({ path: ['content', i, 'output', 'value'], text: value })
    arrayOr(value)?.forEach((item, j) => {
      const itemText = peek(item, 'text')
      if (peek(item, 'type') === 'text' && typeof itemText === 'string') found.push({ path: ['content', i, 'output', 'value', j, 'text'], text: itemText })
    })
  })
  return found
}

function check(messages: readonly ModelMessage[]): FormatProblem[] {
  const problems = new Problems()
  const ledger = new CallLedger(problems)
  const approvals = new Set<string>()
  const run = new ToolRun(ledger, (id) => `The tool call \`${id}\` is not answered by a tool message right after its assistant message`)
  messages.forEach((message, index) => {
    const role = peek(message, 'role')
    const content = peek(message, 'content')
    if (typeof role !== 'string' || !ROLES.has(role) || !(typeof content === 'string' || Array.isArray(content)) || (role === 'tool' && !Array.isArray(content))) {
      problems.add(index, 'INVALID_MESSAGE', "Expected an object with role 'system', 'user', 'assistant' or 'tool' and a string or array `content`")
      run.close()
      return
    }
    if (role === 'tool') {
      for (const part of partsOf(message)) {
        const type = peek(part, 'type')
        if (type === 'tool-approval-response') {
          const approval = stringOr(peek(part, 'approvalId'))
          if (approval === undefined || !approvals.has(approval)) problems.add(index, 'ORPHAN_RESULT', `The approval response \`${String(approval)}\` answers no approval request`)
          continue
        }
        if (type !== 'tool-result') continue
        const id = stringOr(peek(part, 'toolCallId'))
        if (id === undefined) {
          problems.add(index, 'MISSING_CALL_ID', 'A `tool-result` part needs a string `toolCallId`')
          continue
        }
        run.answer(id, index, `The tool result for \`${id}\` does not answer a call of the assistant message before it (only tool messages may be between)`)
      }
      return
    }
    run.close()
    if (role !== 'assistant') return
    for (const part of partsOf(message)) {
      const type = peek(part, 'type')
      if (type === 'tool-approval-request') {
        const approval = stringOr(peek(part, 'approvalId'))
        if (approval !== undefined) approvals.add(approval)
        continue
      }
      if (type !== 'tool-call') continue
      const id = stringOr(peek(part, 'toolCallId'))
      if (id === undefined) {
        problems.add(index, 'MISSING_CALL_ID', 'A `tool-call` part needs a string `toolCallId`')
        continue
      }
      ledger.call(id, index)
      if (peek(part, 'providerExecuted') !== true) run.open(id, index)
    }
  })
  run.close(true)
  return problems.sorted()
}

const measures = measuresOf(NAME, readMessage, links)

/**
 * The Vercel AI SDK format (`ModelMessage` of `ai`).
 *
 * - Measures: every string the message carries (text, reasoning, tool inputs and outputs, ids),
 *   characters / 4. The SDK sends to any provider, so media cost the most a provider's rule
 *   gives: images by Anthropic's (`width × height / 750`, at most 1,600, read from base64 or byte
 *   data; 1,600 for a URL), audio 32 tokens a second (Gemini; a WAV header's rate, else 16 kB a
 *   second; a minute when the data is a URL), PDFs and other files 3,000 tokens a page (one page
 *   per 50 kB), text files by their text.
 * - Groups: an assistant message's `tool-call`s with the `tool-result`s that answer them
 *   (provider-executed calls, answered in the same message, stand alone).
 * - `pin`: system messages. `startOn`: user messages.
 * - `check`: every `tool-result` answers a call of the assistant message before it, with only
 *   tool messages between; every client call is answered there (unless they run to the end: in
 *   flight); approval responses answer an approval request; call ids are unique.
 * - `shrink`: cuts the largest string content, text part or text tool output.
 *
 * @example
 * ```ts
 * import { RingBufferHistory } from 'bounded-session'
 * import { aiSdk } from 'bounded-session/formats'
 * import type { ModelMessage } from 'ai'
 *
 * const history = new RingBufferHistory<ModelMessage>({ format: aiSdk, maxTokens: 100_000 })
 * ```
 */
export const aiSdk: MessageFormat<ModelMessage> = {
  name: NAME,
  sizeOf: measures.sizeOf,
  countTokens: measures.countTokens,
  group: measures.group,
  startOn: (message) => peek(message, 'role') === 'user',
  pin: (message) => peek(message, 'role') === 'system',
  shrink: (message, room, measureOf) => shrinkSlots(message, room, measureOf, slots, replaceAt),
  check,
}
