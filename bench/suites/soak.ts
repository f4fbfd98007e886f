// Issue item 6: the claude-mem soak, headless. The demo's seeded traffic
// (examples/claude-mem-worker) is replayed through the worker's v8.5.7 design (a Map of sessions,
// each with an ever-growing array) and through the example's port (BoundedSessionStore +
// RingBufferHistory with the worker's default settings). Each design runs in its own child
// process; the figure is the peak retained heap, sampled after full collections.
//
// The example imports `bounded-session` from src/ (tsconfig paths), whatever BENCH_LIBRARY says.
import { createStack, type Design, replay } from '../../examples/claude-mem-worker/replay.js'
import { resolveSessionSettings } from '../../examples/claude-mem-worker/settings.js'
import { generateTraffic } from '../../examples/claude-mem-worker/traffic.js'
import { silentLogger } from '../../examples/claude-mem-worker/types.js'
import { type MemoryResult, retainedBytes, sink } from '../harness.js'

export type SoakDesign = Design

export interface SoakSettings {
  minutes: number
  /** Measure the retained heap every this many simulated minutes. */
  measureEvery: number
  /** Below 1: a small run (smoke mode), one day of 4 sessions. */
  scale: number
}

export async function soakSuite(design: SoakDesign, settings: SoakSettings): Promise<MemoryResult[]> {
  const resolved = resolveSessionSettings({}, silentLogger)
  const days = settings.scale < 1 ? 1 : Math.max(1, Math.round(settings.minutes / (24 * 60)))
  const events = generateTraffic({ seed: 532, days, sessionsPerDay: settings.scale < 1 ? 4 : 150 })
  const last = events[events.length - 1]?.at ?? 0
  const endAt = Math.ceil((last + resolved.idleTtlMs + 2 * 3_600_000) / 3_600_000) * 3_600_000
  const stack = createStack(design, { settings: resolved, logger: silentLogger })
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
