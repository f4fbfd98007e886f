import type { AgentInputItem } from '@openai/agents'
import { countAllTokens, sizeOfAll } from '../adapter-kit/measure.js'
import type { FormatProblem, MessageFormat, MessageLinks } from '../message-format.js'
import { shrinkLongestString } from '../adapter-kit/shrink.js'

// The Agents SDK's own items (`AgentInputItem`, its protocol types): close to the Responses API's
// input items but camelCase (`callId`), with `function_call_result` items, `status` fields and
// calls of its own (shell, apply_patch, computer, program). A call and its result are tied by
// `callId`; a reasoning item belongs with the item after it.

const CALLS = new Set(['function_call', 'computer_call', 'shell_call', 'apply_patch_call', 'program', 'tool_search_call'])
const RESULTS = new Set([
  'function_call_result',
  'computer_call_result',
  'shell_call_output',
  'apply_patch_call_output',
  'program_output',
  'tool_search_output',
])

function typeOf(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return undefined
  const type = (item as { type?: unknown }).type
  if (typeof type === 'string') return type
  return typeof (item as { role?: unknown }).role === 'string' ? 'message' : undefined
}

function callIdOf(item: unknown): string | undefined {
  const record = item as { callId?: unknown; call_id?: unknown }
  const id = record.callId ?? record.call_id
  return typeof id === 'string' && id !== '' ? id : undefined
}

function linksOf(item: AgentInputItem): MessageLinks | undefined {
  const type = typeOf(item)
  if (type === undefined) return undefined
  if (type === 'reasoning') return { withNext: true }
  const id = callIdOf(item)
  if (id === undefined) return undefined
  // A client-side tool search has a call and an output; a hosted one (no callId) stands alone.
  if (CALLS.has(type)) return { calls: [id] }
  if (RESULTS.has(type)) return { results: [id] }
  return undefined
}

/** A window may start at anything but a result (its call would be missing). */
function startsTurn(item: AgentInputItem): boolean {
  const type = typeOf(item)
  return type === undefined || !RESULTS.has(type)
}

function isSystem(item: AgentInputItem): boolean {
  const role = (item as { role?: unknown }).role
  return typeOf(item) === 'message' && (role === 'system' || role === 'developer')
}

function check(items: readonly AgentInputItem[]): FormatProblem[] {
  const problems: FormatProblem[] = []
  const open = new Map<string, number>()
  const answered = new Set<string>()
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as AgentInputItem
    const type = typeOf(item)
    if (type === undefined) {
      problems.push({ index: i, code: 'UNKNOWN_ITEM', message: `item ${i} is not an object with a \`type\` or a \`role\`` })
      continue
    }
    const id = callIdOf(item)
    if (type === 'reasoning' && i === items.length - 1) {
      // The newest item may be reasoning still waiting for what it produces.
    } else if (type === 'reasoning') {
      const next = typeOf(items[i + 1])
      if (next === 'reasoning' || next === undefined) {
        problems.push({ index: i, code: 'ORPHAN_REASONING', message: `reasoning item ${i} is not followed by the item it produced` })
      }
    }
    if (id === undefined) continue
    if (CALLS.has(type)) open.set(id, i)
    else if (RESULTS.has(type)) {
      if (!open.has(id) && !answered.has(id)) {
        problems.push({ index: i, code: 'ORPHAN_RESULT', message: `${type} ${JSON.stringify(id)} at ${i} answers no earlier call` })
      }
      open.delete(id)
      answered.add(id)
    }
  }
  // Calls still open are allowed only in the newest group (a turn still in flight): after the
  // last open call there may be nothing but other calls, results and reasoning.
  for (const [id, index] of open) {
    for (let j = index + 1; j < items.length; j++) {
      const type = typeOf(items[j])
      if (type === 'message') {
        problems.push({ index, code: 'UNANSWERED_CALL', message: `call ${JSON.stringify(id)} at ${index} has no result before item ${j}` })
        break
      }
    }
  }
  return problems
}

/**
 * The {@link MessageFormat} of the OpenAI Agents SDK's session items (`AgentInputItem`): every
 * string an item carries is measured (unknown item types included, never read as empty), a call
 * and its result are one group by `callId` (function, computer, shell, apply_patch, program and
 * client tool-search calls), a reasoning item goes with the item after it, system and developer
 * messages are pinned, and `check` finds what the Responses API refuses (a result without its call,
 * a call left unanswered before a later message, reasoning without what it produced).
 *
 * Tokens are estimated: one per 4 characters of every string and key, and 765 per image or file
 * (a 1024 × 1024 image at high detail).
 */
export const openaiAgents: MessageFormat<AgentInputItem> = {
  name: 'openai-agents',
  sizeOf: sizeOfAll,
  countTokens: countAllTokens,
  group: linksOf,
  startOn: startsTurn,
  pin: isSystem,
  shrink: shrinkLongestString,
  check,
}
