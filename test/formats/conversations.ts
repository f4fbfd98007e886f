// Random tool-using conversations for the property tests, in every format: rounds of a user
// message (sometimes with an image), reasoning, parallel tool calls, their results (sometimes
// split over several messages) and a reply. Built from one format-neutral plan, so every format
// sees the same shapes. What the plan produces is valid for its provider; the history must keep
// it so.
import { AIMessage, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages'
import fc from 'fast-check'

export interface Round {
  ask: string
  image: boolean
  thought: string
  calls: { id: string; args: string }[]
  results: string[]
  /** Results per message: 1 = each in its own message, else all in one. */
  split: boolean
  reply: string | undefined
}

const text = fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'é', '字', '😀', '{', '"'), minLength: 1, maxLength: 400 })

export const roundArb: fc.Arbitrary<Omit<Round, 'calls'> & { callCount: number; argTexts: string[] }> = fc.record({
  ask: text,
  image: fc.boolean(),
  thought: text,
  callCount: fc.integer({ min: 0, max: 3 }),
  argTexts: fc.array(text, { minLength: 3, maxLength: 3 }),
  results: fc.array(fc.string({ minLength: 1, maxLength: 1_500 }), { minLength: 3, maxLength: 3 }),
  split: fc.boolean(),
  reply: fc.option(text, { nil: undefined }),
})

/** A plan of rounds with unique call ids. */
export const planArb: fc.Arbitrary<Round[]> = fc.array(roundArb, { minLength: 1, maxLength: 12 }).map((rounds) => {
  let id = 0
  return rounds.map((r) => {
    const calls = r.argTexts.slice(0, r.callCount).map((args) => ({ id: `call_${id++}`, args: JSON.stringify({ q: args }) }))
    return { ask: r.ask, image: r.image, thought: r.thought, calls, results: r.results.slice(0, r.callCount), split: r.split, reply: r.reply }
  })
})

const PNG = (() => {
  const b = new Uint8Array(33)
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
  new DataView(b.buffer).setUint32(16, 300)
  new DataView(b.buffer).setUint32(20, 200)
  return btoa(String.fromCharCode(...b))
})()

const groups = <T>(r: Round, one: (c: Round['calls'][number], i: number) => T): T[][] =>
  r.split ? r.calls.map((c, i) => [one(c, i)]) : r.calls.length === 0 ? [] : [r.calls.map(one)]

/** The messages of a plan in each format, oldest first (a system message first where the format has one). */
export const build = {
  anthropic: (plan: Round[]): unknown[] =>
    plan.flatMap((r) => [
      { role: 'user', content: r.image ? [{ type: 'text', text: r.ask }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] : r.ask },
      ...(r.calls.length === 0
        ? []
        : [
            { role: 'assistant', content: [{ type: 'thinking', thinking: r.thought, signature: 'sig' }, ...r.calls.map((c) => ({ type: 'tool_use', id: c.id, name: 'f', input: JSON.parse(c.args) as object }))] },
            ...groups(r, (c, i) => ({ type: 'tool_result', tool_use_id: c.id, content: r.results[i] })).map((content) => ({ role: 'user', content })),
          ]),
      { role: 'assistant', content: r.reply ?? 'ok' },
    ]),
  openaiChat: (plan: Round[]): unknown[] => [
    { role: 'system', content: 'be brief' },
    ...plan.flatMap((r) => [
      { role: 'user', content: r.image ? [{ type: 'text', text: r.ask }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] : r.ask },
      ...(r.calls.length === 0
        ? []
        : [
            { role: 'assistant', content: null, tool_calls: r.calls.map((c) => ({ id: c.id, type: 'function', function: { name: 'f', arguments: c.args } })) },
            ...r.calls.map((c, i) => ({ role: 'tool', tool_call_id: c.id, content: r.results[i] })),
          ]),
      ...(r.reply === undefined ? [] : [{ role: 'assistant', content: r.reply }]),
    ]),
  ],
  openaiResponses: (plan: Round[]): unknown[] => [
    { role: 'developer', content: 'be brief' },
    ...plan.flatMap((r) => [
      { role: 'user', content: r.image ? [{ type: 'input_text', text: r.ask }, { type: 'input_image', detail: 'auto', image_url: `data:image/png;base64,${PNG}` }] : r.ask },
      ...(r.calls.length === 0
        ? []
        : [
            { type: 'reasoning', id: `rs_${r.calls[0]?.id}`, summary: [{ type: 'summary_text', text: r.thought }] },
            ...r.calls.map((c) => ({ type: 'function_call', call_id: c.id, name: 'f', arguments: c.args })),
            ...r.calls.map((c, i) => ({ type: 'function_call_output', call_id: c.id, output: r.results[i] })),
          ]),
      ...(r.reply === undefined ? [] : [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: r.reply, annotations: [] }] }]),
    ]),
  ],
  aiSdk: (plan: Round[]): unknown[] => [
    { role: 'system', content: 'be brief' },
    ...plan.flatMap((r) => [
      { role: 'user', content: r.image ? [{ type: 'text', text: r.ask }, { type: 'image', image: PNG, mediaType: 'image/png' }] : r.ask },
      ...(r.calls.length === 0
        ? []
        : [
            { role: 'assistant', content: [{ type: 'reasoning', text: r.thought }, ...r.calls.map((c) => ({ type: 'tool-call', toolCallId: c.id, toolName: 'f', input: JSON.parse(c.args) as object }))] },
            ...groups(r, (c, i) => ({ type: 'tool-result', toolCallId: c.id, toolName: 'f', output: { type: 'text', value: r.results[i] } })).map((content) => ({ role: 'tool', content })),
          ]),
      ...(r.reply === undefined ? [] : [{ role: 'assistant', content: r.reply }]),
    ]),
  ],
  gemini: (plan: Round[]): unknown[] =>
    plan.flatMap((r) => [
      { role: 'user', parts: r.image ? [{ text: r.ask }, { inlineData: { mimeType: 'image/png', data: PNG } }] : [{ text: r.ask }] },
      ...(r.calls.length === 0
        ? []
        : [
            { role: 'model', parts: [{ text: r.thought, thought: true }, ...r.calls.map((c) => ({ functionCall: { id: c.id, name: 'f', args: JSON.parse(c.args) as object } }))] },
            { role: 'user', parts: r.calls.map((c, i) => ({ functionResponse: { id: c.id, name: 'f', response: { output: r.results[i] } } })) },
          ]),
      { role: 'model', parts: [{ text: r.reply ?? 'ok' }] },
    ]),
  langchain: (plan: Round[]): unknown[] => [
    new SystemMessage('be brief'),
    ...plan.flatMap((r) => [
      new HumanMessage(r.image ? { content: [{ type: 'text', text: r.ask }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] } : r.ask),
      ...(r.calls.length === 0
        ? []
        : [
            new AIMessage({ content: r.thought, tool_calls: r.calls.map((c) => ({ id: c.id, name: 'f', args: JSON.parse(c.args) as Record<string, unknown> })) }),
            ...r.calls.map((c, i) => new ToolMessage({ content: r.results[i] as string, tool_call_id: c.id })),
          ]),
      ...(r.reply === undefined ? [] : [new AIMessage(r.reply)]),
    ]),
  ],
}

// The media parts, which the independent count leaves out (their estimate is no string's length).
const MEDIA = new Set(['image', 'image_url', 'input_image'])

/**
 * An independent count of a message: every string value it carries (for LangChain, the fields
 * an integration sends), characters / 4 rounded up, media parts left out. The formats count more
 * (keys, numbers, media estimates), never less.
 */
export function independentTokens(message: unknown): number {
  const m = message as Record<string, unknown>
  const root = typeof m._getType === 'function' ? { content: m.content, tool_calls: m.tool_calls, tool_call_id: m.tool_call_id } : m
  let chars = 0
  const visit = (value: unknown): void => {
    if (typeof value === 'string') chars += value.length
    else if (Array.isArray(value)) value.forEach(visit)
    else if (typeof value === 'object' && value !== null) {
      const v = value as Record<string, unknown>
      if (MEDIA.has(v.type as string) || v.inlineData !== undefined) return
      Object.values(v).forEach(visit)
    }
  }
  visit(root)
  return Math.ceil(chars / 4)
}
