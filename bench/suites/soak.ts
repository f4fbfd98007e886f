// Issue item 6: the claude-mem soak, headless. The demo's seeded traffic
// (examples/claude-mem-worker) is replayed through the worker's v8.5.7 design (a Map of sessions,
// each with an ever-growing array) and through the example's port (BoundedSessionStore +
// RingBufferHistory with the worker's default settings). Each design runs in its own child
// process; the figure is the peak retained heap, sampled after full collections.
//
// The example imports `bounded-session` from src/ (tsconfig paths), whatever BENCH_LIBRARY says.
import { createStack, type Design, outagesOf, replay } from '../../examples/claude-mem-worker/replay.js'
import { resolveSessionSettings } from '../../examples/claude-mem-worker/settings.js'
import { ANTHROPIC_5M } from '../../examples/claude-mem-worker/prompt-cache.js'
import { generateTraffic, strandedTraffic } from '../../examples/claude-mem-worker/traffic.js'
import { silentLogger } from '../../examples/claude-mem-worker/types.js'
import { type MemoryResult, retainedBytes, sink } from '../harness.js'

/** A design on the demo's traffic, or on stranded sessions (`stranded-…`). */
export type SoakDesign = Design | StrandedDesign

/**
 * Issue 22 item 7: many sessions stranded by a quota pause that nothing resumes (#4109, #4204),
 * through v13 (a Map that keeps paused sessions) and the port (a truthful `isBusy`: work queued),
 * without and with the store's `maxBusyMs`.
 */
export const strandedDesigns = ['stranded-today', 'stranded-bounded', 'stranded-bounded-maxbusy'] as const
export type StrandedDesign = (typeof strandedDesigns)[number]

export interface SoakSettings {
  minutes: number
  /** Measure the retained heap every this many simulated minutes. */
  measureEvery: number
  /** Below 1: a small run (smoke mode), one day of 4 sessions. */
  scale: number
}

export async function soakSuite(design: SoakDesign, settings: SoakSettings): Promise<MemoryResult[]> {
  if (design.startsWith('stranded-')) return strandedSuite(design as StrandedDesign, settings)
  const resolved = resolveSessionSettings({}, silentLogger)
  const days = settings.scale < 1 ? 1 : Math.max(1, Math.round(settings.minutes / (24 * 60)))
  const events = generateTraffic({ seed: 532, days, sessionsPerDay: settings.scale < 1 ? 4 : 150 })
  const last = events[events.length - 1]?.at ?? 0
  const endAt = Math.ceil((last + resolved.idleTtlMs + 2 * 3_600_000) / 3_600_000) * 3_600_000
  const stack = createStack(design as Design, { settings: resolved, logger: silentLogger })
  const baseline = retainedBytes()
  let peak = 0
  let lastRetained = 0
  await replay(stack, events, endAt, {
    sampleEveryMs: settings.measureEvery * 60_000,
    onSample() {
      lastRetained = retainedBytes() - baseline
      if (lastRetained > peak) peak = lastRetained
    },
  })
  sink.value = stack
  const label = design === 'unbounded' ? 'Map + arrays (v8.5.7)' : 'BoundedSessionStore + RingBufferHistory'
  return [
    {
      kind: 'memory',
      id: `soak-${design}`,
      title: `claude-mem soak peak retained heap: ${label}`,
      bytes: peak,
      per: 1,
      detail: { final: lastRetained, events: events.length, days },
    },
  ]
}

async function strandedSuite(design: StrandedDesign, settings: SoakSettings): Promise<MemoryResult[]> {
  const resolved = resolveSessionSettings({}, silentLogger)
  const sessions = settings.scale < 1 ? 120 : 1_000
  const events = strandedTraffic({ sessions })
  const endAt = (events[events.length - 1]?.at ?? 0) + 8 * 3_600_000
  const base = design === 'stranded-today' ? 'today' : 'bounded'
  // The port without a limit (the store's default), and with the example's (6 h).
  const maxBusyMs = design === 'stranded-bounded' ? { maxBusyMs: Infinity } : {}
  const stack = createStack(base, { settings: resolved, logger: silentLogger, resumeSweepMs: 0, failureRate: 0, priceTables: [ANTHROPIC_5M], ...maxBusyMs }, outagesOf(events))
  const baseline = retainedBytes()
  let peak = 0
  let lastRetained = 0
  await replay(stack, events, endAt, {
    sampleEveryMs: 30 * 60_000,
    onSample() {
      lastRetained = retainedBytes() - baseline
      if (lastRetained > peak) peak = lastRetained
    },
  })
  const held = stack.layer.getActiveSessionCount()
  // What the session layer itself holds: the heap now, less the heap once every session is torn
  // down (the database, with the queued work, stays in both).
  const closing = stack.layer.shutdownAll()
  stack.worker.stop()
  await stack.clock.advance(60_000)
  await closing
  const sessionBytes = Math.max(0, lastRetained - (retainedBytes() - baseline))
  sink.value = stack
  const label = {
    'stranded-today': 'v13 (Map, paused sessions kept)',
    'stranded-bounded': 'the port, isBusy: generator or work queued, no maxBusyMs',
    'stranded-bounded-maxbusy': 'the port with maxBusyMs (6 h)',
  }[design]
  return [
    {
      kind: 'memory',
      id: `soak-${design}`,
      title: `${sessions.toLocaleString('en-US')} sessions stranded by a quota pause, 8 h after: ${label}`,
      bytes: sessionBytes,
      per: 1,
      detail: { peak, retained: lastRetained, held, sessions, maxSessions: resolved.maxSessions },
    },
  ]
}
