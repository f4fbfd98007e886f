// Issue 10 §2: what each way of bounding a history costs with prompt caching. One long observer
// conversation of the claude-mem worker (examples/claude-mem-worker: observation prompts of 2 to
// ~32k characters, ~1 KB replies) is replayed into each variant, and every model call's prompt
// (the whole history, as the Gemini and OpenAI-compatible agents send it) goes through the
// example's prompt-cache meter, the one `npm run demo` uses: the prefix shared with the previous
// call is a cache read (0.1×), the rest a cache write (1.25×). All variants see the same messages
// in the same order, in one process; the budget is the worker's (400,000 characters).
//
// Issue 21, "Cost with clocks": the same variants on the claude-mem traffic with its real gaps
// (examples/claude-mem-worker/traffic.ts, the demo's stream: sessions through the working day,
// bursts of observations minutes apart, each burst a conversation of its own, since a resume
// comes hours later, after every design has dropped the session; a call that falls in a quota
// outage is made when the outage ends), billed under every price table
// with its cache lifetime: a call more than the TTL after the previous one reads nothing.
//
// The example imports `bounded-session` from src/ (tsconfig paths), whatever BENCH_LIBRARY says.
import { createConversationHistory, generationHistory } from '../../examples/claude-mem-worker/history.js'
import { type CachePricing, PRICE_TABLES, PromptCacheMeter, type PromptCacheTotals, totalsBetween } from '../../examples/claude-mem-worker/prompt-cache.js'
import { buildObservationPrompt, framingPrompt } from '../../examples/claude-mem-worker/prompts.js'
import { createLocalModel } from '../../examples/claude-mem-worker/providers.js'
import { createRandom, generateTraffic, observationFor, type TrafficEvent } from '../../examples/claude-mem-worker/traffic.js'
import type { ArrayActiveSession, ConversationMessage } from '../../examples/claude-mem-worker/types.js'
import type { CacheResult } from '../harness.js'
import { type BoundBurst, coldTrimBound } from './cold-trim-bound.js'

export interface CacheSettings {
  /** Observations in the conversation (each one model call). */
  observations: number
  /** The character budget of every bounded variant. */
  budgetChars: number
  /** The traffic of the clocks part: days of sessions, and sessions per day. */
  days: number
  sessionsPerDay: number
}

/** The variants, in the order of the report. */
export const cacheVariants = ['unbounded array', 'sliding window (trimTo 1)', 'trimTo 0.5', 'trimTo 0', 'generation recycle (claude-mem v13)'] as const
export type CacheVariant = (typeof cacheVariants)[number]

interface Turn {
  prompt: ConversationMessage
  reply: ConversationMessage
}

// The worker's traffic for one long session: tool outputs skewed towards small, up to ~32k.
async function conversation(observations: number): Promise<Turn[]> {
  const random = createRandom(0xcac4e)
  const model = createLocalModel()
  const signal = new AbortController().signal
  const turns: Turn[] = []
  for (let i = 0; i < observations; i++) {
    const s = random()
    const chars = 2048 + Math.floor(s * s * (32_768 - 2048))
    const data = observationFor({ kind: 'observation', at: i * 30_000, session: 1, promptNumber: 1, chars, seed: Math.floor(random() * 2 ** 31) })
    const text = buildObservationPrompt(data, i * 30_000)
    const reply = await model({ provider: 'claude', sessionDbId: 1, messages: [{ role: 'user', text }], signal })
    turns.push({ prompt: { role: 'user', content: text }, reply: { role: 'assistant', content: reply } })
  }
  return turns
}

/** How one variant holds the history: append, and what the host does before an observation. */
interface Holder {
  push(message: ConversationMessage): void
  beforeObservation(next: ConversationMessage): void
  prompt(): Iterable<ConversationMessage>
}

function holder(variant: CacheVariant, framing: ConversationMessage, budgetChars: number): Holder {
  switch (variant) {
    case 'unbounded array': {
      const history: ConversationMessage[] = [framing]
      return { push: (m) => void history.push(m), beforeObservation() {}, prompt: () => history }
    }
    case 'generation recycle (claude-mem v13)': {
      // The example's v13 policy: over the budget before an observation, back to [framing].
      const policy = generationHistory(budgetChars)
      const session = { conversationHistory: [], consecutiveRecycles: 0 } as unknown as ArrayActiveSession
      policy.seed(session, framing)
      return {
        push: (m) => policy.append(session, m),
        beforeObservation(next) {
          policy.beforePrompt(session, next, 'observation')
          session.consecutiveRecycles = 0 // the pause after two in a row is the worker's; never hit here
        },
        prompt: () => session.conversationHistory,
      }
    }
    default: {
      const trimTo = variant === 'trimTo 0.5' ? 0.5 : variant === 'trimTo 0' ? 0 : 1
      const history = createConversationHistory(budgetChars, { trimTo })
      history.pushPinned(framing)
      return { push: (m) => void history.push(m), beforeObservation() {}, prompt: () => history }
    }
  }
}

export async function cacheSuite(settings: CacheSettings): Promise<CacheResult[]> {
  const turns = await conversation(settings.observations)
  const framing = framingPrompt({ project: 'bench', contentSessionId: 'bench', userPrompt: 'fix the failing tests', lastPromptNumber: 1 })
  const variants: Record<string, { all: PromptCacheTotals; steady: PromptCacheTotals }> = {}
  // Steady state: the second half of the conversation, long after every budget was first reached.
  const steadyFrom = Math.floor(turns.length / 2)
  for (const variant of cacheVariants) {
    const meter = new PromptCacheMeter()
    const h = holder(variant, framing, settings.budgetChars)
    meter.record(1, h.prompt())
    h.push({ role: 'assistant', content: '<ack>observing</ack>' })
    let half = meter.totals()
    for (const [i, turn] of turns.entries()) {
      if (i === steadyFrom) half = meter.totals()
      h.beforeObservation(turn.prompt)
      h.push(turn.prompt)
      meter.record(1, h.prompt())
      h.push(turn.reply)
    }
    const all = meter.totals()
    variants[variant] = { all, steady: totalsBetween(half, all) }
  }
  return [
    ...(await clocksSuite(settings)),
    {
      kind: 'cache',
      id: 'cache',
      title: `prompt cache, one claude-mem observer conversation of ${settings.observations.toLocaleString('en-US')} observations, budget ${settings.budgetChars.toLocaleString('en-US')} characters`,
      variants,
      detail: { observations: settings.observations, budgetChars: settings.budgetChars, steadyFrom },
    },
  ]
}

const ACK: ConversationMessage = { role: 'assistant', content: '<ack>observing</ack>' }

/** The variants of the clocks part, in the order of the report. */
export const clockVariants = ['sliding window (trimTo 1)', 'trimTo 0.5', 'trimTo 0.5 + cacheTtlMs', 'trimTo 0.5 + cacheTtlMs + coldTrimTo 0.1', 'trimTo 0', 'generation recycle (claude-mem v13)'] as const

/** How far the coldTrimTo variant's cold trims go. */
export const COLD_TRIM_TO = 0.1
export type ClockVariant = (typeof clockVariants)[number]

// The conversations of the traffic: one per burst (a prompt and the observations after it), each
// observation at its time in the stream.
function* bursts(events: readonly TrafficEvent[]): Generator<{ session: number; promptNumber: number; observations: Extract<TrafficEvent, { kind: 'observation' }>[] }> {
  const open = new Map<number, { session: number; promptNumber: number; observations: Extract<TrafficEvent, { kind: 'observation' }>[] }>()
  for (const event of events) {
    if (event.kind === 'prompt') {
      const previous = open.get(event.session)
      if (previous !== undefined) yield previous
      open.set(event.session, { session: event.session, promptNumber: event.promptNumber, observations: [] })
    } else if (event.kind === 'observation') open.get(event.session)?.observations.push(event)
  }
  yield* open.values()
}

function clockHolder(variant: ClockVariant, framing: ConversationMessage, budgetChars: number, pricing: CachePricing, now: () => number): Holder {
  switch (variant) {
    case 'trimTo 0.5 + cacheTtlMs': {
      // Cold-cache trims: a push more than the table's lifetime after the previous one trims to half.
      const history = createConversationHistory(budgetChars, { trimTo: 0.5, cacheTtlMs: pricing.ttlMs, now })
      history.pushPinned(framing)
      return { push: (m) => void history.push(m), beforeObservation() {}, prompt: () => history }
    }
    case 'trimTo 0.5 + cacheTtlMs + coldTrimTo 0.1': {
      // The same, with cold trims down to a tenth of the budget: a cold trim is free however deep.
      const history = createConversationHistory(budgetChars, { trimTo: 0.5, cacheTtlMs: pricing.ttlMs, coldTrimTo: COLD_TRIM_TO, now })
      history.pushPinned(framing)
      return { push: (m) => void history.push(m), beforeObservation() {}, prompt: () => history }
    }
    case 'generation recycle (claude-mem v13)':
      return holder('generation recycle (claude-mem v13)', framing, budgetChars)
    case 'trimTo 0.5':
      return holder('trimTo 0.5', framing, budgetChars)
    case 'trimTo 0':
      return holder('trimTo 0', framing, budgetChars)
    case 'sliding window (trimTo 1)':
      return holder('sliding window (trimTo 1)', framing, budgetChars)
  }
}

async function clocksSuite(settings: CacheSettings): Promise<CacheResult[]> {
  const events = generateTraffic({ seed: 532, days: settings.days, sessionsPerDay: settings.sessionsPerDay })
  const outages = events.flatMap((e) => (e.kind === 'quota' ? [e] : []))
  const model = createLocalModel()
  const signal = new AbortController().signal
  const meters = PRICE_TABLES.map((pricing) => new Map(clockVariants.map((variant) => [variant, new PromptCacheMeter({ pricing })] as const)))
  let conversations = 0
  let calls = 0
  let gapsOverFive = 0
  // Per table: calls after a gap over its TTL while trimTo 0.5 held more than half the budget
  // (where a cold trim can save), and calls with more than half the budget at all.
  const coldAboveHalf = PRICE_TABLES.map(() => 0)
  let aboveHalf = 0
  // Every burst's message sizes and call times, for the offline bound (cold-trim-bound.ts).
  const boundBursts: BoundBurst[] = []
  for (const burst of bursts(events)) {
    const id = ++conversations
    const framing: ConversationMessage = {
      ...framingPrompt({ project: `project-${burst.session % 7}`, contentSessionId: `claude-session-${burst.session}`, userPrompt: `Request ${burst.promptNumber} of session ${burst.session}`, lastPromptNumber: burst.promptNumber }),
    }
    // The burst's turns, made once and shared by every variant and table.
    const turns: (Turn & { at: number })[] = []
    for (const event of burst.observations) {
      const text = buildObservationPrompt(observationFor(event), event.at)
      // During a quota outage the call waits for its end (the session pauses, then resumes).
      const outage = outages.find((o) => o.at <= event.at && event.at < o.until)
      const at = Math.max(outage?.until ?? 0, turns.at(-1)?.at ?? 0, event.at)
      const reply = await model({ provider: 'gemini', sessionDbId: id, messages: [{ role: 'user', text: framing.content }, { role: 'user', text }], signal })
      turns.push({ at, prompt: { role: 'user', content: text }, reply: { role: 'assistant', content: reply } })
    }
    for (const [i, turn] of turns.entries()) if (i > 0 && turn.at - (turns[i - 1]?.at ?? 0) > 5 * 60_000) gapsOverFive++
    calls += turns.length
    const startAt = (burst.observations[0]?.at ?? 0) - 1000
    boundBursts.push({
      framingChars: framing.content.length,
      ackChars: ACK.content.length,
      startAt,
      calls: turns.map((turn) => ({ at: turn.at, promptChars: turn.prompt.content.length, replyChars: turn.reply.content.length })),
    })
    for (const [t, table] of PRICE_TABLES.entries()) {
      for (const variant of clockVariants) {
        const meter = meters[t]?.get(variant) as PromptCacheMeter
        let at = startAt
        const h = clockHolder(variant, framing, settings.budgetChars, table, () => at)
        meter.record(id, h.prompt(), startAt)
        h.push(ACK)
        let previousAt = startAt
        for (const turn of turns) {
          at = turn.at
          if (variant === 'trimTo 0.5') {
            let chars = 0
            for (const m of h.prompt()) chars += m.content.length
            if (chars > settings.budgetChars / 2) {
              if (t === 0) aboveHalf++
              if (turn.at - previousAt > table.ttlMs) coldAboveHalf[t] = (coldAboveHalf[t] ?? 0) + 1
            }
          }
          previousAt = turn.at
          h.beforeObservation(turn.prompt)
          h.push(turn.prompt)
          meter.record(id, h.prompt(), turn.at)
          h.push(turn.reply)
        }
      }
    }
  }
  return PRICE_TABLES.map((table, t): CacheResult => {
    const variants: Record<string, { all: PromptCacheTotals; steady: PromptCacheTotals }> = {}
    for (const variant of clockVariants) {
      const all = (meters[t]?.get(variant) as PromptCacheMeter).totals()
      variants[variant] = { all, steady: all }
    }
    // The best any cold-trim policy could do on this traffic (an offline bound), and this model's
    // own bill of trimTo 0.5 with and without cold trims, to check it against the meter's.
    const bound = coldTrimBound(boundBursts, settings.budgetChars, table, 0.95, 0.5, COLD_TRIM_TO)
    return {
      kind: 'cache',
      id: `cache-clocks-${t}`,
      title: `${table.name}: the claude-mem traffic (${settings.days} day(s) × ${settings.sessionsPerDay} sessions, ${conversations.toLocaleString('en-US')} bursts, ${calls.toLocaleString('en-US')} observations, ${gapsOverFive.toLocaleString('en-US')} gaps over 5 min), budget ${settings.budgetChars.toLocaleString('en-US')} characters`,
      variants,
      detail: {
        table: t,
        conversations,
        calls,
        gapsOverFive,
        budgetChars: settings.budgetChars,
        aboveHalf,
        coldAboveHalf: coldAboveHalf[t] ?? 0,
        boundBillRatio: bound.boundBillRatio,
        boundContextRatio: bound.minContextRatio,
        boundPolicyBillRatio: bound.atBound.billRatio,
        boundPolicyContextRatio: bound.atBound.contextRatio,
        modelPlainBill: bound.plain.bill,
        modelDesignBill: bound.design.bill,
        modelColdBill: bound.designCold.bill,
      },
    }
  })
}
