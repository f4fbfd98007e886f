import { Bench } from 'tinybench'
import type { PromptCacheTotals } from '../examples/claude-mem-worker/prompt-cache.js'

/**
 * One contender of a comparison. `run` performs one sample of `ops` operations; it must be its
 * own function literal (not a closure made by a shared factory), so that V8 keeps separate
 * inline-cache feedback for each variant.
 */
export interface Variant {
  name: string
  run: () => void
  /** Untimed work before every sample (refilling what the sample consumed). */
  beforeSample?: () => void
}

export interface Settings {
  /** Measured rounds (a discarded warm-up round runs first). */
  rounds: number
  /** Time budget per variant per round, in ms of measured time. */
  sampleMs: number
  /** At least this many samples per variant per round. */
  minSamples: number
}

/** What a child reports for one comparison: ns per operation, per variant, per round. */
export interface SpeedResult {
  kind: 'speed'
  id: string
  title: string
  ops: number
  rounds: number
  samples: Record<string, number[]>
  nsPerOp: Record<string, number[]>
  /** Latency percentiles per variant, in µs (the async Redis comparisons). */
  latencyUs?: Record<string, { p50: number; p99: number }>
}

/** What a child reports for one memory figure. */
export interface MemoryResult {
  kind: 'memory'
  id: string
  title: string
  /** The figure, in bytes (per item when `per` > 1). */
  bytes: number
  per: number
  detail?: Record<string, number>
}

/** What a child reports for the prompt-cache comparison: the meter's totals per variant. */
export interface CacheResult {
  kind: 'cache'
  id: string
  title: string
  /** Per variant: totals over the whole conversation, and over its steady state. */
  variants: Record<string, { all: PromptCacheTotals; steady: PromptCacheTotals }>
  detail: Record<string, number>
}

/** Relative errors of a token count: median, 95th percentile and largest. */
export interface ErrorSpread {
  p50: number
  p95: number
  max: number
}

/** What a child reports for the token-accuracy comparison (counts, not times). */
export interface TokenResult {
  kind: 'tokens'
  id: string
  title: string
  conversations: number
  /** Per variant: the error after k calibrations (k = 0: none), and the largest exact count ÷ the budget. */
  variants: Record<string, { errors: Record<string, ErrorSpread>; peakAfterCalibration: number; peakSettled: number; peakSent: number }>
  /** The error of characters ÷ 4 by the kind of content a conversation leans on. */
  leanErrors: Record<string, { p50: number; p95: number }>
}

export type Result = SpeedResult | MemoryResult | CacheResult | TokenResult

// Keeps results alive so that the optimiser cannot drop the work that produced them.
export const sink: { value: unknown } = { value: undefined }

function minorGc(): void {
  globalThis.gc?.({ type: 'minor' })
}

/**
 * Runs the variants interleaved in this process: one discarded warm-up round, then `rounds`
 * rounds, each running every variant for `sampleMs` (at least `minSamples` samples) in an order
 * rotated by one each round. Each variant's figure for a round is its median sample.
 */
export function compare(id: string, title: string, ops: number, variants: Variant[], settings: Settings): SpeedResult {
  const nsPerOp: Record<string, number[]> = {}
  const samples: Record<string, number[]> = {}
  for (const v of variants) {
    nsPerOp[v.name] = []
    samples[v.name] = []
  }
  for (let round = -1; round < settings.rounds; round++) {
    const shift = round < 0 ? 0 : round % variants.length
    const order = [...variants.slice(shift), ...variants.slice(0, shift)]
    const bench = new Bench({
      time: settings.sampleMs,
      iterations: settings.minSamples,
      warmup: false,
      throws: true,
      timestampProvider: 'hrtimeNow',
      // Each variant starts from an empty young generation, not with another's garbage.
      setup: minorGc,
    })
    for (const v of order) {
      if (v.beforeSample !== undefined) bench.add(v.name, v.run, { beforeEach: v.beforeSample })
      else bench.add(v.name, v.run)
    }
    bench.runSync()
    if (round < 0) continue
    for (const task of bench.tasks) {
      const result = task.result
      if (result.state !== 'completed') throw new Error(`${id}: ${task.name} ended ${result.state}`)
      ;(nsPerOp[task.name] as number[]).push((result.latency.p50 * 1e6) / ops)
      ;(samples[task.name] as number[]).push(result.latency.samplesCount)
    }
  }
  return { kind: 'speed', id, title, ops, rounds: settings.rounds, samples, nsPerOp }
}

/** `heapUsed + external` after repeated full collections (needs `--expose-gc`). */
export function retainedBytes(): number {
  const gc = globalThis.gc
  if (gc === undefined) throw new Error('run with --expose-gc')
  let last = Infinity
  for (let i = 0; i < 10; i++) {
    gc()
    const m = process.memoryUsage()
    const now = m.heapUsed + m.external
    if (i >= 3 && Math.abs(now - last) < 1024) return now
    last = now
  }
  return last
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const n = s.length
  if (n === 0) return NaN
  return n % 2 === 1 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2
}
