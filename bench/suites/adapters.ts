// Issue 23's measures, per adapter: (a) the cost of one bounded step at 1,000 messages against
// the framework's own default path, and (b) the share of each request's tokens that repeats the
// previous request's prefix (what a provider's prompt cache can serve) over a long tool loop, at
// steady state (from the first trim on), against the framework's default way of bounding.
//
// - OpenAI Agents: a turn's session work (`getItems()` then `addItems` of the turn's items) on
//   BoundedSession, holding the budget's share (a fifth of the conversation, trimmed to half of
//   that), vs the SDK's MemorySession holding the whole conversation and growing as the bench
//   runs (its default: no bound).
// - AI SDK: one step's `prepareStep` vs the hand-written recipe (estimate every message by its
//   JSON length ÷ 4 on every step and drop the oldest until it fits), at 1,000 messages.
// - LangChain: one call of `boundedTrimmer` vs `trimMessages` (strategy 'last', the same token
//   counter) on the same 1,000-message history.
//
// Each pair is timed call by call, alternating (see `timePair`).
import { MemorySession, type AgentInputItem } from '@openai/agents'
import type { ModelMessage } from 'ai'
import { AIMessage, type BaseMessage, HumanMessage, SystemMessage, ToolMessage, trimMessages } from '@langchain/core/messages'
import { aiSdk, langchain } from '../../src/formats/index.js'
import { boundedPrepareStep } from '../../src/ai-sdk/index.js'
import { BoundedSession, openaiAgents } from '../../src/openai-agents/index.js'
import { boundedTrimmer } from '../../src/langchain/index.js'
import type { CacheResult, Result, Settings, SpeedResult } from '../harness.js'
import type { PromptCacheTotals } from '../../examples/claude-mem-worker/prompt-cache.js'

const MESSAGES = 1_000

// Times two operations against each other: `rounds` rounds of `ops` calls of each, after one
// discarded warm-up round. The calls alternate (a, b, b, a, a, b, …), so a slow stretch of a
// shared machine lands on both; each call starts from an empty young generation (a minor GC,
// untimed), so neither pays for the other's garbage. A round's figure is its mean per call, so
// the occasional expensive call (a trim) counts at its share.
async function timePair(a: () => unknown, b: () => unknown, ops: number, rounds: number): Promise<[number[], number[]]> {
  const outA: number[] = []
  const outB: number[] = []
  const once = async (fn: () => unknown): Promise<number> => {
    globalThis.gc?.({ type: 'minor' })
    const t0 = process.hrtime.bigint()
    await fn()
    return Number(process.hrtime.bigint() - t0)
  }
  for (let r = -1; r < rounds; r++) {
    let nsA = 0
    let nsB = 0
    for (let i = 0; i < ops; i++) {
      if (i % 2 === 0) {
        nsA += await once(a)
        nsB += await once(b)
      } else {
        nsB += await once(b)
        nsA += await once(a)
      }
    }
    if (r >= 0) {
      outA.push(nsA / ops)
      outB.push(nsB / ops)
    }
  }
  return [outA, outB]
}

function speed(id: string, title: string, ops: number, rounds: number, nsPerOp: Record<string, number[]>): SpeedResult {
  const samples: Record<string, number[]> = {}
  for (const k of Object.keys(nsPerOp)) samples[k] = (nsPerOp[k] as number[]).map(() => ops)
  return { kind: 'speed', id, title, ops, rounds, samples, nsPerOp }
}

// Prefix-cache accounting of a sequence of requests: the tokens of the prefix a request shares
// with the one before are reads, the rest writes.
class PrefixMeter<T> {
  readonly all = totals()
  readonly steady = totals()
  #previous: T[] = []
  #steady = false
  constructor(readonly tokensOf: (m: T) => number) {}
  request(messages: T[], trimmed: boolean): void {
    if (trimmed) this.#steady = true
    let shared = 0
    while (shared < messages.length && shared < this.#previous.length && messages[shared] === this.#previous[shared]) shared++
    let read = 0
    let input = 0
    for (let i = 0; i < messages.length; i++) {
      const t = this.tokensOf(messages[i] as T)
      input += t
      if (i < shared) read += t
    }
    for (const t of this.#steady ? [this.all, this.steady] : [this.all]) {
      t.calls++
      t.inputTokens += input
      t.cacheReadTokens += read
      t.cacheWriteTokens += input - read
      t.cost += read * 0.1 + (input - read) * 1.25
      t.uncachedCost += input
      t.peakContextTokens = Math.max(t.peakContextTokens, input)
    }
    this.#previous = messages
  }
}

function totals(): PromptCacheTotals {
  return { calls: 0, inputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, plainTokens: 0, cost: 0, uncachedCost: 0, peakContextTokens: 0, peakContextChars: 0, contextLost: 0 }
}

// ---- OpenAI Agents -------------------------------------------------------------------------

const agentUser = (i: number): AgentInputItem => ({ role: 'user', content: [{ type: 'input_text', text: `Question ${i}: ${'context '.repeat(10)}` }] })
const agentTurn = (i: number): AgentInputItem[] => [
  agentUser(i),
  { type: 'function_call', callId: `c${i}`, name: 'lookup', status: 'completed', arguments: JSON.stringify({ q: `q${i}` }) },
  { type: 'function_call_result', callId: `c${i}`, name: 'lookup', status: 'completed', output: { type: 'text', text: `result ${i}: ${'data '.repeat(40)}` } },
  { role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: `Answer ${i}: ${'detail '.repeat(10)}` }] },
]

async function agentsSuite(smoke: boolean, settings: Settings): Promise<Result[]> {
  const turns = MESSAGES / 4
  const memory = new MemorySession()
  for (let i = 0; i < turns; i++) await memory.addItems(agentTurn(i))
  // The same conversation under a budget that holds a fifth of it, trimmed in steps.
  const budget = Math.ceil((agentTurn(0).reduce((n, it) => n + openaiAgents.countTokens(it), 0) * turns) / 5)
  const bounded = new BoundedSession({ maxTokens: budget, trimTo: 0.5 })
  for (let i = 0; i < turns; i++) await bounded.addItems(agentTurn(i))
  // The fills warmed up addItems; reads (which change nothing) warm up getItems, so that the
  // measured rounds do not include its compilation.
  for (let i = 0; i < (smoke ? 2 : 50); i++) {
    await bounded.getItems()
    await memory.getItems()
  }
  const ops = smoke ? 2 : 10
  const rounds = smoke ? 1 : settings.rounds
  let n = turns
  const [ours, base] = await timePair(
    async () => {
      await bounded.getItems()
      await bounded.addItems(agentTurn(n++))
    },
    async () => {
      await memory.getItems()
      await memory.addItems(agentTurn(n++))
    },
    ops,
    rounds,
  )
  const results: Result[] = [
    speed('adapter-agents-turn', `one turn's session work (getItems + addItems) from ${MESSAGES.toLocaleString('en-US')} items`, 1, rounds, {
      'BoundedSession (maxTokens, trimTo 0.5)': ours,
      'MemorySession (unbounded)': base,
    }),
  ]
  // Cache share over a long loop: trimTo 0.5 against the sliding window (trimTo 1) at the same budget.
  const loop = smoke ? 60 : 600
  const variants: CacheResult['variants'] = {}
  for (const [name, trimTo] of [['BoundedSession trimTo 0.5', 0.5], ['sliding window (trimTo 1)', 1]] as const) {
    const session = new BoundedSession({ maxTokens: budget, trimTo })
    const meter = new PrefixMeter<AgentInputItem>(openaiAgents.countTokens)
    const history = session.history as unknown as { evictedCount: number }
    // Requests compare by content: getItems() returns copies.
    const seen = new Map<string, AgentInputItem>()
    const canon = (it: AgentInputItem) => {
      const key = JSON.stringify(it)
      let v = seen.get(key)
      if (v === undefined) seen.set(key, (v = it))
      return v
    }
    for (let i = 0; i < loop; i++) {
      const items = (await session.getItems()).map(canon)
      const turn = agentTurn(i).map(canon)
      meter.request([...items, turn[0] as AgentInputItem], history.evictedCount > 0)
      await session.addItems(turn)
    }
    variants[name] = { all: meter.all, steady: meter.steady }
  }
  results.push({ kind: 'cache', id: 'adapter-cache-agents', title: 'OpenAI Agents: prefix shared with the previous request', variants, detail: { budget } })
  return results
}

// ---- AI SDK --------------------------------------------------------------------------------

function aiTokens(m: unknown): number {
  return aiSdk.countTokens(m as ModelMessage)
}

const aiStep = (i: number): ModelMessage[] => [
  { role: 'assistant', content: [{ type: 'text', text: `Step ${i}` }, { type: 'tool-call', toolCallId: `c${i}`, toolName: 'lookup', input: { q: `q${i}` } }] },
  { role: 'tool', content: [{ type: 'tool-result', toolCallId: `c${i}`, toolName: 'lookup', output: { type: 'text', value: `result ${i}: ${'data '.repeat(40)}` } }] },
]

// The recipe a user writes by hand: estimate every message on every step, drop the oldest pairs
// until the estimate fits.
function recipe(maxTokens: number) {
  return ({ messages }: { messages: ModelMessage[] }) => {
    const est = messages.map((m) => Math.ceil(JSON.stringify(m).length / 4))
    let total = est.reduce((a, b) => a + b, 0)
    let from = 1
    while (total > maxTokens && from < messages.length - 2) {
      total -= (est[from] as number) + (est[from + 1] as number)
      from += 2
    }
    return { messages: [messages[0] as ModelMessage, ...messages.slice(from)] }
  }
}

async function aiSdkSuite(smoke: boolean, settings: Settings): Promise<Result[]> {
  const first: ModelMessage = { role: 'user', content: 'Research everything.' }
  const all: ModelMessage[] = [first]
  for (let i = 0; all.length < MESSAGES + 8_000; i++) all.push(...aiStep(i))
  const totalOf = (ms: ModelMessage[]) => ms.reduce((n, m) => n + aiTokens(m), 0)
  // A budget of 1,000 messages' tokens: the recipe slides at 1,000 messages, ours holds 500 to 1,000.
  const budget = totalOf(all.slice(0, MESSAGES))
  const ops = smoke ? 20 : 200
  const rounds = smoke ? 1 : settings.rounds
  // Ours: the SDK hands back what the previous step returned plus the step's new messages.
  const ps = boundedPrepareStep({ maxTokens: budget, trimTo: 0.5, calibrate: false })
  const initialMessages = [first]
  let sent = ps({ messages: all.slice(0, MESSAGES - 1), initialMessages, steps: [] }).messages
  let k = MESSAGES - 1
  // The recipe on the same list, built as the SDK builds it (the previous list plus the step's messages).
  const r = recipe(budget)
  let list = all.slice(0, MESSAGES - 1)
  let j = MESSAGES - 1
  const [ours, base] = await timePair(
    () => {
      sent = ps({ messages: [...sent, all[k] as ModelMessage, all[k + 1] as ModelMessage], initialMessages, steps: [] }).messages
      k += 2
    },
    () => {
      list = r({ messages: [...list, all[j] as ModelMessage, all[j + 1] as ModelMessage] }).messages
      j += 2
    },
    ops,
    rounds,
  )
  const results: Result[] = [
    speed('adapter-ai-sdk-step', `one prepareStep at a budget of ${MESSAGES.toLocaleString('en-US')} messages`, 1, rounds, {
      boundedPrepareStep: ours,
      'hand-written prepareStep (JSON length ÷ 4, drop oldest)': base,
    }),
  ]
  // Cache share over a 600-step loop, budget a fifth of it.
  const steps = smoke ? 60 : 600
  const loopBudget = Math.ceil(totalOf(all.slice(0, steps * 2)) / 5)
  const variants: CacheResult['variants'] = {}
  {
    const meter = new PrefixMeter<ModelMessage>(aiTokens)
    const p = boundedPrepareStep({ maxTokens: loopBudget, trimTo: 0.5, calibrate: false })
    const init = [first]
    let out: ModelMessage[] = [first]
    let prevLen = 0
    for (let s = 0; s < steps; s++) {
      out = p({ messages: [...out, ...aiStep(s + 10_000).map((m, q) => all[1 + 2 * s + q] ?? m)], initialMessages: init, steps: [] }).messages
      meter.request(out, out.length < prevLen + 2)
      prevLen = out.length
    }
    variants['boundedPrepareStep trimTo 0.5'] = { all: meter.all, steady: meter.steady }
  }
  {
    const meter = new PrefixMeter<ModelMessage>(aiTokens)
    const rr = recipe(loopBudget)
    let list: ModelMessage[] = [first]
    let prevLen = 0
    for (let s = 0; s < steps; s++) {
      list = rr({ messages: [...list, all[1 + 2 * s] as ModelMessage, all[2 + 2 * s] as ModelMessage] }).messages
      meter.request(list, list.length < prevLen + 2)
      prevLen = list.length
    }
    variants['hand-written prepareStep (sliding)'] = { all: meter.all, steady: meter.steady }
  }
  results.push({ kind: 'cache', id: 'adapter-cache-ai-sdk', title: 'AI SDK: prefix shared with the previous step', variants, detail: { budget: loopBudget } })
  return results
}

// ---- LangChain -----------------------------------------------------------------------------

function lcMessages(count: number): BaseMessage[] {
  const out: BaseMessage[] = [new SystemMessage('You are a careful researcher.')]
  for (let i = 0; out.length < count; i++) {
    out.push(new HumanMessage(`Question ${i}: ${'context '.repeat(10)}`))
    out.push(new AIMessage({ content: '', tool_calls: [{ id: `c${i}`, name: 'lookup', args: { q: `q${i}` }, type: 'tool_call' }] }))
    out.push(new ToolMessage({ content: `result ${i}: ${'data '.repeat(40)}`, tool_call_id: `c${i}` }))
    out.push(new AIMessage(`Answer ${i}: ${'detail '.repeat(10)}`))
  }
  return out
}

async function langchainSuite(smoke: boolean, settings: Settings): Promise<Result[]> {
  const all = lcMessages(MESSAGES + 4_000)
  const tokenCounter = (ms: BaseMessage[]) => ms.reduce((n, m) => n + langchain.countTokens(m), 0)
  const budget = Math.ceil(tokenCounter(all.slice(0, MESSAGES)) / 2)
  const ops = smoke ? 4 : 40
  const rounds = smoke ? 1 : settings.rounds
  const trimmer = boundedTrimmer({ maxTokens: budget, trimTo: 0.5 })
  let n = MESSAGES
  await trimmer.invoke(all.slice(0, n))
  const options = { maxTokens: budget, strategy: 'last' as const, tokenCounter, includeSystem: true, startOn: 'human' as const }
  let m = MESSAGES
  const [ours, base] = await timePair(
    async () => {
      n += 4
      await trimmer.invoke(all.slice(0, n))
    },
    async () => {
      m += 4
      await trimMessages(all.slice(m - MESSAGES, m), options)
    },
    ops,
    rounds,
  )
  const results: Result[] = [
    speed('adapter-langchain-trim', `one trim at ${MESSAGES.toLocaleString('en-US')} messages`, 1, rounds, {
      boundedTrimmer: ours,
      "trimMessages (strategy 'last')": base,
    }),
  ]
  // trimMessages re-counts the list at every step of its search, so its loop is kept shorter.
  const turns = smoke ? 15 : 100
  const loopBudget = Math.ceil(tokenCounter(all.slice(0, turns * 4)) / 5)
  const variants: CacheResult['variants'] = {}
  {
    const meter = new PrefixMeter<BaseMessage>((x) => langchain.countTokens(x))
    const t = boundedTrimmer({ maxTokens: loopBudget, trimTo: 0.5 })
    let prev = 0
    for (let i = 1; i <= turns * 4; i++) {
      const out = await t.invoke(all.slice(0, i + 1))
      meter.request(out, out.length <= prev)
      prev = out.length
    }
    variants['boundedTrimmer trimTo 0.5'] = { all: meter.all, steady: meter.steady }
  }
  {
    const meter = new PrefixMeter<BaseMessage>((x) => langchain.countTokens(x))
    const o = { ...options, maxTokens: loopBudget }
    let prev = 0
    for (let i = 1; i <= turns * 4; i++) {
      const out = await trimMessages(all.slice(0, i + 1), o)
      meter.request(out, out.length <= prev)
      prev = out.length
    }
    variants["trimMessages (strategy 'last')"] = { all: meter.all, steady: meter.steady }
  }
  results.push({ kind: 'cache', id: 'adapter-cache-langchain', title: 'LangChain: prefix shared with the previous call', variants, detail: { budget: loopBudget } })
  return results
}

/** The adapters suite: speed and cache share for each adapter. */
export async function adaptersSuite(smoke: boolean, settings: Settings): Promise<Result[]> {
  return [...(await agentsSuite(smoke, settings)), ...(await aiSdkSuite(smoke, settings)), ...(await langchainSuite(smoke, settings))]
}

