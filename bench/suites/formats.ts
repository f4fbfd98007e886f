// Issue 20: the cost of a push with each format of bounded-session/formats, on that format's own
// traffic (text, parallel tool calls and their results, reasoning, the odd image), beside the
// string case: `{ role, content: string }` messages carrying the same text, with the default
// measures. Both histories have the same capacity and byte and token budgets that bind.
import { type Settings, type SpeedResult, type Variant, compare } from '../harness.js'
import { prng } from '../data.js'
import { lib, loadFormatsLib } from '../library.js'
import type * as Formats from '../../src/formats/index.js'

const { RingBufferHistory, defaultSizeOf, defaultCountTokens } = lib
type Format = Formats.MessageFormat<unknown>

const OPS = 1000
const POOL = 1024
const PNG = (() => {
  const b = new Uint8Array(33)
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
  new DataView(b.buffer).setUint32(16, 800)
  new DataView(b.buffer).setUint32(20, 600)
  return btoa(String.fromCharCode(...b)) + 'A'.repeat(4_000)
})()

/** One round of a tool-using conversation, as plain data every format is made from. */
interface Round {
  ask: string
  image: boolean
  thought: string
  calls: { id: string; name: string; args: string }[]
  results: string[]
  reply: string
}

export function rounds(rand: () => number, scale: number): Round[] {
  const text = (min: number, max: number): string => 'lorem ipsum '.repeat(Math.ceil((min + rand() * (max - min)) * scale / 12)).slice(0, Math.max(1, Math.round((min + rand() * (max - min)) * scale)))
  const out: Round[] = []
  let id = 0
  while (out.length * 6 < POOL) {
    const n = 1 + Math.floor(rand() * 3)
    const calls = Array.from({ length: n }, () => ({ id: `call_${id++}`, name: 'read_file', args: `{"path":"${text(10, 60)}"}` }))
    out.push({ ask: text(40, 2_000), image: rand() < 0.1, thought: text(20, 400), calls, results: calls.map(() => text(100, 4_000)), reply: text(40, 1_500) })
  }
  return out
}

/** The messages of every round in one format, oldest first. */
type Build<T> = (round: Round) => T[]

// LangChain's classes, loaded by the suite (not when the child starts: other suites do not need them).
let lc: typeof import('@langchain/core/messages')

export const builders = {
  anthropic: ((r) => [
    { role: 'user', content: r.image ? [{ type: 'text', text: r.ask }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] : r.ask },
    {
      role: 'assistant',
      content: [{ type: 'thinking', thinking: r.thought, signature: 'sig' }, ...r.calls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: JSON.parse(c.args) as object }))],
    },
    { role: 'user', content: r.calls.map((c, i) => ({ type: 'tool_result', tool_use_id: c.id, content: r.results[i] as string })) },
    { role: 'assistant', content: [{ type: 'text', text: r.reply }] },
  ]) as Build<unknown>,
  openaiChat: ((r) => [
    { role: 'user', content: r.image ? [{ type: 'text', text: r.ask }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] : r.ask },
    { role: 'assistant', content: null, tool_calls: r.calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args } })) },
    ...r.calls.map((c, i) => ({ role: 'tool', tool_call_id: c.id, content: r.results[i] as string })),
    { role: 'assistant', content: r.reply },
  ]) as Build<unknown>,
  openaiResponses: ((r) => [
    { role: 'user', content: r.ask },
    { type: 'reasoning', id: `rs_${r.calls[0]?.id}`, summary: [{ type: 'summary_text', text: r.thought }] },
    ...r.calls.map((c) => ({ type: 'function_call', call_id: c.id, name: c.name, arguments: c.args })),
    ...r.calls.map((c, i) => ({ type: 'function_call_output', call_id: c.id, output: r.results[i] as string })),
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: r.reply, annotations: [] }] },
  ]) as Build<unknown>,
  aiSdk: ((r) => [
    { role: 'user', content: r.image ? [{ type: 'text', text: r.ask }, { type: 'image', image: PNG, mediaType: 'image/png' }] : r.ask },
    { role: 'assistant', content: [{ type: 'reasoning', text: r.thought }, ...r.calls.map((c) => ({ type: 'tool-call', toolCallId: c.id, toolName: c.name, input: JSON.parse(c.args) as object }))] },
    { role: 'tool', content: r.calls.map((c, i) => ({ type: 'tool-result', toolCallId: c.id, toolName: c.name, output: { type: 'text', value: r.results[i] as string } })) },
    { role: 'assistant', content: r.reply },
  ]) as Build<unknown>,
  gemini: ((r) => [
    { role: 'user', parts: r.image ? [{ text: r.ask }, { inlineData: { mimeType: 'image/png', data: PNG } }] : [{ text: r.ask }] },
    { role: 'model', parts: [{ text: r.thought, thought: true }, ...r.calls.map((c) => ({ functionCall: { id: c.id, name: c.name, args: JSON.parse(c.args) as object } }))] },
    { role: 'user', parts: r.calls.map((c, i) => ({ functionResponse: { id: c.id, name: c.name, response: { output: r.results[i] as string } } })) },
    { role: 'model', parts: [{ text: r.reply }] },
  ]) as Build<unknown>,
  langchain: ((r) => [
    new lc.HumanMessage(r.ask),
    new lc.AIMessage({ content: '', tool_calls: r.calls.map((c) => ({ id: c.id, name: c.name, args: JSON.parse(c.args) as Record<string, unknown> })) }),
    ...r.calls.map((c, i) => new lc.ToolMessage({ content: r.results[i] as string, tool_call_id: c.id })),
    new lc.AIMessage(r.reply),
  ]) as Build<unknown>,
}

/** The format names the suite measures, in order. */
export const FORMAT_NAMES = Object.keys(builders) as (keyof typeof builders)[]

/** The string case: one `{ role, content }` per message, carrying the same tokens. */
function asString(message: unknown, format: Format): { role: string; content: string } {
  // Its characters: 4 per token the format counts (media estimates included), so that both
  // histories hold the same tokens under the same token budget and trim as often.
  const tokens = format.countTokens(message)
  return { role: 'user', content: 'x'.repeat(Math.max(1, tokens * 4)) }
}

export async function formatsSuite(capacity: number, smoke: boolean, settings: Settings): Promise<SpeedResult[]> {
  const formats = await loadFormatsLib()
  lc = await import('@langchain/core/messages')
  const rand = prng(0x5eed_0020)
  const plan = rounds(rand, smoke ? 0.05 : 1)
  const results: SpeedResult[] = []
  for (const name of FORMAT_NAMES) {
    const format = formats[name] as unknown as Format
    const pool = plan.flatMap(builders[name]).slice(0, POOL)
    const strings = pool.map((m) => asString(m, format))
    let tokens = 0
    let bytes = 0
    let stringBytes = 0
    for (const [i, m] of pool.entries()) {
      tokens += format.countTokens(m)
      bytes += format.sizeOf(m)
      stringBytes += defaultSizeOf(strings[i])
    }
    // Budgets that bind: a quarter of the capacity's worth of mean messages, in each case's bytes.
    const maxTokens = Math.ceil((capacity * tokens) / pool.length / 4)
    const maxBytes = Math.ceil((capacity * bytes) / pool.length / 4)
    const withFormat = new RingBufferHistory<unknown>({
      maxMessages: capacity,
      maxTokens,
      maxBytes,
      format,
    })
    // The same format without its group rule: what the groups cost apart from the reading.
    const withoutGroups = new RingBufferHistory<unknown>({
      maxMessages: capacity,
      maxTokens,
      maxBytes,
      format: { ...format, group: undefined } as unknown as Format,
    })
    const plain = new RingBufferHistory<{ role: string; content: string }>({ maxMessages: capacity, maxTokens, maxBytes: Math.ceil((capacity * stringBytes) / pool.length / 4) })
    // For reference: the string messages through the callback path (measures, startOn and pin as
    // callbacks, no group), which shows what the history's general path costs apart from the
    // format's reading of its messages and its groups.
    const callbacks = new RingBufferHistory<{ role: string; content: string }>({
      maxMessages: capacity,
      maxTokens,
      maxBytes: Math.ceil((capacity * stringBytes) / pool.length / 4),
      sizeOf: (m) => defaultSizeOf(m),
      countTokens: (m) => defaultCountTokens(m),
      startOn: (m) => m.role === 'user',
      pin: (m) => m.role === 'system',
    })
    for (let i = 0; i < capacity + 2 * OPS; i++) {
      withFormat.push(pool[i % pool.length])
      withoutGroups.push(pool[i % pool.length])
      plain.push(strings[i % strings.length] as { role: string; content: string })
      callbacks.push(strings[i % strings.length] as { role: string; content: string })
    }
    let a = 0
    let b = 0
    let c = 0
    let d = 0
    const variants: Variant[] = [
      {
        name: `${name} format`,
        run() {
          for (let k = 0; k < OPS; k++) {
            withFormat.push(pool[a])
            if (++a === pool.length) a = 0
          }
        },
      },
      {
        name: `${name} format without groups`,
        run() {
          for (let k = 0; k < OPS; k++) {
            withoutGroups.push(pool[d])
            if (++d === pool.length) d = 0
          }
        },
      },
      {
        name: 'string messages through callbacks (measures, startOn, pin)',
        run() {
          for (let k = 0; k < OPS; k++) {
            callbacks.push(strings[c] as { role: string; content: string })
            if (++c === strings.length) c = 0
          }
        },
      },
      {
        name: 'string messages, default measures',
        run() {
          for (let k = 0; k < OPS; k++) {
            plain.push(strings[b] as { role: string; content: string })
            if (++b === strings.length) b = 0
          }
        },
      },
    ]
    results.push(compare(`formats-${name}-${capacity}`, `push with the ${name} format on its own traffic vs string messages with the same tokens, capacity ${capacity.toLocaleString('en-US')}`, OPS, variants, settings))
  }
  return results
}
