import type { Content } from '@google/genai'
import { InvalidMessageError } from '../errors.js'
import type { FormatProblem, MessageFormat, MessageLinks } from '../message-format.js'
import { AUDIO_TOKENS_PER_SECOND, PAGE_TOKENS, audioSeconds, base64Bytes, base64Head, base64ImageSize, documentPages, geminiImageTokens } from './media.js'
import { Problems, arrayOr, peek, stringOr } from './problems.js'
import { type TextSlot, replaceAt, shrinkSlots } from './shrink.js'
import { WITH_NEXT, addArray, addField, addItem, addObject, addPart, addString, defined, found, measuresOf, plainKeys } from './read.js'
import { ancestors, isObject, read, visit } from './walk.js'

const NAME = 'gemini'
// Video: 258 tokens a frame at 1 frame a second plus 32 of audio; 1 MB a second when only the
// data's size is known, a minute when not even that.
const VIDEO_TOKENS_PER_SECOND = 290
const VIDEO_BYTES_PER_SECOND = 1_000_000

function blobTokens(mimeType: unknown, data: unknown): number {
  const kind = typeof mimeType === 'string' ? mimeType.slice(0, mimeType.indexOf('/')) : ''
  const bytes = typeof data === 'string' ? base64Bytes(data) : 0
  if (kind === 'image') return geminiImageTokens(typeof data === 'string' ? base64ImageSize(data) : undefined)
  if (kind === 'audio') {
    const seconds = typeof data === 'string' ? audioSeconds(base64Head(data), bytes) : 60
    return Math.ceil(AUDIO_TOKENS_PER_SECOND.gemini * seconds)
  }
  if (kind === 'video') return Math.ceil(VIDEO_TOKENS_PER_SECOND * (typeof data === 'string' ? bytes / VIDEO_BYTES_PER_SECOND : 60))
  return PAGE_TOKENS.gemini * documentPages(bytes)
}

// A part with `inlineData` or `fileData` is media; `mediaResolution.numTokens`, when the part
// carries it, is the provider's own count.
function media(node: object): number | undefined {
  const inline = (node as { inlineData?: unknown }).inlineData
  const file = (node as { fileData?: unknown }).fileData
  if (!isObject(inline) && !isObject(file)) return undefined
  const resolution = (node as { mediaResolution?: unknown }).mediaResolution
  const given = isObject(resolution) ? resolution.numTokens : undefined
  if (typeof given === 'number' && Number.isFinite(given) && given >= 0) return Math.ceil(given)
  if (isObject(inline)) return blobTokens(inline.mimeType, inline.data)
  return blobTokens((file as { mimeType?: unknown }).mimeType, undefined)
}

function readContent(content: Content): MessageLinks | undefined {
  if (!isObject(content)) throw new InvalidMessageError(NAME, content, 'a `Content` object')
  const role = read(NAME, content, 'role')
  if (role !== undefined && role !== 'user' && role !== 'model') throw new InvalidMessageError(NAME, content, "a content with role 'user' or 'model'")
  const parts = read(NAME, content, 'parts')
  if (!Array.isArray(parts)) throw new InvalidMessageError(NAME, content, 'a content with an array of `parts`')
  const keys = 1 + defined(role)
  if (plainKeys(content) !== keys) {
    visit(content, true, 0, media, found)
    return links(content)
  }
  addObject(keys)
  if (role !== undefined) addString(4, role)
  ancestors[0] = content
  ancestors[1] = parts
  found.chars += 5
  addArray(parts.length)
  let calls = false
  for (let i = 0; i < parts.length; i++) {
    const part: unknown = parts[i]
    if (typeof part !== 'object' || part === null) {
      addItem(part, 2, media)
      continue
    }
    if (!readPart(part as Record<string, unknown>)) addPart(part, 2, media)
    if (isObject((part as { functionCall?: unknown }).functionCall)) calls = true
  }
  return calls ? WITH_NEXT : undefined
}

// Counts a part of text (a thought or not), a function call or a function response, with no
// other field, at depth 2; false for any other part (media, which the walk counts).
function readPart(part: Record<string, unknown>): boolean {
  const text = part.text
  const thought = part.thought
  const signature = part.thoughtSignature
  const call = part.functionCall
  const response = part.functionResponse
  const keys = defined(text) + defined(thought) + defined(signature) + defined(call) + defined(response)
  if (plainKeys(part) !== keys) return false
  addObject(keys)
  ancestors[2] = part
  addField(4, text, 3, media)
  addField(7, thought, 3, media)
  addField(16, signature, 3, media)
  if (isObject(call)) readFunction(12, call, 'args')
  else addField(12, call, 3, media)
  if (isObject(response)) readFunction(16, response, 'response')
  else addField(16, response, 3, media)
  return true
}

// Counts a `{ id, name, args }` call or `{ id, name, response }` response at depth 3.
function readFunction(keyLength: number, node: Record<string, unknown>, valueKey: 'args' | 'response'): void {
  found.chars += keyLength
  const id = node.id
  const name = node.name
  const value = node[valueKey]
  const keys = defined(id) + defined(name) + defined(value)
  if (plainKeys(node) !== keys || Array.isArray(node)) {
    addPart(node, 3, media)
    return
  }
  addObject(keys)
  ancestors[3] = node
  addField(2, id, 4, media)
  addField(4, name, 4, media)
  addField(valueKey.length, value, 4, media)
}

const partsOf = (content: unknown): readonly unknown[] => arrayOr(peek(content, 'parts')) ?? []
const roleOf = (content: unknown): unknown => peek(content, 'role') ?? 'user'

// The function calls or responses of a content, with their ids where they have them.
function ofKind(content: unknown, key: 'functionCall' | 'functionResponse'): { count: number; ids: string[] } {
  let count = 0
  const ids: string[] = []
  for (const part of partsOf(content)) {
    const value = peek(part, key)
    if (!isObject(value)) continue
    count++
    const id = stringOr(value.id)
    if (id !== undefined) ids.push(id)
  }
  return { count, ids }
}

// Whether a content has a part with a function call or response (ofKind, without the ids).
function hasPart(content: unknown, key: 'functionCall' | 'functionResponse'): boolean {
  const parts = partsOf(content)
  for (let i = 0; i < parts.length; i++) if (isObject(peek(parts[i], key))) return true
  return false
}

// Gemini needs a turn of responses right after the turn of its calls, and ids are optional on
// both sides, so a turn of calls simply goes with the turn after it.
function links(content: Content): MessageLinks | undefined {
  return hasPart(content, 'functionCall') ? WITH_NEXT : undefined
}

function slots(content: Content): TextSlot[] {
  const found: TextSlot[] = []
  partsOf(content).forEach((part, i) => {
    const text = peek(part, 'text')
    if (typeof text === 'string' && peek(part, 'thought') !== true) found.push({ path: ['parts', i, 'text'], text })
    const response = peek(peek(part, 'functionResponse'), 'response')
    if (isObject(response)) {
      for (const key of Object.keys(response)) {
        const value = response[key]
        if (typeof value === 'string') found.push({ path: ['parts', i, 'functionResponse', 'response', key], text: value })
      }
    }
  })
  return found
}

function check(contents: readonly Content[]): FormatProblem[] {
  const problems = new Problems()
  const seen = new Set<string>()
  contents.forEach((content, index) => {
    const role = roleOf(content)
    const parts = arrayOr(peek(content, 'parts'))
    if ((role !== 'user' && role !== 'model') || parts === undefined) {
      problems.add(index, 'INVALID_MESSAGE', "Expected a content with role 'user' or 'model' and an array of `parts`")
      return
    }
    if (parts.length === 0) problems.add(index, 'EMPTY_CONTENT', 'Gemini refuses a content with no parts')
    if (index === 0 && role === 'model') problems.add(index, 'FIRST_NOT_USER', 'Gemini needs the contents to start with a user turn')
    const calls = ofKind(content, 'functionCall')
    const responses = ofKind(content, 'functionResponse')
    if (role === 'user' && calls.count > 0) problems.add(index, 'WRONG_ROLE', 'A `functionCall` part belongs in a model turn')
    if (role === 'model' && responses.count > 0) problems.add(index, 'WRONG_ROLE', 'A `functionResponse` part belongs in a user turn')
    for (const id of calls.ids) {
      if (seen.has(id)) problems.add(index, 'DUPLICATE_CALL_ID', `The call id \`${id}\` is used by an earlier call`)
      seen.add(id)
    }
    if (role === 'model' && calls.count > 0) {
      const next = contents[index + 1]
      if (next === undefined) return
      const answers = ofKind(next, 'functionResponse')
      if (answers.count === 0) problems.add(index, 'UNANSWERED_CALL', 'A model turn of function calls must be followed by a turn of their responses')
      return
    }
    if (responses.count === 0) return
    const previous = contents[index - 1]
    const asked = previous !== undefined && roleOf(previous) === 'model' ? ofKind(previous, 'functionCall') : { count: 0, ids: [] }
    if (asked.count === 0) {
      problems.add(index, 'ORPHAN_RESULT', 'A turn of function responses must directly follow the model turn with their calls')
      return
    }
    if (asked.count !== responses.count) {
      problems.add(index, 'RESPONSE_COUNT', `The model turn before made ${asked.count} function calls, but this turn has ${responses.count} responses`)
    }
    for (const id of responses.ids) {
      if (asked.ids.length > 0 && !asked.ids.includes(id)) problems.add(index, 'ORPHAN_RESULT', `The response \`${id}\` answers no call of the model turn before it`)
    }
  })
  return problems.sorted()
}

const measures = measuresOf(NAME, readContent, links)

/**
 * The Google Gemini format (`Content` of `@google/genai`).
 *
 * - Measures: every string a content carries (text, thoughts and their signatures, function
 *   arguments and responses), characters / 4; media by Gemini's rules: images 258 tokens (at
 *   most 384 px a side) or 258 per 768-px tile, 1,120 when the size is unknown; audio 32 tokens
 *   a second (a WAV header's rate, else 16 kB a second); video 290 tokens a second (1 MB a
 *   second); PDFs 258 tokens a page (one page per 50 kB); a file known only by `fileUri` as one
 *   image, a minute of audio or video, or one page. A part's `mediaResolution.numTokens` wins.
 * - Groups: a model turn of `functionCall`s with the turn after it (their responses; Gemini
 *   needs them adjacent, and ids are optional).
 * - `startOn`: a user turn without function responses.
 * - `check`: the first turn is a user turn; a turn of function responses directly follows the
 *   model turn of their calls, with as many responses as calls; a model turn of calls is followed
 *   by its responses (unless it is the newest: in flight); no empty `parts`.
 * - `shrink`: cuts the largest text part (not thoughts) or string field of a function response.
 *
 * @example
 * ```ts
 * import { RingBufferHistory } from 'bounded-session'
 * import { gemini } from 'bounded-session/formats'
 * import type { Content } from '@google/genai'
 *
 * const history = new RingBufferHistory<Content>({ format: gemini, maxTokens: 100_000 })
 * ```
 */
export const gemini: MessageFormat<Content> = {
  name: NAME,
  sizeOf: measures.sizeOf,
  countTokens: measures.countTokens,
  group: measures.group,
  startOn: (content) => roleOf(content) === 'user' && !hasPart(content, 'functionResponse'),
  shrink: (content, room, measureOf) => shrinkSlots(content, room, measureOf, slots, replaceAt),
  check,
}
