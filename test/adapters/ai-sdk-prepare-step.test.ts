// boundedPrepareStep under the AI SDK's own tool loop (`generateText` with `stopWhen`), driven by
// its MockLanguageModelV4: 150 steps of parallel tool calls in one call. Every prompt the model
// receives is within budget by a count of our own, valid (no tool result without its call, no
// call unanswered), and starts with the previous step's prompt except where a trim shrank it.
import type { LanguageModelV4CallOptions, LanguageModelV4GenerateResult } from '@ai-sdk/provider'
import { generateText, type ModelMessage, stepCountIs, tool } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import { describe, expect, it } from 'vitest'
import * as z from 'zod'
import { boundedPrepareStep, modelMessages, ModelMessageHistory } from '../../src/ai-sdk/index.js'

// A count independent of the adapter's: a quarter token per character of every string value.
function independentTokens(value: unknown): number {
  let chars = 0
  const visit = (v: unknown): void => {
    if (typeof v === 'string') chars += v.length
    else if (Array.isArray(v)) v.forEach(visit)
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(visit)
  }
  visit(value)
  return Math.floor(chars / 4)
}

const usage = (input: number) => ({
  inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 10, text: 10, reasoning: 0 },
})

// Calls two tools in parallel on every step until `steps` steps, then answers.
function toolLoopModel(steps: number, overhead = 0, ids = 'call') {
  const prompts: LanguageModelV4CallOptions['prompt'][] = []
  let n = 0
  const model = new MockLanguageModelV4({
    doGenerate: async (options): Promise<LanguageModelV4GenerateResult> => {
      prompts.push(structuredClone(options.prompt))
      n++
      const input = usage(independentTokens(options.prompt) + overhead)
      if (n >= steps) return { content: [{ type: 'text', text: 'All done.' }], finishReason: { unified: 'stop', raw: 'stop' }, usage: input, warnings: [] }
      return {
        content: [
          { type: 'text', text: `Step ${n}: looking up two things.` },
          { type: 'tool-call', toolCallId: `${ids}_${n}a`, toolName: 'lookup', input: JSON.stringify({ q: `a${n}` }) },
          { type: 'tool-call', toolCallId: `${ids}_${n}b`, toolName: 'lookup', input: JSON.stringify({ q: `b${n}` }) },
        ],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
        usage: input,
        warnings: [],
      }
    },
  })
  return { model, prompts }
}

const tools = {
  lookup: tool({
    description: 'Looks something up',
    inputSchema: z.object({ q: z.string() }),
    execute: async ({ q }) => `result for ${q}: ${'data '.repeat(60)}`,
  }),
}

function prefixStats(prompts: readonly unknown[][]) {
  let shared = 0
  let shrunkBreaks = 0
  let otherBreaks = 0
  for (let i = 1; i < prompts.length; i++) {
    const prev = prompts[i - 1] as unknown[]
    const cur = prompts[i] as unknown[]
    const isPrefix = prev.length <= cur.length && prev.every((m, j) => JSON.stringify(m) === JSON.stringify(cur[j]))
    if (isPrefix) shared++
    else if (cur.length < prev.length + 2) shrunkBreaks++
    else otherBreaks++
  }
  return { shared: shared / (prompts.length - 1), shrunkBreaks, otherBreaks }
}

describe('boundedPrepareStep in a generateText tool loop', () => {
  it('150 steps: every prompt within budget, valid, and prefix-stable between trims', async () => {
    const maxTokens = 6_000
    const { model, prompts } = toolLoopModel(150)
    const result = await generateText({
      model,
      tools,
      system: 'You are a careful researcher.',
      messages: [{ role: 'user', content: 'Research everything.' }],
      stopWhen: stepCountIs(200),
      prepareStep: boundedPrepareStep({ maxTokens, trimTo: 0.5, calibrate: false }),
    })
    expect(result.text).toBe('All done.')
    expect(prompts).toHaveLength(150)
    for (const prompt of prompts) {
      expect(independentTokens(prompt)).toBeLessThanOrEqual(maxTokens)
      expect(modelMessages.check(prompt as unknown as ModelMessage[])).toEqual([])
      expect(prompt[0]).toEqual({ role: 'system', content: 'You are a careful researcher.' })
    }
    const stats = prefixStats(prompts)
    expect(stats.otherBreaks).toBe(0)
    expect(stats.shrunkBreaks).toBeGreaterThan(0)
    expect(stats.shared).toBeGreaterThanOrEqual(0.85)
  }, 120_000)

  it('calibrates from the reported usage: the tokens beyond its estimate (tools, instructions) are set aside', async () => {
    const maxTokens = 6_000
    const overhead = 1_500
    const { model, prompts } = toolLoopModel(120, overhead)
    const reported: number[] = []
    await generateText({
      model,
      tools,
      messages: [{ role: 'user', content: 'Research everything.' }],
      stopWhen: stepCountIs(200),
      prepareStep: boundedPrepareStep({ maxTokens, trimTo: 0.5 }),
      onStepFinish: (step) => {
        reported.push(step.usage.inputTokens ?? 0)
      },
    })
    // After the first step has reported, every step's real input fits maxTokens.
    expect(Math.max(...reported.slice(1))).toBeLessThanOrEqual(maxTokens)
    expect(prefixStats(prompts).shared).toBeGreaterThanOrEqual(0.85)
    // Without calibration the same loop goes over.
    const plain = toolLoopModel(120, overhead)
    const plainReported: number[] = []
    await generateText({
      model: plain.model,
      tools,
      messages: [{ role: 'user', content: 'Research everything.' }],
      stopWhen: stepCountIs(200),
      prepareStep: boundedPrepareStep({ maxTokens, trimTo: 0.5, calibrate: false }),
      onStepFinish: (step) => {
        plainReported.push(step.usage.inputTokens ?? 0)
      },
    })
    expect(Math.max(...plainReported)).toBeGreaterThan(maxTokens)
  }, 120_000)

  it('serves two calls at once, each with its own history', async () => {
    const prepareStep = boundedPrepareStep({ maxTokens: 3_000, trimTo: 0.5, calibrate: false })
    const a = toolLoopModel(40)
    const b = toolLoopModel(40)
    await Promise.all([
      generateText({ model: a.model, tools, messages: [{ role: 'user', content: 'Task A' }], stopWhen: stepCountIs(50), prepareStep }),
      generateText({ model: b.model, tools, messages: [{ role: 'user', content: 'Task B' }], stopWhen: stepCountIs(50), prepareStep }),
    ])
    for (const p of a.prompts) expect(JSON.stringify(p)).not.toContain('Task B')
    for (const p of b.prompts) expect(JSON.stringify(p)).not.toContain('Task A')
    for (const p of [...a.prompts, ...b.prompts]) expect(modelMessages.check(p as unknown as ModelMessage[])).toEqual([])
  }, 120_000)

  it('works with an SDK that passes no initialMessages (AI SDK 5): one call at a time shares one history', async () => {
    const prepareStep = boundedPrepareStep({ maxMessages: 10 })
    const messages: ModelMessage[] = [{ role: 'user', content: 'hi' }]
    const first = await prepareStep({ messages, steps: [], stepNumber: 0 } as never)
    expect(first).toEqual({ messages })
  })

  it('refuses unknown options where the function is made', () => {
    expect(() => boundedPrepareStep({ maxTokenz: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'maxTokenz' }))
    expect(() => boundedPrepareStep({ calibrate: 'yes' } as never)).toThrow(expect.objectContaining({ field: 'calibrate' }))
  })
})

describe('ModelMessageHistory across requests (the useChat flow)', () => {
  it('120 requests: load, push the user message, send the history, store the response', async () => {
    const maxTokens = 5_000
    const history = new ModelMessageHistory({ maxTokens, trimTo: 0.5 })
    const prompts: unknown[][] = []
    for (let turn = 0; turn < 120; turn++) {
      const { model, prompts: own } = toolLoopModel(2, 0, `turn${turn}`)
      history.push({ role: 'user', content: `Question ${turn}: ${'context '.repeat(10)}` })
      const result = await generateText({ model, tools, instructions: 'You are helpful.', messages: history.toArray(), stopWhen: stepCountIs(5) })
      history.push(...result.responseMessages)
      prompts.push(own[0] as unknown[])
      expect(independentTokens(own[0])).toBeLessThanOrEqual(maxTokens)
      expect(modelMessages.check(history.toArray())).toEqual([])
    }
    expect(history.evictedCount).toBeGreaterThan(0)
    const stats = prefixStats(prompts)
    expect(stats.shared).toBeGreaterThanOrEqual(0.85)
  }, 120_000)

  it('measures unknown parts instead of reading them as empty', () => {
    const history = new ModelMessageHistory({ maxTokens: 1_000 })
    const odd = { role: 'assistant', content: [{ type: 'custom-part', payload: 'x'.repeat(3_000) }] } as unknown as ModelMessage
    history.push(odd)
    expect(history.tokens).toBeGreaterThanOrEqual(750)
  })
})
