import * as v8 from 'node:v8'
import * as vm from 'node:vm'
import { describe, expect, it } from 'vitest'
import { RingBufferHistory } from '../src/index.js'

// vitest does not run with --expose-gc; turn it on and fetch gc() from a fresh context.
// Bun has no --expose-gc (v8.setFlagsFromString is a no-op there); it has Bun.gc(true).
const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun
const gc: () => void = bun
  ? () => bun.gc(true)
  : (v8.setFlagsFromString('--expose-gc'), vm.runInNewContext('gc') as () => void)

interface Msg {
  role: 'system' | 'user' | 'assistant'
  content: string
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** True once the target of `ref` has been reclaimed (a WeakRef target lives at least until the current job ends). */
async function isCollected(ref: WeakRef<object>): Promise<boolean> {
  for (let attempt = 0; attempt < 10; attempt++) {
    await tick()
    gc()
    if (ref.deref() === undefined) return true
  }
  return false
}

/** Pushes a fresh message and returns only a weak reference to it, so the test holds no strong one. */
function pushTracked(h: RingBufferHistory<Msg>, role: Msg['role'] = 'user', content = 'x'.repeat(64)): WeakRef<Msg> {
  const m: Msg = { role, content: content + '' }
  h.push(m)
  return new WeakRef(m)
}

function fill(h: RingBufferHistory<Msg>, n: number, role: Msg['role'] = 'user'): void {
  for (let i = 0; i < n; i++) h.push({ role, content: `filler ${i}` })
}

function memoryInUse(): number {
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.external
}

describe('RingBufferHistory: memory release', () => {
  it('a retained message stays reachable (control for the tests below)', async () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3 })
    const ref = pushTracked(h)
    expect(await isCollected(ref)).toBe(false)
    expect(h.length).toBe(1)
  })

  it('a message trimmed by count can be garbage collected', async () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 2 })
    const ref = pushTracked(h)
    fill(h, 2)
    expect(await isCollected(ref)).toBe(true)
    expect(h.length).toBe(2)
  })

  it('a message trimmed while the buffer wraps around can be garbage collected', async () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 4 })
    fill(h, 10)
    const ref = pushTracked(h)
    fill(h, 4)
    expect(await isCollected(ref)).toBe(true)
    expect(h.length).toBe(4)
  })

  it('a message trimmed by bytes or tokens can be garbage collected', async () => {
    const byBytes = new RingBufferHistory<Msg>({ maxBytes: 1000 })
    const r1 = pushTracked(byBytes, 'user', 'b'.repeat(300)) // 680 bytes
    byBytes.push({ role: 'user', content: 'c'.repeat(300) })
    const byTokens = new RingBufferHistory<Msg>({ maxTokens: 100 })
    const r2 = pushTracked(byTokens, 'user', 't'.repeat(300)) // 75 tokens
    byTokens.push({ role: 'user', content: 'u'.repeat(300) })
    expect(await isCollected(r1)).toBe(true)
    expect(await isCollected(r2)).toBe(true)
    expect(byBytes.length + byTokens.length).toBe(2)
  })

  it('a message trimmed by startOn can be garbage collected', async () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3, startOn: (m) => m.role === 'user' })
    h.push({ role: 'user', content: 'u1' })
    const ref = pushTracked(h, 'assistant')
    h.push({ role: 'user', content: 'u2' }, { role: 'assistant', content: 'a2' })
    expect(await isCollected(ref)).toBe(true)
    expect(h.length).toBe(2)
  })

  it('a pinned message that lost its protection and was trimmed can be garbage collected', async () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3, pin: (m) => m.role === 'system' })
    const ref = pushTracked(h, 'system')
    h.push({ role: 'system', content: 'newer init' })
    fill(h, 3)
    expect(await isCollected(ref)).toBe(true)
    expect(h.length).toBe(3)
  })

  it('messages handed to onTrim are not kept after the callback', async () => {
    let calls = 0
    const h = new RingBufferHistory<Msg>({
      maxMessages: 1,
      onTrim: () => {
        calls++
      },
    })
    const ref = pushTracked(h)
    fill(h, 3)
    expect(calls).toBe(3)
    expect(await isCollected(ref)).toBe(true)
  })

  it('cleared messages can be garbage collected', async () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 5 })
    fill(h, 7)
    const refs = [pushTracked(h), pushTracked(h, 'assistant')]
    h.clear()
    for (const ref of refs) expect(await isCollected(ref)).toBe(true)
    expect(h.length).toBe(0)
  })

  it('rolled-back messages can be garbage collected', async () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 5 })
    fill(h, 2)
    const cp = h.checkpoint()
    const ref = pushTracked(h)
    h.rollback(cp)
    expect(await isCollected(ref)).toBe(true)
    expect(h.length).toBe(2)
  })

  it('an empty history with maxMessages 100000 does not allocate 100000 slots', () => {
    const perHistoryBound = 2048
    const keep: Array<RingBufferHistory<Msg>> = []
    gc()
    const before = memoryInUse()
    let perHistory = 0
    // In batches, so that an implementation that preallocates fails fast instead of exhausting the heap.
    for (let batch = 0; batch < 10; batch++) {
      for (let i = 0; i < 100; i++) keep.push(new RingBufferHistory<Msg>({ maxMessages: 100_000 }))
      gc()
      perHistory = (memoryInUse() - before) / keep.length
      if (perHistory > perHistoryBound * 10) break
    }
    expect(keep.every((h) => h.length === 0 && h.capacity === 100_000)).toBe(true)
    expect(perHistory).toBeLessThan(perHistoryBound)
  })

  it('a history holding a few messages with maxMessages 100000 stays small', () => {
    const perHistoryBound = 4096
    const messages: Msg[] = Array.from({ length: 10 }, (_, i) => ({ role: 'user', content: `m${i}` }))
    const keep: Array<RingBufferHistory<Msg>> = []
    gc()
    const before = memoryInUse()
    let perHistory = 0
    for (let batch = 0; batch < 5; batch++) {
      for (let i = 0; i < 100; i++) {
        const h = new RingBufferHistory<Msg>({ maxMessages: 100_000 })
        h.push(...messages)
        keep.push(h)
      }
      gc()
      perHistory = (memoryInUse() - before) / keep.length
      if (perHistory > perHistoryBound * 10) break
    }
    expect(keep.every((h) => h.length === 10)).toBe(true)
    expect(perHistory).toBeLessThan(perHistoryBound)
  })
})
