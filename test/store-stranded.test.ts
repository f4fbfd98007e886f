import { describe, expect, it } from 'vitest'
import { BoundedSessionStore } from '../src/index.js'
import { session, setupStore, type TestSession } from './helpers/store.js'

// maxBusyMs (issue 22 item 2): a session found busy without a break for longer than maxBusyMs is
// stranded: 'stranded' fires once, and from then on being busy no longer protects it.

function setup(options: { maxBusyMs?: number; maxSessions?: number; idleTtlMs?: number; dispose?: (v: TestSession, k: string) => void } = {}) {
  const stranded: Array<[string, number]> = []
  const s = setupStore<TestSession>({ isBusy: (v) => v.busy, maxBusyMs: 1000, ...options })
  s.store.on('stranded', (key, value, busyForMs) => {
    expect(value.id).toBe(key)
    stranded.push([key, busyForMs])
  })
  return { ...s, stranded }
}

describe('maxBusyMs', () => {
  it('a stranded session is evicted under pressure, and its teardown runs once', () => {
    const teardowns = new Map<string, number>()
    const { store, clock, stranded } = setup({
      maxSessions: 2,
      dispose: (_v, key) => void teardowns.set(key, (teardowns.get(key) ?? 0) + 1),
    })
    store.set('a', session('a', true)).set('b', session('b', true))
    store.set('c', session('c', true)) // over: every session found busy at 0
    expect(store.size).toBe(3)
    clock.t = 1001
    store.sweep() // the least recently active, c, has been busy 1001 ms without a break: stranded, evicted
    expect(stranded).toEqual([['c', 1001]])
    expect([...teardowns]).toEqual([['c', 1]])
    clock.t = 5000
    store.set('d', session('d', true)) // over again: a is stranded and goes
    expect(stranded).toEqual([
      ['c', 1001],
      ['a', 5000],
    ])
    expect([...teardowns]).toEqual([
      ['c', 1],
      ['a', 1],
    ])
    for (let t = 6000; t < 10_000; t += 1000) {
      clock.t = t
      store.sweep()
    }
    expect([...teardowns.values()].every((n) => n === 1)).toBe(true)
    expect(store.lastRemoval('c')?.reason).toBe('capacity')
  })

  it('fires once, then the session expires as an idle one would', () => {
    const { store, clock, disposed, stranded } = setup({ maxBusyMs: 250, idleTtlMs: 100 })
    store.set('a', session('a', true))
    for (const t of [100, 200, 300]) {
      clock.t = t
      store.sweep() // past idleTtlMs but found busy: active again
    }
    expect(disposed).toEqual([])
    clock.t = 400 // found busy since 100: stranded; last active at 300, so idle for 100 ms
    store.sweep()
    expect(stranded).toEqual([['a', 300]])
    expect(disposed).toEqual([['a', 'idle']])
  })

  it('isBusy(key) finds it stranded too, and says false from then on', () => {
    const { store, clock, disposed, stranded } = setup({ idleTtlMs: 5000 })
    store.set('a', session('a', true))
    clock.t = 5000
    store.sweep() // found busy (the first time) at 5000: active now
    clock.t = 6001
    expect(store.isBusy('a')).toBe(false)
    expect(stranded).toEqual([['a', 1001]])
    clock.t = 9999
    store.sweep()
    expect(disposed).toEqual([])
    clock.t = 10_000
    store.sweep()
    expect(disposed).toEqual([['a', 'idle']])
    expect(stranded).toHaveLength(1)
  })

  it('a set of the same value starts its stretch afresh', () => {
    const { store, clock, stranded } = setup({ maxSessions: 1 })
    const a = session('a', true)
    store.set('a', a).set('b', session('b', true))
    clock.t = 1001
    store.set('a', a) // a stored again; b, busy since 0, is stranded and goes
    expect(stranded).toEqual([['b', 1001]])
    clock.t = 1500
    store.set('c', session('c', true))
    expect(stranded).toEqual([['b', 1001]])
    expect(store.has('a')).toBe(true)
  })

  it('no limit by default: a busy session is never stranded', () => {
    const { store, clock, disposed } = setupStore<TestSession>({ isBusy: (v) => v.busy, maxSessions: 1 })
    const stranded: string[] = []
    store.on('stranded', (key) => stranded.push(key))
    store.set('a', session('a', true)).set('b', session('b', true))
    for (let t = 1; t <= 10; t++) {
      clock.t = t * 3_600_000
      store.sweep()
    }
    expect(stranded).toEqual([])
    expect(store.size).toBe(2)
    expect(disposed).toEqual([])
  })

  it('is validated as a positive finite number', () => {
    for (const bad of [0, -1, Number.NaN, Infinity, '1000']) {
      expect(() => new BoundedSessionStore({ maxBusyMs: bad as number })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'maxBusyMs', message: expect.stringContaining('a positive finite number') }),
      )
    }
  })
})
