// Issue item 6: the claude-mem soak, headless. The same seeded traffic is replayed through the
// worker's v8.5.7 design (a Map of sessions, each with an ever-growing array) and through the
// bounded one (BoundedSessionStore + RingBufferHistory with the settings the analysis proposed).
// Each design runs in its own child process; the figure is the peak retained heap.
//
// The traffic and the two session layers come from the demo (examples/claude-mem-worker: its
// generateTraffic, createStack and replay). If that example cannot be loaded, a compact soak of
// the same shape built here is used instead, and the report says which one ran.
import { type MemoryResult, retainedBytes, sink } from '../harness.js'
import { type Message, prng } from '../data.js'
import { lib } from '../library.js'

const { BoundedSessionStore, RingBufferHistory } = lib

export type SoakDesign = 'unbounded' | 'bounded'

interface SoakEvent {
  minute: number
  session: number
  kind: 'init' | 'observation' | 'summary'
  promptChars: number
  replyChars: number
}

function logUniform(rand: () => number, min: number, max: number): number {
  return Math.round(Math.exp(Math.log(min) + rand() * (Math.log(max) - Math.log(min))))
}

/** A new session every 2 minutes on average; 5 to 60 observations a minute apart; a summary. */
export function soakEvents(minutes: number, seed: number): SoakEvent[] {
  const rand = prng(seed)
  const events: SoakEvent[] = []
  let start = 0
  let id = 1
  for (;;) {
    start += -Math.log(1 - rand()) * 2
    if (start >= minutes) break
    const session = id++
    let t = start
    events.push({ minute: t, session, kind: 'init', promptChars: logUniform(rand, 3_000, 6_000), replyChars: logUniform(rand, 200, 1_000) })
    const observations = logUniform(rand, 5, 60)
    for (let k = 0; k < observations; k++) {
      t += -Math.log(1 - rand()) * 1
      events.push({ minute: t, session, kind: 'observation', promptChars: logUniform(rand, 1_000, 32_000), replyChars: logUniform(rand, 400, 2_000) })
    }
    t += 1
    events.push({ minute: t, session, kind: 'summary', promptChars: logUniform(rand, 2_000, 8_000), replyChars: logUniform(rand, 500, 2_000) })
  }
  return events.filter((e) => e.minute < minutes).sort((a, b) => a.minute - b.minute)
}

/** The worker's session (v8.5.7 fields), holding its history in `conversationHistory`. */
interface ActiveSession<H> {
  sessionDbId: number
  contentSessionId: string
  memorySessionId: string | null
  project: string
  userPrompt: string
  abortController: AbortController
  generatorPromise: Promise<void> | null
  lastPromptNumber: number
  startTime: number
  cumulativeInputTokens: number
  cumulativeOutputTokens: number
  earliestPendingTimestamp: number | null
  conversationHistory: H
  currentProvider: 'claude' | 'gemini' | 'openrouter' | null
}

function newSession<H>(id: number, now: number, history: H): ActiveSession<H> {
  return {
    sessionDbId: id,
    contentSessionId: `content-${id}`,
    memorySessionId: null,
    project: 'project',
    userPrompt: '',
    abortController: new AbortController(),
    generatorPromise: null,
    lastPromptNumber: 1,
    startTime: now,
    cumulativeInputTokens: 0,
    cumulativeOutputTokens: 0,
    earliestPendingTimestamp: null,
    conversationHistory: history,
    currentProvider: 'claude',
  }
}

export interface SoakSettings {
  minutes: number
  /** Measure the retained heap every this many simulated minutes. */
  measureEvery: number
  /** Shrinks every message (smoke mode). */
  scale: number
}

/** The parts of examples/claude-mem-worker this soak uses, typed loosely: the example evolves on its own. */
interface ExampleModules {
  generateTraffic(options: { seed: number; days: number; sessionsPerDay: number }): { at: number }[]
  createStack(design: SoakDesign, options: { settings: unknown; logger: unknown }): unknown
  replay(stack: unknown, events: unknown[], endAt: number, hooks: { sampleEveryMs: number; onSample: () => void }): Promise<void>
  resolveSessionSettings(settings: Record<string, unknown>, logger: unknown): { idleTtlMs: number }
}

async function loadExample(): Promise<ExampleModules | undefined> {
  const base = new URL('../../examples/claude-mem-worker/', import.meta.url)
  try {
    const [replay, traffic, settings] = (await Promise.all([
      import(new URL('replay.ts', base).href),
      import(new URL('traffic.ts', base).href),
      import(new URL('settings.ts', base).href),
    ])) as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>]
    const modules = { ...replay, ...traffic, ...settings } as Partial<ExampleModules>
    const needed = ['generateTraffic', 'createStack', 'replay', 'resolveSessionSettings'] as const
    return needed.every((name) => typeof modules[name] === 'function') ? (modules as ExampleModules) : undefined
  } catch {
    return undefined
  }
}

/** The demo's replay, headless: same seed and days for both designs, heap sampled after full GCs. */
async function exampleSoak(example: ExampleModules, design: SoakDesign, settings: SoakSettings): Promise<MemoryResult> {
  const quiet = { debug() {}, info() {}, warn() {}, error() {} }
  const resolved = example.resolveSessionSettings({}, quiet)
  const days = settings.scale < 1 ? 1 : Math.max(1, Math.round(settings.minutes / (24 * 60)))
  const events = example.generateTraffic({ seed: 532, days, sessionsPerDay: settings.scale < 1 ? 4 : 150 })
  const last = events[events.length - 1]?.at ?? 0
  const endAt = Math.ceil((last + resolved.idleTtlMs + 2 * 3_600_000) / 3_600_000) * 3_600_000
  const stack = example.createStack(design, { settings: resolved, logger: quiet })
  const baseline = retainedBytes()
  let peak = 0
  let lastRetained = 0
  await example.replay(stack, events, endAt, {
    sampleEveryMs: settings.measureEvery * 60_000,
    onSample() {
      lastRetained = retainedBytes() - baseline
      if (lastRetained > peak) peak = lastRetained
    },
  })
  sink.value = stack
  const label = design === 'unbounded' ? 'Map + arrays (v8.5.7)' : 'BoundedSessionStore + RingBufferHistory'
  return {
    kind: 'memory',
    id: `soak-${design}`,
    title: `claude-mem soak peak retained heap: ${label}`,
    bytes: peak,
    per: 1,
    detail: { final: lastRetained, events: events.length, days, fromExample: 1 },
  }
}

export async function soakSuite(design: SoakDesign, settings: SoakSettings): Promise<MemoryResult[]> {
  const example = process.env.BENCH_SOAK === 'builtin' ? undefined : await loadExample()
  if (example !== undefined) return [await exampleSoak(example, design, settings)]
  return [builtinSoak(design, settings)]
}

function builtinSoak(design: SoakDesign, settings: SoakSettings): MemoryResult {
  const events = soakEvents(settings.minutes, 0x5eed_0006)
  // Message text is cut fresh from random bytes, as text arriving from a socket would be.
  const rand = prng(0x5eed_0007)
  const noise = Buffer.alloc(1 << 16)
  for (let i = 0; i < noise.length; i++) noise[i] = 32 + Math.floor(rand() * 95)
  const text = (chars: number): string => {
    const n = Math.max(1, Math.min(noise.length, Math.round(chars * settings.scale)))
    const from = Math.floor(rand() * (noise.length - n))
    return noise.toString('latin1', from, from + n)
  }

  let clock = 0
  const now = (): number => clock
  const initPrompts = new WeakSet<Message>()
  let handle: (e: SoakEvent) => void
  let everyMinute: () => void = () => {}
  let held: () => { sessions: number; messages: number }
  let root: unknown

  if (design === 'unbounded') {
    const sessions = new Map<number, ActiveSession<Message[]>>()
    handle = (e) => {
      let s = sessions.get(e.session)
      if (s === undefined) {
        s = newSession<Message[]>(e.session, clock, [])
        sessions.set(e.session, s)
      }
      s.conversationHistory.push({ role: 'user', content: text(e.promptChars) })
      s.conversationHistory.push({ role: 'assistant', content: text(e.replyChars) })
    }
    held = () => {
      let messages = 0
      for (const s of sessions.values()) messages += s.conversationHistory.length
      return { sessions: sessions.size, messages }
    }
    root = sessions
  } else {
    type History = InstanceType<typeof RingBufferHistory<Message>>
    const store = new BoundedSessionStore<number, ActiveSession<History>>({
      maxSessions: 100,
      idleTtlMs: 60 * 60_000,
      now,
      sweepIntervalMs: 0,
      isBusy: (s) => s.generatorPromise !== null,
      dispose: (s) => s.abortController.abort(),
    })
    const create = (id: number): ActiveSession<History> =>
      newSession(
        id,
        clock,
        new RingBufferHistory<Message>({ maxMessages: 50, pin: (m) => initPrompts.has(m), startOn: (m) => m.role === 'user' }),
      )
    handle = (e) => {
      const s = store.getOrCreate(e.session, create)
      const prompt: Message = { role: 'user', content: text(e.promptChars) }
      if (e.kind === 'init') initPrompts.add(prompt)
      s.conversationHistory.push(prompt)
      s.conversationHistory.push({ role: 'assistant', content: text(e.replyChars) })
    }
    everyMinute = () => {
      store.sweep()
    }
    held = () => {
      let messages = 0
      for (const s of store.values()) messages += s.conversationHistory.length
      return { sessions: store.size, messages }
    }
    root = store
  }

  const baseline = retainedBytes()
  let peak = 0
  let minute = 0
  let nextMeasure = settings.measureEvery
  const measure = (): void => {
    const retained = retainedBytes() - baseline
    if (retained > peak) peak = retained
  }
  for (const e of events) {
    while (minute + 1 <= e.minute) {
      minute++
      clock = minute * 60_000
      everyMinute()
      if (minute >= nextMeasure) {
        measure()
        nextMeasure += settings.measureEvery
      }
    }
    clock = Math.round(e.minute * 60_000)
    handle(e)
  }
  measure()
  const final = retainedBytes() - baseline
  const { sessions, messages } = held()
  sink.value = root
  const label = design === 'unbounded' ? 'Map + arrays (v8.5.7)' : 'BoundedSessionStore + RingBufferHistory'
  return {
    kind: 'memory',
    id: `soak-${design}`,
    title: `claude-mem soak peak retained heap: ${label}`,
    bytes: peak,
    per: 1,
    detail: { final, sessions, messages, events: events.length, minutes: settings.minutes, fromExample: 0 },
  }
}
