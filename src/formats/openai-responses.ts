import type { ResponseInputItem } from 'openai/resources/responses/responses'
import { InvalidMessageError } from '../errors.js'
import type { FormatProblem, MessageFormat, MessageLinks } from '../message-format.js'
import { openaiMedia } from './openai-media.js'
import { CallLedger, Problems, arrayOr, peek, stringOr } from './problems.js'
import { type TextSlot, replaceAt, shrinkSlots } from './shrink.js'
import { WITH_NEXT, addArray, addField, addItem, addObject, addPart, addString, defined, found, measuresOf, plainKeys } from './read.js'
import { ancestors, isObject, read, visit } from './walk.js'

const NAME = 'openaiResponses'

type Kind = 'message' | 'call' | 'output' | 'reasoning' | 'other'

// What an item is, by its `type` (a message may leave `type` out). A call is an item of a
// `*_call` type with a `call_id` that the client answers (server-run tool searches excluded); an
// output is an item of an `*_output` type with a `call_id`. MCP approval requests and responses
// pair the same way, by `id` and `approval_request_id`.
function kindOf(item: unknown): Kind | undefined {
  if (!isObject(item)) return undefined
  const type = peek(item, 'type')
  if (type === undefined || type === 'message') {
    const content = peek(item, 'content')
    return typeof peek(item, 'role') === 'string' && (typeof content === 'string' || Array.isArray(content)) ? 'message' : undefined
  }
  if (typeof type !== 'string') return undefined
  if (type === 'reasoning') return 'reasoning'
  if (type === 'mcp_approval_request') return 'call'
  if (type === 'mcp_approval_response') return 'output'
  if (typeof peek(item, 'call_id') === 'string') {
    if (type.endsWith('_output')) return 'output'
    if (type.endsWith('_call') && !(type === 'tool_search_call' && peek(item, 'execution') !== 'client')) return 'call'
  }
  return 'other'
}

const callIdOf = (item: unknown): string | undefined =>
  peek(item, 'type') === 'mcp_approval_request' ? stringOr(peek(item, 'id')) : stringOr(peek(item, 'call_id'))
const resultIdOf = (item: unknown): string | undefined =>
  peek(item, 'type') === 'mcp_approval_response' ? stringOr(peek(item, 'approval_request_id')) : stringOr(peek(item, 'call_id'))

function readItem(item: ResponseInputItem): MessageLinks | undefined {
  if (!isObject(item)) throw new InvalidMessageError(NAME, item, 'a `ResponseInputItem` object')
  const type = read(NAME, item, 'type')
  if (type === undefined || type === 'message') {
    const role = read(NAME, item, 'role')
    const content = read(NAME, item, 'content')
    if (typeof role !== 'string' || (typeof content !== 'string' && !Array.isArray(content))) {
      throw new InvalidMessageError(NAME, item, 'a message item with a string `role` and a string or array `content`')
    }
  } else if (typeof type !== 'string') {
    throw new InvalidMessageError(NAME, item, 'an item with a string `type`')
  }
  const i = item as Record<string, unknown>
  const id = i.id
  const status = i.status
  let keys = defined(type) + defined(id) + defined(status)
  let links: MessageLinks | undefined
  if (type === undefined || type === 'message') {
    const role = i.role as string
    const content = i.content as string | unknown[]
    keys += 2
    if (plainKeys(item) !== keys) return walkItem(item)
    addString(4, role)
    ancestors[0] = item
    if (typeof content === 'string') addString(7, content)
    else readParts(7, content, 1)
  } else if (type === 'function_call') {
    const callId = i.call_id
    const name = i.name
    const args = i.arguments
    keys += defined(callId) + defined(name) + defined(args)
    if (typeof callId !== 'string' || plainKeys(item) !== keys) return walkItem(item)
    ancestors[0] = item
    addString(7, callId)
    addField(4, name, 1, openaiMedia)
    addField(9, args, 1, openaiMedia)
    links = { calls: [callId] }
  } else if (type === 'function_call_output') {
    const callId = i.call_id
    const output = i.output
    keys += defined(callId) + defined(output)
    if (typeof callId !== 'string' || plainKeys(item) !== keys) return walkItem(item)
    ancestors[0] = item
    addString(7, callId)
    if (Array.isArray(output)) readParts(6, output, 1)
    else addField(6, output, 1, openaiMedia)
    links = { results: [callId] }
  } else if (type === 'reasoning') {
    const summary = i.summary
    const encrypted = i.encrypted_content
    const content = i.content
    keys += defined(summary) + defined(encrypted) + defined(content)
    if (plainKeys(item) !== keys) return walkItem(item)
    ancestors[0] = item
    if (Array.isArray(summary)) readParts(7, summary, 1)
    else addField(7, summary, 1, openaiMedia)
    addField(17, encrypted, 1, openaiMedia)
    addField(7, content, 1, openaiMedia)
    links = WITH_NEXT
  } else return walkItem(item)
  addObject(keys)
  if (type !== undefined) addString(4, type)
  addField(2, id, 1, openaiMedia)
  addField(6, status, 1, openaiMedia)
  return links
}

function walkItem(item: ResponseInputItem): MessageLinks | undefined {
  visit(item, true, 0, openaiMedia, found)
  return links(item)
}

// Counts a field (`keyLength` characters) whose value is an array of parts at `depth` (the
// item set as the ancestor before it): `{ type, text }` parts, with empty `annotations` or
// none, field by field; any other part by the walk.
function readParts(keyLength: number, parts: readonly unknown[], depth: number): void {
  found.chars += keyLength
  ancestors[depth] = parts
  addArray(parts.length)
  for (let k = 0; k < parts.length; k++) {
    const part: unknown = parts[k]
    if (typeof part !== 'object' || part === null) {
      addItem(part, depth + 1, openaiMedia)
      continue
    }
    const type = (part as { type?: unknown }).type
    const text = (part as { text?: unknown }).text
    const annotations = (part as { annotations?: unknown }).annotations
    const empty = Array.isArray(annotations) && annotations.length === 0
    const keys = empty ? 3 : 2
    if (typeof type === 'string' && typeof text === 'string' && (empty || annotations === undefined) && openaiMedia(part) === undefined && plainKeys(part) === keys) {
      addObject(keys)
      addString(4, type)
      addString(4, text)
      if (empty) {
        found.chars += 11
        addArray(0)
      }
    } else addPart(part, depth + 1, openaiMedia)
  }
}

function links(item: ResponseInputItem): MessageLinks | undefined {
  const kind = kindOf(item)
  if (kind === 'reasoning') return WITH_NEXT
  if (kind === 'call') {
    const id = callIdOf(item)
    return id === undefined ? undefined : { calls: [id] }
  }
  if (kind === 'output') {
    const id = resultIdOf(item)
    return id === undefined ? undefined : { results: [id] }
  }
  return undefined
}

function slots(item: ResponseInputItem): TextSlot[] {
  const found: TextSlot[] = []
  for (const key of ['content', 'output'] as const) {
    const value = peek(item, key)
    if (typeof value === 'string') found.push({ path: [key], text: value })
    arrayOr(value)?.forEach((part, i) => {
      const text = peek(part, 'text')
      if (typeof text === 'string') found.push({ path: [key, i, 'text'], text })
    })
  }
  return found
}

function check(items: readonly ResponseInputItem[]): FormatProblem[] {
  const problems = new Problems()
  const ledger = new CallLedger(problems)
  const open = new Map<string, number>()
  let lastMessage = -1
  const kinds = items.map(kindOf)
  kinds.forEach((kind, index) => {
    const item = items[index]
    if (kind === undefined) {
      problems.add(index, 'INVALID_MESSAGE', 'Expected a message item (`role`, `content`) or an item with a string `type`')
      return
    }
    if (kind === 'message') lastMessage = index
    if (kind === 'call') {
      const id = callIdOf(item)
      if (id === undefined) problems.add(index, 'MISSING_CALL_ID', 'A call item needs a string `call_id`')
      else {
        ledger.call(id, index)
        open.set(id, index)
      }
    } else if (kind === 'output') {
      const id = resultIdOf(item)
      if (id === undefined) problems.add(index, 'MISSING_CALL_ID', 'An output item needs a string `call_id`')
      else if (!ledger.answer(id, index)) problems.add(index, 'ORPHAN_RESULT', `The output for \`${id}\` has no call item before it`)
      else open.delete(id)
    } else if (kind === 'reasoning') {
      const next = kinds[index + 1]
      const nextRole = peek(items[index + 1], 'role')
      const produced = next === 'call' || next === 'reasoning' || next === 'other' || (next === 'message' && nextRole === 'assistant')
      if (index + 1 < items.length && !produced) {
        problems.add(index, 'REASONING_WITHOUT_ITEM', 'A `reasoning` item must be followed by the item it produced (a call or an assistant message)')
      }
    }
  })
  // A call with a message after it should have been answered; one with none is in flight.
  for (const [id, index] of open) {
    if (index < lastMessage) problems.add(index, 'UNANSWERED_CALL', `The call \`${id}\` has no output item`)
  }
  return problems.sorted()
}

const measures = measuresOf(NAME, readItem, links)
// The role of a message item (what kindOf calls a message), else undefined.
function roleOf(item: ResponseInputItem): unknown {
  const type = peek(item, 'type')
  if (type !== undefined && type !== 'message') return undefined
  const role = peek(item, 'role')
  const content = peek(item, 'content')
  return typeof role === 'string' && (typeof content === 'string' || Array.isArray(content)) ? role : undefined
}

/**
 * The OpenAI Responses format (input items, `ResponseInputItem` of `openai`).
 *
 * - Measures: every string an item carries (message content, call arguments and outputs, ids,
 *   reasoning summaries and `encrypted_content`), characters / 4; images, audio and files by
 *   OpenAI's rules as for {@link openaiChat}.
 * - Groups: every call item (`function_call`, `custom_tool_call`, `computer_call`, shell and
 *   patch calls, MCP approval requests) with its output by `call_id`; a `reasoning` item with
 *   the item after it.
 * - `pin`: system and developer messages. `startOn`: user messages.
 * - `check`: every output has its call before it; every call has its output (unless no message
 *   follows it: in flight); a `reasoning` item is followed by a call or assistant message (or is
 *   the newest item); call ids are unique.
 * - `shrink`: cuts the largest message text or call output.
 *
 * @example
 * ```ts
 * import { RingBufferHistory } from 'bounded-session'
 * import { openaiResponses } from 'bounded-session/formats'
 * import type { ResponseInputItem } from 'openai/resources/responses/responses'
 *
 * const history = new RingBufferHistory<ResponseInputItem>({ format: openaiResponses, maxTokens: 100_000 })
 * ```
 */
export const openaiResponses: MessageFormat<ResponseInputItem> = {
  name: NAME,
  sizeOf: measures.sizeOf,
  countTokens: measures.countTokens,
  group: measures.group,
  startOn: (item) => roleOf(item) === 'user',
  pin: (item) => {
    const role = roleOf(item)
    return role === 'system' || role === 'developer'
  },
  shrink: (item, room, measureOf) => shrinkSlots(item, room, measureOf, slots, replaceAt),
  check,
}
