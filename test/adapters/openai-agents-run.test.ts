// BoundedSession under the Agents SDK's real runner (`run`), with a `Model` implemented here that
// answers every question with a reasoning item and two parallel tool calls, then a reply: 120 turns.
// Every request the model receives is checked: its history within the budget by a count of our
// own, valid for the Responses API, and with the same prefix as the request before it except
// right after a trim.
import { Agent, type AgentInputItem, type Model, type ModelRequest, type ModelResponse, run, setTracingDisabled, tool, Usage } from '@openai/agents'
import { beforeAll, describe, expect, it } from 'vitest'
import * as z from 'zod'
import { BoundedSession, openaiAgents } from '../../src/openai-agents/index.js'
import { RingBufferHistory } from '../../src/index.js'

// An independent count: a quarter token per character of every string value (no keys), which
// never exceeds the adapter's measure, so "within budget" here is no weaker than the adapter's.
function independentTokens(items: readonly unknown[]): number {
  let chars = 0
  const visit = (v: unknown): void => {
    if (typeof v === 'string') chars += v.length
    else if (Array.isArray(v)) v.forEach(visit)
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(visit)
  }
  items.forEach(visit)
  return Math.floor(chars / 4)
}

// The SDK itself drops a function call's `id` when it saves the turn into any session
// (MemorySession too), so within a turn the call carries its id and in later turns it does not.
// That difference is the SDK's; the comparison leaves it out.
const comparable = (item: AgentInputItem): string =>
  JSON.stringify((item as { type?: string }).type === 'function_call' ? { ...item, id: undefined } : item)

class ScriptedModel implements Model {
  readonly requests: AgentInputItem[][] = []
  #calls = 0

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const input = typeof request.input === 'string' ? [{ role: 'user', content: request.input } as AgentInputItem] : request.input
    this.requests.push(structuredClone(input))
    const last = input.at(-1) as { type?: string; role?: string }
    const n = ++this.#calls
    const output: ModelResponse['output'] =
      last.type === 'function_call_result'
        ? [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: `Done with step ${n}: ${'detail '.repeat(20)}` }] }]
        : [
            { type: 'reasoning', id: `rs_${n}`, content: [{ type: 'input_text', text: `thinking about ${n}` }] },
            { type: 'function_call', id: `fc_${n}a`, callId: `call_${n}a`, name: 'lookup', status: 'completed', arguments: JSON.stringify({ q: `a${n}` }) },
            { type: 'function_call', id: `fc_${n}b`, callId: `call_${n}b`, name: 'lookup', status: 'completed', arguments: JSON.stringify({ q: `b${n}` }) },
          ]
    return { usage: new Usage(), output }
  }

  // oxlint-disable-next-line require-yield
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error('not used')
  }
}

const lookup = tool({
  name: 'lookup',
  description: 'Looks something up',
  parameters: z.object({ q: z.string() }),
  execute: async ({ q }) => `result for ${q}: ${'data '.repeat(60)}`,
})

beforeAll(() => setTracingDisabled(true))

describe('BoundedSession under run()', () => {
  it('120 turns with parallel tool calls: every request within budget, valid, and prefix-stable between trims', async () => {
    const maxTokens = 4_000
    const session = new BoundedSession({ maxTokens, trimTo: 0.5 })
    const model = new ScriptedModel()
    const agent = new Agent({ name: 'assistant', instructions: 'Answer with the lookup tool.', model, tools: [lookup] })
    const history = session.history as RingBufferHistory<AgentInputItem>
    let breaks = 0
    let trims = 0
    let shared = 0
    let total = 0
    for (let turn = 0; turn < 120; turn++) {
      const held = (await session.getItems()).length
      const evictedBefore = history.evictedCount
      const first = model.requests.length
      const result = await run(agent, `Question ${turn}: ${'context '.repeat(10)}`, { session })
      expect(result.finalOutput).toMatch(/^Done with step/)
      if (history.evictedCount > evictedBefore) trims++
      for (let r = first; r < model.requests.length; r++) {
        const request = model.requests[r] as AgentInputItem[]
        expect(openaiAgents.check(request)).toEqual([])
        if (r === first) expect(independentTokens(request.slice(0, held))).toBeLessThanOrEqual(maxTokens)
        if (r === 0) continue
        const previous = model.requests[r - 1] as AgentInputItem[]
        total++
        const isPrefix = previous.length <= request.length && previous.every((item, i) => comparable(item) === comparable(request[i] as AgentInputItem))
        if (isPrefix) shared++
        else breaks++
      }
    }
    expect(history.tokens).toBeLessThanOrEqual(maxTokens)
    expect(history.evictedCount).toBeGreaterThan(0)
    // The prefix changes only where the session trimmed (at most once per trimming turn).
    expect(breaks).toBeLessThanOrEqual(trims)
    expect(shared / total).toBeGreaterThan(0.85)
  }, 120_000)

  it('works with a runner that uses only the required methods (an SDK version without the optional ones)', async () => {
    // Older SDK versions call getItems/addItems/popItem/clearSession only; a session object with
    // just those methods, backed by BoundedSession, must behave the same under the runner.
    const inner = new BoundedSession({ maxMessages: 12 })
    const minimal = {
      getSessionId: () => inner.getSessionId(),
      getItems: (limit?: number) => inner.getItems(limit),
      addItems: (items: AgentInputItem[]) => inner.addItems(items),
      popItem: () => inner.popItem(),
      clearSession: () => inner.clearSession(),
    }
    const model = new ScriptedModel()
    const agent = new Agent({ name: 'assistant', model, tools: [lookup] })
    for (let turn = 0; turn < 10; turn++) await run(agent, `Question ${turn}`, { session: minimal })
    const items = await inner.getItems()
    expect(items.length).toBeLessThanOrEqual(12)
    expect(openaiAgents.check(items)).toEqual([])
    for (const request of model.requests) expect(openaiAgents.check(request)).toEqual([])
  })
})
