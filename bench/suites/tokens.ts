// Issue 21, token accuracy: how far a history's token count is from the provider's, with the
// default estimate (characters ÷ 4), after 1, 5 and 20 calibrations from reported usage, and with
// an exact counter plugged in through `countTokens`. The provider is simulated exactly: its
// reported input is the o200k count (gpt-tokenizer, a devDependency) of every message sent, plus
// a fixed overhead (a system prompt and tool definitions) that the host passes once as
// `overheadTokens`. Counts tokens, not time.
//
// Each conversation leans on one kind of content (prose, code, JSON tool output, CJK, emoji, or
// an even mix: test/fixtures/token-corpus.ts), because that is where ÷ 4 goes wrong: a mix of
// kinds averages the errors away, one kind does not. A conversation first fills its history to
// the budget, then makes 20 requests, each sending the whole history: push the user message,
// send, calibrate with the reported count, push the reply.
import { countTokens as exactCount } from 'gpt-tokenizer/encoding/o200k_base'
import { type CorpusKind, type CorpusMessage, corpusKinds, corpusMessage, seededRandom } from '../../test/fixtures/token-corpus.js'
import { estimateTextTokens } from '../../src/history/measures.js'
import type { TokenResult } from '../harness.js'
import { lib } from '../library.js'

const { RingBufferHistory } = lib

/** The budget of every history: what a host would pass as `maxTokens`. */
export const TOKEN_BUDGET = 100_000
/** Tokens of every request outside the history (system prompt, tool definitions). */
export const OVERHEAD_TOKENS = 1_800
/** The calibration counts the report shows. */
export const CALIBRATION_POINTS = [1, 5, 20] as const
const REQUESTS = 20

/** The variants, in the order of the report. */
export const tokenVariants = ['characters ÷ 4', 'calibrated', 'text estimate', 'text estimate, calibrated', 'exact counter (gpt-tokenizer o200k)'] as const
export type TokenVariant = (typeof tokenVariants)[number]

interface Measured extends CorpusMessage {
  exact: number
}

// Counting is the slow part (o200k on messages of up to ~32k characters): every kind of content
// gets one pool of messages, counted once, and conversations draw from the pools.
function pools(smoke: boolean): Record<CorpusKind, Measured[]> {
  const random = seededRandom(0x70c3)
  const size = smoke ? 40 : 400
  const out = {} as Record<CorpusKind, Measured[]>
  for (const kind of corpusKinds) {
    out[kind] = Array.from({ length: size }, () => {
      const message = corpusMessage(random, kind)
      return { ...message, exact: exactCount(message.content) }
    })
  }
  return out
}

// One conversation: 70% of its messages of the kind it leans on, 30% of any kind (all of any kind
// for the mix), drawn from the pools.
function conversation(seed: number, lean: CorpusKind | 'mix', pool: Record<CorpusKind, Measured[]>): Measured[] {
  const random = seededRandom(seed)
  const messages: Measured[] = []
  let total = 0
  while (total < 4 * TOKEN_BUDGET || messages.length < 2 * REQUESTS + 100) {
    const kind = lean === 'mix' || random() < 0.3 ? (corpusKinds[Math.floor(random() * corpusKinds.length)] as CorpusKind) : lean
    const from = pool[kind]
    const message = from[Math.floor(random() * from.length)] as Measured
    messages.push(message)
    total += message.exact
  }
  return messages
}

const sum = (messages: Iterable<Measured>): number => {
  let total = 0
  for (const m of messages) total += m.exact
  return total
}

interface RunFigures {
  // Relative error |history.tokens - exact| / exact at the request after k calibrations (k = 0: none).
  errors: Map<number, number>
  // The largest exact count of the history, ÷ the budget, after every push that follows the first
  // calibration (a calibration trims nothing: the next push applies it).
  peakAfterCalibration: number
  // The same from the fifth calibration on.
  peakSettled: number
  // The largest exact count of what was sent, ÷ the budget, after the first calibration.
  peakSent: number
}

/** Whether a variant calibrates from the reported counts. */
export const calibrates = (variant: string): boolean => variant.endsWith('calibrated')

function run(variant: TokenVariant, messages: Measured[]): RunFigures {
  const history = new RingBufferHistory<Measured>({
    maxMessages: 10_000,
    maxTokens: TOKEN_BUDGET,
    ...(variant === 'exact counter (gpt-tokenizer o200k)' ? { countTokens: (m: Measured) => m.exact } : {}),
    // The word-and-script estimate proposed as the default (src/history/measures.ts), from the source.
    ...(variant.startsWith('text estimate') ? { countTokens: (m: Measured) => estimateTextTokens(m.content) } : {}),
    ...(calibrates(variant) ? { overheadTokens: OVERHEAD_TOKENS } : {}),
  })
  const errors = new Map<number, number>()
  let peakAfterCalibration = 0
  let peakSettled = 0
  let peakSent = 0
  let next = 0
  let calibrations = 0
  const push = (message: Measured): void => {
    history.push(message)
    if (calibrations > 0) {
      const peak = sum(history) / TOKEN_BUDGET
      peakAfterCalibration = Math.max(peakAfterCalibration, peak)
      if (calibrations >= 5) peakSettled = Math.max(peakSettled, peak)
    }
  }
  // Fill: push until the first trim.
  for (;;) {
    const evicted = history.evictedCount
    push(messages[next++] as Measured)
    if (history.evictedCount > evicted) break
  }
  for (let request = 0; request <= REQUESTS; request++) {
    push(messages[next++] as Measured)
    const sent = sum(history)
    // Without calibration every request is a reading of the same estimate: all under k = 0.
    errors.set(calibrates(variant) ? calibrations : request, Math.abs(history.tokens - sent) / sent)
    if (calibrations > 0) peakSent = Math.max(peakSent, sent / TOKEN_BUDGET)
    if (calibrates(variant)) {
      history.calibrate(sent + OVERHEAD_TOKENS)
    }
    calibrations++
    push(messages[next++] as Measured)
  }
  return { errors, peakAfterCalibration, peakSettled, peakSent }
}

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN
}

/** Runs `conversations` conversations per kind of content through every variant. */
export function tokensSuite(smoke: boolean): TokenResult[] {
  const conversations = smoke ? 2 : 100
  const leans = [...corpusKinds, 'mix'] as const
  const errors: Record<string, Record<string, number[]>> = {}
  const peaks: Record<string, { afterCalibration: number; settled: number; sent: number }> = {}
  const byLean: Record<string, number[]> = {}
  for (const variant of tokenVariants) {
    errors[variant] = {}
    peaks[variant] = { afterCalibration: 0, settled: 0, sent: 0 }
  }
  const pool = pools(smoke)
  let seed = 0x70c3
  for (const lean of leans) {
    for (let c = 0; c < conversations; c++) {
      const messages = conversation(seed++, lean, pool)
      for (const variant of tokenVariants) {
        const figures = run(variant, messages)
        const table = errors[variant] as Record<string, number[]>
        for (const [k, error] of figures.errors) (table[calibrates(variant) ? k : 0] ??= []).push(error)
        const peak = peaks[variant] as { afterCalibration: number; settled: number; sent: number }
        peak.afterCalibration = Math.max(peak.afterCalibration, figures.peakAfterCalibration)
        peak.settled = Math.max(peak.settled, figures.peakSettled)
        peak.sent = Math.max(peak.sent, figures.peakSent)
        if (variant === 'characters ÷ 4') (byLean[lean] ??= []).push(...figures.errors.values())
      }
    }
  }
  const result: TokenResult = {
    kind: 'tokens',
    id: 'tokens-accuracy',
    title: `token count of a full history against the o200k count of what is sent (budget ${TOKEN_BUDGET.toLocaleString('en-US')} tokens, overhead ${OVERHEAD_TOKENS.toLocaleString('en-US')}, ${conversations} conversations per kind of content)`,
    conversations: conversations * leans.length,
    variants: {},
    leanErrors: Object.fromEntries(Object.entries(byLean).map(([lean, values]) => [lean, { p50: quantile(values, 0.5), p95: quantile(values, 0.95) }])),
  }
  for (const variant of tokenVariants) {
    const table = errors[variant] as Record<string, number[]>
    const points = calibrates(variant) ? [0, ...CALIBRATION_POINTS] : [0]
    result.variants[variant] = {
      errors: Object.fromEntries(points.map((k) => [k, { p50: quantile(table[k] ?? [], 0.5), p95: quantile(table[k] ?? [], 0.95), max: quantile(table[k] ?? [], 1) }])),
      peakAfterCalibration: (peaks[variant] as { afterCalibration: number }).afterCalibration,
      peakSettled: (peaks[variant] as { settled: number }).settled,
      peakSent: (peaks[variant] as { sent: number }).sent,
    }
  }
  return [result]
}
