// BoundedSession under the Agents SDK's real runner (`run`) at the version installed next to this
// script, with a `Model` implemented here (a reasoning item and two parallel tool calls, then a
// reply): 60 turns. Every request is valid for the format and its history within the budget by a
// count of our own; the requests keep their prefix except where the session trimmed.
import assert from 'node:assert/strict'
import { Agent, run, setTracingDisabled, tool, Usage } from '@openai/agents'
import { BoundedSession, openaiAgents } from 'bounded-session/openai-agents'
import * as z from 'zod'
import { independentTokens } from './count.mjs'

setTracingDisabled(true)

// The SDK drops a function call's `id` when it saves a turn, into any session.
const comparable = (item) => JSON.stringify(item.type === 'function_call' ? { ...item, id: undefined } : item)

const requests = []
let calls = 0
const model = {
  async getResponse(request) {
    const input = typeof request.input === 'string' ? [{ role: 'user', content: request.input }] : request.input
    requests.push(structuredClone(input))
    const n = ++calls
    const output =
      input.at(-1).type === 'function_call_result'
        ? [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: `Done with step ${n}: ${'detail '.repeat(20)}` }] }]
        : [
            { type: 'reasoning', id: `rs_${n}`, content: [{ type: 'input_text', text: `thinking about ${n}` }] },
            { type: 'function_call', id: `fc_${n}a`, callId: `call_${n}a`, name: 'lookup', status: 'completed', arguments: JSON.stringify({ q: `a${n}` }) },
            { type: 'function_call', id: `fc_${n}b`, callId: `call_${n}b`, name: 'lookup', status: 'completed', arguments: JSON.stringify({ q: `b${n}` }) },
          ]
    return { usage: new Usage(), output }
  },
  async *getStreamedResponse() {
    throw new Error('not used')
  },
}

const lookup = tool({
  name: 'lookup',
  description: 'Looks something up',
  parameters: z.object({ q: z.string() }),
  execute: async ({ q }) => `result for ${q}: ${'data '.repeat(60)}`,
})

const maxTokens = 4_000
const session = new BoundedSession({ maxTokens, trimTo: 0.5 })
const agent = new Agent({ name: 'assistant', instructions: 'Answer with the lookup tool.', model, tools: [lookup] })
let trims = 0
let breaks = 0
for (let turn = 0; turn < 60; turn++) {
  const held = (await session.getItems()).length
  const evicted = session.history.evictedCount
  const first = requests.length
  const result = await run(agent, `Question ${turn}: ${'context '.repeat(10)}`, { session })
  assert.match(result.finalOutput, /^Done with step/)
  if (session.history.evictedCount > evicted) trims++
  for (let r = first; r < requests.length; r++) {
    assert.deepEqual(openaiAgents.check(requests[r]), [], `request ${r} is valid`)
    if (r === first) assert.ok(independentTokens(requests[r].slice(0, held)) <= maxTokens, `request ${r} within budget`)
    const previous = requests[r - 1]
    if (previous !== undefined && !(previous.length <= requests[r].length && previous.every((it, i) => comparable(it) === comparable(requests[r][i])))) breaks++
  }
}
assert.ok(session.history.evictedCount > 0, 'the session trimmed')
assert.ok(breaks <= trims, `the prefix changed only where the session trimmed (${breaks} changes, ${trims} trims)`)
console.log(`openai-agents: 60 turns, ${requests.length} requests within ${maxTokens} tokens, ${trims} trims`)
