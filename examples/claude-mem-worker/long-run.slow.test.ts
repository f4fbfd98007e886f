// The long run: 2,000 sessions with 100 to 160 observations each through the port, checking the
// store, history and heap bounds all along. About 25 s alone, so it is a slow test:
// `npm run test:slow` (and .ci/run) runs it, `npm test` does not.
import * as v8 from 'node:v8'
import * as vm from 'node:vm'
import { SESSION_OVERHEAD_BYTES } from 'bounded-session'
import { describe, expect, it } from 'vitest'
import { ANTHROPIC_5M } from './prompt-cache.js'
import { createStack, outagesOf, replay } from './replay.js'
import { DAY, generateTraffic } from './traffic.js'

// vitest does not run with --expose-gc; turn it on and fetch gc() from a fresh context.
// Bun has no --expose-gc (v8.setFlagsFromString is a no-op there); it has Bun.gc(true).
const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun
const gc: () => void = bun
  ? () => bun.gc(true)
  : (v8.setFlagsFromString('--expose-gc'), vm.runInNewContext('gc') as () => void)

const MINUTE = 60_000
const HOUR = 60 * MINUTE

describe('claude-mem worker on bounded-session: a long run', () => {
  it('thousands of sessions with hundreds of observations each stay within the store, history and heap bounds', async () => {
    const settings = { maxSessions: 64, budgetChars: 60_000, idleTtlMs: 60 * MINUTE }
    const events = generateTraffic({
      seed: 4242,
      days: 8,
      sessionsPerDay: 250,
      minObservations: 100,
      maxObservations: 160,
      minObservationChars: 512,
      maxObservationChars: 4_096,
    })
    const sessions = new Set(events.flatMap((e) => (e.kind === 'quota' ? [] : [e.session]))).size
    expect(sessions).toBe(2_000)
    const stack = createStack('bounded', { settings, priceTables: [ANTHROPIC_5M] }, outagesOf(events))
    if (stack.design !== 'bounded') throw new Error('unreachable')
    const store = stack.layer.sessions
    const perSession = SESSION_OVERHEAD_BYTES + settings.budgetChars
    let pushedChars = 0
    let worstSize = 0
    let violations = 0
    gc()
    const baseline = process.memoryUsage().heapUsed
    const heap: number[] = []
    await replay(stack, events, 9 * DAY, {
      sampleEveryMs: 12 * HOUR,
      onSample() {
        gc()
        heap.push(process.memoryUsage().heapUsed - baseline)
      },
      onEvent(_index, event) {
        if (event.kind === 'observation') pushedChars += event.chars
        // Over maxSessions only while every session held is busy (guarantee 1 of the store).
        if (store.size > settings.maxSessions) {
          let busy = 0
          for (const session of store.values()) if (session.generatorPromise !== null || session.pausedUntil !== null || stack.db.getPendingCount(session.sessionDbId) > 0) busy++
          if (store.size > busy) violations++
        }
        if (store.bytes > store.size * perSession) violations++
        worstSize = Math.max(worstSize, store.size)
      },
    })
    expect(violations).toBe(0)
    const stats = store.stats()
    expect(stats.removed.capacity).toBeGreaterThan(0)
    expect(stats.removed.idle).toBeGreaterThan(0)
    expect(stats.peakBytes).toBeLessThanOrEqual(stats.peakSize * perSession)
    // Retained heap: at most every session held at its budget (2 bytes a character at worst) plus
    // a fixed allowance, although hundreds of megabytes went through.
    const heapBound = stats.peakSize * (2 * settings.budgetChars + 16 * 1024) + 16 * 1024 * 1024
    expect(pushedChars).toBeGreaterThan(20 * heapBound)
    expect(Math.max(...heap)).toBeLessThan(heapBound)
    expect(stack.worker.stats.proseReplies).toBe(0)
    expect(stack.worker.stats.pauses).toBeGreaterThan(0)
    expect(worstSize).toBeLessThan(2 * settings.maxSessions)
  }, 300_000) // about 25 s alone; 99 s was seen on two cores shared by eight sessions
})
