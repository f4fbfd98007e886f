/**
 * Synthetic worker traffic from a seed: the same seed always gives the same events, so the two
 * session layers can be fed exactly the same stream (in separate processes).
 *
 * Shape: sessions start through the working day; each gets a user prompt, then a burst of tool
 * uses (observation prompts of 2–32 KB) over minutes to hours, then a summary request, then
 * silence. Some resume hours later with a new prompt and another burst. A few times a day the
 * provider's quota runs out for a while (every call is refused with a retry time): sessions
 * working then pause, and resume once it is back.
 */
import type { ObservationData } from './types.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

export interface TrafficOptions {
  seed: number
  days: number
  sessionsPerDay: number
  /** Smallest and largest tool output in characters. @defaultValue 2048 and 32768 */
  minObservationChars?: number
  maxObservationChars?: number
  /** Tool uses per burst. @defaultValue 5 and 150 */
  minObservations?: number
  maxObservations?: number
  /** Chance that a quiet session resumes later. @defaultValue 0.3 */
  resumeProbability?: number
  /** Quota outages per day, each 10 to 40 minutes long. @defaultValue 2 */
  quotaOutagesPerDay?: number
}

export type TrafficEvent =
  | { kind: 'prompt'; at: number; session: number; promptNumber: number }
  | { kind: 'observation'; at: number; session: number; promptNumber: number; chars: number; seed: number }
  | { kind: 'summarize'; at: number; session: number }
  /** From `at` until `until`, the provider refuses every call (HTTP 429 with a retry time). */
  | { kind: 'quota'; at: number; until: number; session: 0 }

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** Every event of the run, in time order (ties keep generation order). */
export function generateTraffic(options: TrafficOptions): TrafficEvent[] {
  const random = createRandom(options.seed)
  const minChars = options.minObservationChars ?? 2048
  const maxChars = options.maxObservationChars ?? 32_768
  const minObs = options.minObservations ?? 5
  const maxObs = options.maxObservations ?? 150
  const resume = options.resumeProbability ?? 0.3
  const events: TrafficEvent[] = []
  let session = 0
  for (let day = 0; day < options.days; day++) {
    for (let n = 0; n < options.sessionsPerDay; n++) {
      session++
      // Working hours, 08:00 to 20:00.
      let start = day * DAY + 8 * HOUR + Math.floor(random() * 12 * HOUR)
      for (let promptNumber = 1; ; promptNumber++) {
        events.push({ kind: 'prompt', at: start, session, promptNumber })
        // Skewed towards short bursts: most sessions are small, a few are long.
        const r = random()
        const count = minObs + Math.floor(r * r * (maxObs - minObs + 1))
        const duration = 10 * MINUTE + Math.floor(random() * random() * 4 * HOUR)
        let at = start
        for (let i = 0; i < count; i++) {
          at += Math.max(1000, Math.floor((duration / count) * (0.5 + random())))
          const s = random()
          const chars = minChars + Math.floor(s * s * (maxChars - minChars))
          events.push({ kind: 'observation', at, session, promptNumber, chars, seed: Math.floor(random() * 2 ** 31) })
        }
        events.push({ kind: 'summarize', at: at + MINUTE, session })
        // Resumptions stay within the replayed days, so the run ends about a day after them.
        if (random() >= resume || at >= options.days * DAY) break
        start = at + 2 * HOUR + Math.floor(random() * 28 * HOUR)
      }
    }
  }
  // Drawn from their own seed, so that changing the outages leaves the sessions as they were.
  const outages = createRandom(options.seed ^ 0x9e3779b9)
  for (let day = 0; day < options.days; day++) {
    for (let n = 0; n < (options.quotaOutagesPerDay ?? 2); n++) {
      const at = day * DAY + 9 * HOUR + Math.floor(outages() * 10 * HOUR)
      events.push({ kind: 'quota', at, until: at + 10 * MINUTE + Math.floor(outages() * 30 * MINUTE), session: 0 })
    }
  }
  // Stable sort: Array.prototype.sort is stable since ES2019.
  return events.sort((a, b) => a.at - b.at)
}

/** A short fingerprint of an event stream, to show that two runs processed the same one. */
export function fingerprint(events: readonly TrafficEvent[]): string {
  let h = 0x811c9dc5
  const mix = (n: number): void => {
    h = Math.imul(h ^ (n & 0xffff), 0x01000193)
    h = Math.imul(h ^ (n >>> 16), 0x01000193)
  }
  for (const e of events) {
    mix(e.at % 2 ** 31)
    mix(Math.floor(e.at / 2 ** 31))
    mix(e.session)
    if (e.kind === 'observation') {
      mix(e.chars)
      mix(e.seed)
    } else if (e.kind === 'quota') {
      mix(e.until % 2 ** 31)
      mix(-2)
    } else mix(e.kind === 'prompt' ? e.promptNumber : -1)
  }
  return (h >>> 0).toString(16).padStart(8, '0')
}

const TOOLS = ['Read', 'Edit', 'Bash', 'Grep', 'Write', 'WebFetch'] as const

let textPool: string | undefined

// 64 KB of printable text from a fixed seed; tool outputs are cut from it and then copied.
function pool(): string {
  if (textPool !== undefined) return textPool
  const random = createRandom(0x5eed)
  const words = ['const', 'return', 'function', 'import', 'export', 'await', 'session', 'queue', 'error', 'value',
    'result', 'config', 'string', 'number', 'test', 'expect', 'handler', 'request', 'response', 'index']
  const parts: string[] = []
  let length = 0
  while (length < 65_536) {
    const word = words[Math.floor(random() * words.length)] as string
    parts.push(word)
    length += word.length + 1
  }
  textPool = parts.join(' ')
  return textPool
}

/**
 * The tool use of an observation event. Its output is a fresh string of `chars` characters (a
 * copy, so that what a session retains is really its own memory, as with the worker's JSON).
 */
export function observationFor(event: Extract<TrafficEvent, { kind: 'observation' }>): ObservationData {
  const text = pool()
  const random = createRandom(event.seed)
  const tool = TOOLS[Math.floor(random() * TOOLS.length)] as string
  let output = ''
  while (output.length < event.chars) {
    const from = Math.floor(random() * (text.length - 1024))
    const take = Math.min(event.chars - output.length, text.length - from)
    // JSON.stringify copies; dropping its quotes keeps the copy.
    output += JSON.stringify(text.slice(from, from + take)).slice(1, -1)
  }
  return {
    tool_name: tool,
    tool_input: { file_path: `src/module-${event.seed % 500}.ts`, description: `step ${event.seed % 10_000}` },
    tool_response: { output },
    prompt_number: event.promptNumber,
    cwd: `/home/dev/project-${event.session % 7}`,
    toolUseId: `toolu_${event.session}_${event.seed.toString(36)}`,
  }
}

export interface StrandedTrafficOptions {
  /** Sessions, started 10 ms apart. */
  sessions: number
  /** Observations each session answers before the outage. @defaultValue 3 */
  before?: number
  /** Observations each session receives during the outage (they stay queued). @defaultValue 2 */
  during?: number
  /** Characters of each tool output. @defaultValue 12_000 */
  chars?: number
}

/**
 * Sessions stranded by a quota pause (claude-mem #4109, #4204): every session answers a few
 * observations, then the provider's quota runs out while more arrive, and after the outage
 * nothing new ever comes for them. With nothing revisiting paused sessions (a worker without a
 * resume sweep, as those issues report), their queued work is never resumed.
 */
export function strandedTraffic(options: StrandedTrafficOptions): TrafficEvent[] {
  const before = options.before ?? 3
  const during = options.during ?? 2
  const chars = options.chars ?? 12_000
  const events: TrafficEvent[] = []
  // Every session starts within a few seconds and is mid-burst (its generator running, its
  // history holding what it answered) when the quota runs out.
  const outageAt = (before + 1) * 20_000
  for (let session = 1; session <= options.sessions; session++) {
    const start = (session - 1) * 10
    events.push({ kind: 'prompt', at: start, session, promptNumber: 1 })
    for (let i = 1; i <= before; i++) events.push({ kind: 'observation', at: start + i * 20_000, session, promptNumber: 1, chars, seed: session * 1_000 + i })
    for (let i = 1; i <= during; i++) {
      events.push({ kind: 'observation', at: outageAt + 5_000 + start + i * 1_000, session, promptNumber: 1, chars, seed: session * 1_000 + before + i })
    }
  }
  events.push({ kind: 'quota', at: outageAt, until: outageAt + 30 * MINUTE, session: 0 })
  return events.sort((a, b) => a.at - b.at)
}
