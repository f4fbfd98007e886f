import * as v8 from 'node:v8'
import * as vm from 'node:vm'
import { describe, expect, it } from 'vitest'
import { BoundedSessionStore, RingBufferHistory } from '../src/index.js'

// A store dropped without close() is garbage-collected (its sessions are not disposed), even
// while the host keeps sessions that own histories the store was following.

const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun
const gc: () => void = bun ? () => bun.gc(true) : (v8.setFlagsFromString('--expose-gc'), vm.runInNewContext('gc') as () => void)
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5))

async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let attempt = 0; attempt < 20; attempt++) {
    await tick()
    gc()
    if (ref.deref() === undefined) return true
  }
  return false
}

describe('a store dropped without close()', () => {
  it('is garbage-collected, its sweep timer with it', async () => {
    let ref: WeakRef<object> | undefined
    ;(() => {
      const store = new BoundedSessionStore<string, object>({ sweepIntervalMs: 10 })
      store.set('a', {})
      ref = new WeakRef(store)
    })()
    let collected = false
    for (let attempt = 0; attempt < 20 && !collected; attempt++) {
      await tick()
      gc()
      collected = ref?.deref() === undefined
    }
    expect(collected).toBe(true)
  })

  it('is collected while the host keeps a session that owns a history the store followed', async () => {
    type S = { id: string; history: RingBufferHistory<string> }
    const kept: S[] = []
    let ref: WeakRef<object> | undefined
    ;(() => {
      const store = new BoundedSessionStore<string, S>({ sweepIntervalMs: 10, maxBytes: 1_000_000 })
      for (const id of ['a', 'b', 'c']) {
        const s: S = { id, history: new RingBufferHistory<string>() }
        store.set(id, s)
        s.history.push('hello')
        kept.push(s)
      }
      ref = new WeakRef(store)
    })()
    expect(await collected(ref as WeakRef<object>)).toBe(true)
    // The histories still work on their own.
    for (const s of kept) s.history.push('after the store is gone')
    expect(kept.map((s) => s.history.length)).toEqual([2, 2, 2])
  })
})
