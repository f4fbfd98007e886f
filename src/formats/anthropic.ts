import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'
import { InvalidMessageError } from '../errors.js'
import type { MessageFormat, MessageLinks } from '../message-format.js'
import { PAGE_TOKENS, anthropicImageTokens, base64Bytes, base64ImageSize, documentPages } from './media.js'
import { CallLedger, Problems, arrayOr, peek, stringOr } from './problems.js'
import { type TextSlot, replaceAt, shrinkSlots } from './shrink.js'
import { addCall, addField, addObject, addResult, addString, defined, found, measuresOf, plainKeys, readRoleContent, readText, takeLinks } from './read.js'
import { ancestors, isObject, read, visit } from './walk.js'

const NAME = 'anthropic'

function media(node: object): number | undefined {
  const type = (node as { type?: unknown }).type
  if (type === 'image') {
    const source = (node as { source?: unknown }).source
    const data = isObject(source) && source.type === 'base64' ? source.data : undefined
    return anthropicImageTokens(typeof data === 'string' ? base64ImageSize(data) : undefined)
  }
  if (type === 'document') {
    const source = (node as { source?: unknown }).source
    if (!isObject(source)) return PAGE_TOKENS.anthropic
    if (source.type === 'text' || source.type === 'content') return undefined
    const data = source.data
    return PAGE_TOKENS.anthropic * documentPages(typeof data === 'string' ? base64Bytes(data) : 0)
  }
  return undefined
}

function readMessage(message: MessageParam): MessageLinks | undefined {
  if (!isObject(message)) throw new InvalidMessageError(NAME, message, 'a `MessageParam` object')
  const role = read(NAME, message, 'role')
  if (role !== 'user' && role !== 'assistant' && role !== 'system') {
    throw new InvalidMessageError(NAME, message, "a message with role 'user', 'assistant' or 'system'")
  }
  const content = read(NAME, message, 'content')
  if (typeof content !== 'string' && !Array.isArray(content)) {
    throw new InvalidMessageError(NAME, message, 'a message whose `content` is a string or an array of blocks')
  }
  if (!readRoleContent(message, role, content, media, readBlock)) {
    visit(message, true, 0, media, found)
    return links(message)
  }
  return takeLinks()
}

// Counts a text, thinking, tool_use or tool_result block with no field but its type's, at depth
// 2, and finds its call or result; false for any other block (the walk counts it).
function readBlock(block: Record<string, unknown>): boolean {
  const type = block.type
  if (type === 'text') return readText(block, type)
  if (type === 'thinking') {
    const thinking = block.thinking
    const signature = block.signature
    if (typeof thinking !== 'string' || typeof signature !== 'string' || plainKeys(block) !== 3) return false
    addObject(3)
    addString(4, type)
    addString(8, thinking)
    addString(9, signature)
    return true
  }
  if (type === 'tool_use') {
    const id = block.id
    const name = block.name
    const input = block.input
    if (typeof id === 'string') addCall(id)
    if (typeof id !== 'string' || typeof name !== 'string' || input === undefined || plainKeys(block) !== 4) return false
    addObject(4)
    addString(4, type)
    addString(2, id)
    addString(4, name)
    ancestors[2] = block
    addField(5, input, 3, media)
    return true
  }
  if (type === 'tool_result') {
    const id = block.tool_use_id
    const inner = block.content
    const isError = block.is_error
    const keys = 2 + defined(inner) + defined(isError)
    if (typeof id === 'string') addResult(id)
    if (typeof id !== 'string' || plainKeys(block) !== keys) return false
    addObject(keys)
    addString(4, type)
    addString(11, id)
    ancestors[2] = block
    addField(7, inner, 3, media)
    addField(8, isError, 3, media)
    return true
  }
  return false
}

const blocksOf = (message: unknown): readonly unknown[] => arrayOr(peek(message, 'content')) ?? []

function links(message: MessageParam): MessageLinks | undefined {
  const blocks = blocksOf(message)
  let calls: string[] | undefined
  let results: string[] | undefined
  for (const block of blocks) {
    const type = peek(block, 'type')
    if (type === 'tool_use') {
      const id = stringOr(peek(block, 'id'))
      if (id !== undefined) (calls ??= []).push(id)
    } else if (type === 'tool_result') {
      const id = stringOr(peek(block, 'tool_use_id'))
      if (id !== undefined) (results ??= []).push(id)
    }
  }
  if (calls === undefined && results === undefined) return undefined
  return { calls, results }
}

function startsTurn(message: MessageParam): boolean {
  if (peek(message, 'role') !== 'user') return false
  const first = blocksOf(message)[0]
  return first === undefined || peek(first, 'type') !== 'tool_result'
}

function slots(message: MessageParam): TextSlot[] {
  const content = peek(message, 'content')
  if (typeof content === 'string') return [{ path: ['content'], text: content }]
  const found: TextSlot[] = []
  blocksOf(message).forEach((block, i) => {
    const type = peek(block, 'type')
    const text = peek(block, 'text')
    if (type === 'text' && typeof text === 'string') found.push({ path: ['content', i, 'text'], text })
    if (type !== 'tool_result') return
    const inner = peek(block, 'content')
    if (typeof inner === 'string') found.push({ path: ['content', i, 'content'], text: inner })
    else {
      arrayOr(inner)?.forEach((part, j) => {
        const partText = peek(part, 'text')
        if (peek(part, 'type') === 'text' && typeof partText === 'string') found.push({ path: ['content', i, 'content', j, 'text'], text: partText })
      })
    }
  })
  return found
}

interface Turn {
  role: 'user' | 'assistant'
  blocks: { index: number; type: unknown; block: unknown }[]
  indexes: number[]
}

function check(messages: readonly MessageParam[]): ReturnType<MessageFormat<MessageParam>['check']> {
  const problems = new Problems()
  const ledger = new CallLedger(problems)
  const turns: Turn[] = []
  messages.forEach((message, index) => {
    const role = peek(message, 'role')
    const content = peek(message, 'content')
    const valid =
      (role === 'user' || role === 'assistant' || role === 'system') && (typeof content === 'string' || Array.isArray(content))
    if (!valid) {
      problems.add(index, 'INVALID_MESSAGE', "Expected an object with role 'user', 'assistant' or 'system' and a string or array `content`")
      return
    }
    const empty = content.length === 0
    if (empty && !(role === 'assistant' && index === messages.length - 1)) {
      problems.add(index, 'EMPTY_CONTENT', 'Anthropic refuses a message with empty content (only the final assistant message may be empty)')
    }
    if (role === 'system') {
      if (peek(messages[index - 1], 'role') !== 'user') {
        problems.add(index, 'MISPLACED_SYSTEM', 'A system message in `messages` must follow a user message (put the system prompt in `system`)')
      }
      return
    }
    const last = turns[turns.length - 1]
    const turn: Turn = last !== undefined && last.role === role ? last : { role, blocks: [], indexes: [] }
    if (turn !== last) turns.push(turn)
    turn.indexes.push(index)
    const blocks = typeof content === 'string' ? [{ type: 'text' }] : content
    for (const block of blocks) turn.blocks.push({ index, type: peek(block, 'type'), block })
  })
  if (turns[0] !== undefined && turns[0].role !== 'user') {
    problems.add(turns[0].indexes[0] ?? 0, 'FIRST_NOT_USER', 'Anthropic needs the first message to be a user message')
  }
  let calls = new Map<string, number>()
  turns.forEach((turn, t) => {
    if (turn.role === 'assistant') {
      calls = new Map()
      for (const { index, type, block } of turn.blocks) {
        if (type === 'tool_result') problems.add(index, 'WRONG_ROLE', 'A `tool_result` block belongs in a user message')
        if (type !== 'tool_use') continue
        const id = stringOr(peek(block, 'id'))
        if (id === undefined) {
          problems.add(index, 'MISSING_CALL_ID', 'A `tool_use` block needs a string `id`')
          continue
        }
        ledger.call(id, index)
        calls.set(id, index)
      }
      return
    }
    let otherSeen = false
    let resultsOnly = true
    for (const { index, type, block } of turn.blocks) {
      if (type === 'tool_use') problems.add(index, 'WRONG_ROLE', 'A `tool_use` block belongs in an assistant message')
      if (type !== 'tool_result') {
        otherSeen = true
        resultsOnly = false
        continue
      }
      if (otherSeen) problems.add(index, 'RESULT_NOT_FIRST', '`tool_result` blocks must come first in their user turn')
      const id = stringOr(peek(block, 'tool_use_id'))
      if (id === undefined) {
        problems.add(index, 'MISSING_CALL_ID', 'A `tool_result` block needs a string `tool_use_id`')
        continue
      }
      ledger.answer(id, index)
      if (!calls.has(id)) problems.add(index, 'ORPHAN_RESULT', `The \`tool_result\` for \`${id}\` does not answer a \`tool_use\` of the assistant message right before it`)
    }
    const inFlight = t === turns.length - 1 && resultsOnly
    if (!inFlight) {
      for (const [id, index] of calls) {
        if (!ledger.answered(id)) problems.add(index, 'UNANSWERED_CALL', `The \`tool_use\` \`${id}\` is not answered by a \`tool_result\` in the next user message`)
      }
    }
    calls = new Map()
  })
  return problems.sorted()
}

const measures = measuresOf(NAME, readMessage, links)

/**
 * The Anthropic Messages format (`MessageParam` of `@anthropic-ai/sdk`).
 *
 * - Measures: every string the message carries (text, tool inputs and results, ids, thinking and
 *   its signature), characters / 4; images by Anthropic's rule, `width × height / 750` capped at
 *   1,600 tokens (1,600 when the size cannot be read from the data); PDFs 3,000 tokens a page,
 *   one page per 50 kB (one page when known only by URL or file id); text documents by their text.
 * - Groups: a `tool_use` with its `tool_result`s by id.
 * - `startOn`: a user message that does not start with a `tool_result`.
 * - `check`: the first message is a user message; every `tool_result` answers a `tool_use` of
 *   the assistant turn right before it and comes first in its turn; every `tool_use` is answered
 *   in the next user turn (unless it is in flight: the newest turn); no empty content (but a final
 *   assistant message); a system message in `messages` follows a user message (consecutive
 *   messages of one role are one turn, as the API merges them).
 * - `shrink`: cuts the largest text block, string content or `tool_result` text.
 *
 * @example
 * ```ts
 * import { RingBufferHistory } from 'bounded-session'
 * import { anthropic } from 'bounded-session/formats'
 * import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'
 *
 * const history = new RingBufferHistory<MessageParam>({ format: anthropic, maxTokens: 100_000, trimTo: 0.5 })
 * ```
 */
export const anthropic: MessageFormat<MessageParam> = {
  name: NAME,
  sizeOf: measures.sizeOf,
  countTokens: measures.countTokens,
  group: measures.group,
  startOn: startsTurn,
  shrink: (message, room, measureOf) => shrinkSlots(message, room, measureOf, slots, replaceAt),
  check,
}
