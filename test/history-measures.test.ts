import { describe, expect, it } from 'vitest'
import { defaultCountTokens, defaultSizeOf, MessageTooLargeError, RingBufferHistory } from '../src/index.js'

// The default measures read every string a message carries (issue 20 item 1): content parts,
// tool inputs and arguments, nested tool results, bytes; the `{ role, content }` string case is
// unchanged and stays on the fast path.

const text = (n: number): string => 'x'.repeat(n)

describe('defaultSizeOf and defaultCountTokens', () => {
  it('the string case is unchanged: a string, and the string content of { role, content }', () => {
    expect(defaultSizeOf('hello')).toBe(16 + 10)
    expect(defaultCountTokens('hello')).toBe(2)
    expect(defaultSizeOf({ role: 'user', content: 'hello' })).toBe(64 + 16 + 10)
    expect(defaultCountTokens({ role: 'user', content: 'hello' })).toBe(2)
  })

  it('content parts are read: 10,000 characters of text are 2,500 tokens, not 0', () => {
    const m = { role: 'user', content: [{ type: 'text', text: text(10_000) }] }
    expect(defaultCountTokens(m)).toBe(2500)
    expect(defaultSizeOf(m)).toBe(64 + 64 + 64 + 16 + 20_000)
  })

  it('tool calls: Anthropic tool_use input, OpenAI tool_calls arguments with null content, nested tool results', () => {
    const anthropic = {
      role: 'assistant',
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'search', input: { query: text(400), filters: [text(40)] } }],
    }
    expect(defaultCountTokens(anthropic)).toBe(Math.ceil(('toolu_1' + 'search' + text(440)).length / 4))
    const openai = { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: JSON.stringify({ q: text(100) }) } }] }
    expect(defaultCountTokens(openai)).toBeGreaterThanOrEqual(25)
    const result = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: text(800) }] }] }
    expect(defaultCountTokens(result)).toBe(Math.ceil(('toolu_1' + text(800)).length / 4))
  })

  it('Gemini parts and an empty string content with tool calls (LangChain, OpenAI) are read', () => {
    expect(defaultCountTokens({ role: 'model', parts: [{ text: text(400) }, { functionCall: { name: 'f', args: { a: text(40) } } }] })).toBe(Math.ceil(441 / 4))
    expect(defaultCountTokens({ role: 'assistant', content: '', tool_calls: [{ id: 'c', name: 'f', args: { a: text(80) } }] })).toBe(Math.ceil(82 / 4))
  })

  it('bytes count by their length; base64 image data by its text (an upper bound)', () => {
    const bytes = new Uint8Array(4000)
    expect(defaultCountTokens({ role: 'user', content: [{ type: 'image', data: bytes }] })).toBe(1000)
    expect(defaultSizeOf({ role: 'user', content: [{ type: 'image', data: bytes }] })).toBeGreaterThanOrEqual(4000)
    const base64 = { role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: text(8000) } }] }
    expect(defaultCountTokens(base64)).toBe(Math.ceil(('image/png'.length + 8000) / 4))
  })

  it('a cycle is counted once and ends; role and type are not counted', () => {
    const m: { role: string; content: unknown[] } = { role: 'user', content: [] }
    m.content.push({ type: 'text', text: 'abcd' }, m)
    expect(defaultCountTokens(m)).toBe(1)
    expect(Number.isFinite(defaultSizeOf(m))).toBe(true)
  })
})

describe('a history with the default measures holds its bounds for content parts', () => {
  it('the example of issue 20: 100 pushes of 10,000 characters under a 1,000-token budget are refused, nothing held', () => {
    const m = { role: 'user', content: [{ type: 'text', text: text(10_000) }] }
    const h = new RingBufferHistory<typeof m>({ maxTokens: 1000 })
    expect(() => h.push(m)).toThrow(MessageTooLargeError)
    expect(h.length).toBe(0)
  })

  it('under budget, tokens and bytes add up what the measures count, and trimming keeps within them', () => {
    const m = { role: 'user', content: [{ type: 'text', text: text(1000) }] }
    const h = new RingBufferHistory<typeof m>({ maxTokens: 1000 })
    for (let i = 0; i < 100; i++) h.push(m)
    expect(h.length).toBe(4)
    expect(h.tokens).toBe(1000)
    expect(h.bytes).toBe(4 * defaultSizeOf(m))
  })
})
