// boundedPrepareStep under the AI SDK's own tool loop (`generateText` with `stopWhen`) at the
// version installed next to this script, driven by its MockLanguageModelV4: 80 steps of parallel
// tool calls. Every prompt is within budget by a count of our own, valid (no tool result without
// its call), and starts with the previous one except where a trim shrank it.
import assert from 'node:assert/strict'
import { generateText, stepCountIs, tool } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import { boundedPrepareStep, modelMessages } from 'bounded-session/ai-sdk'
import * as z from 'zod'
import { independentTokens } from './count.mjs'

const usage = (input) => ({ inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 10, text: 10, reasoning: 0 } })
const steps = 80
const prompts = []
let n = 0
const model = new MockLanguageModelV4({
  doGenerate: async (options) => {
    prompts.push(structuredClone(options.prompt))
    n++
    if (n >= steps) return { content: [{ type: 'text', text: 'All done.' }], finishReason: { unified: 'stop', raw: 'stop' }, usage: usage(independentTokens(options.prompt)), warnings: [] }
    return {
      content: [
        { type: 'text', text: `Step ${n}: looking up two things.` },
        { type: 'tool-call', toolCallId: `call_${n}a`, toolName: 'lookup', input: JSON.stringify({ q: `a${n}` }) },
        { type: 'tool-call', toolCallId: `call_${n}b`, toolName: 'lookup', input: JSON.stringify({ q: `b${n}` }) },
      ],
      finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
      usage: usage(independentTokens(options.prompt)),
      warnings: [],
    }
  },
})
const tools = {
  lookup: tool({ description: 'Looks something up', inputSchema: z.object({ q: z.string() }), execute: async ({ q }) => `result for ${q}: ${'data '.repeat(60)}` }),
}

const maxTokens = 6_000
const result = await generateText({
  model,
  tools,
  system: 'You are a careful researcher.',
  prompt: 'Research everything.',
  stopWhen: stepCountIs(steps),
  prepareStep: boundedPrepareStep({ maxTokens, trimTo: 0.5 }),
})
assert.equal(result.text, 'All done.')
assert.equal(prompts.length, steps)
let shrinks = 0
let breaks = 0
for (let i = 0; i < prompts.length; i++) {
  const prompt = prompts[i]
  assert.ok(independentTokens(prompt) <= maxTokens, `prompt ${i} within budget`)
  const calls = new Set()
  for (const m of prompt) for (const part of Array.isArray(m.content) ? m.content : []) if (part.type === 'tool-call') calls.add(part.toolCallId)
  for (const m of prompt) for (const part of Array.isArray(m.content) ? m.content : []) if (part.type === 'tool-result') assert.ok(calls.has(part.toolCallId), `prompt ${i}: result ${part.toolCallId} has its call`)
  const previous = prompts[i - 1]
  if (previous === undefined) continue
  if (prompt.length < previous.length + 2) shrinks++
  else if (!previous.every((m, j) => JSON.stringify(m) === JSON.stringify(prompt[j]))) breaks++
}
assert.ok(shrinks > 0, 'the loop trimmed')
assert.equal(breaks, 0, 'the prompt kept its prefix except where it was trimmed')
// The format's check on the messages the loop produced.
assert.deepEqual(modelMessages.check(result.response.messages), [])
console.log(`ai-sdk: ${steps} steps within ${maxTokens} tokens, ${shrinks} trims`)
