// Issue 10 §2: what each way of bounding a history costs with prompt caching. One long observer
// conversation of the claude-mem worker (examples/claude-mem-worker: observation prompts of 2 to
// ~32k characters, ~1 KB replies) is replayed into each variant, and every model call's prompt
// (the whole history, as the Gemini and OpenAI-compatible agents send it) goes through the
// example's prompt-cache meter, the one `npm run demo` uses: the prefix shared with the previous
// call is a cache read (0.1×), the rest a cache write (1.25×). All variants see the same messages
// in the same order, in one process; the budget is the worker's (400,000 characters).
//
// The example imports `bounded-session` from src/ (tsconfig paths), whatever BENCH_LIBRARY says.
import { createConversationHistory, generationHistory } from '../../examples/claude-mem-worker/history.js'
import { PromptCacheMeter, type PromptCacheTotals, totalsBetween } from '../../examples/claude-mem-worker/prompt-cache.js'
import { buildObservationPrompt, framingPrompt } from '../../examples/claude-mem-worker/prompts.js'
import { createLocalModel } from '../../examples/claude-mem-worker/providers.js'
import { createRandom, observationFor } from '../../examples/claude-mem-worker/traffic.js'
import type { ArrayActiveSession, ConversationMessage } from '../../examples/claude-mem-worker/types.js'
import type { CacheResult } from '../harness.js'

export interface CacheSettings {
  /** Observations in the conversation (each one model call). */
  observations: number
  /** The character budget of every bounded variant. */
  budgetChars: number
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
  beforeObservation(): void
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
        beforeObservation() {
          policy.beforeObservation(session)
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
      h.beforeObservation()
      h.push(turn.prompt)
      meter.record(1, h.prompt())
      h.push(turn.reply)
    }
    const all = meter.totals()
    variants[variant] = { all, steady: totalsBetween(half, all) }
  }
  return [
    {
      kind: 'cache',
      id: 'cache',
      title: `prompt cache, one claude-mem observer conversation of ${settings.observations.toLocaleString('en-US')} observations, budget ${settings.budgetChars.toLocaleString('en-US')} characters`,
      variants,
      detail: { observations: settings.observations, budgetChars: settings.budgetChars, steadyFrom },
    },
  ]
}
