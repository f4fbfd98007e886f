import { describe, expect, it } from 'vitest'
import { BoundedSessionStore, RingBufferHistory, SESSION_OVERHEAD_BYTES } from '../src/index.js'

// dispose and listeners run once the operation that caused them is complete, from one queue, and
// may call back into the store: they meet a consistent store, and their own calls come after.

describe('a dispose that stores under the key it was removed from', () => {
  it('a value that the dispose of a replaced session stores under its key comes last and wins', () => {
    const log: string[] = []
    const store: BoundedSessionStore<string, { name: string }> = new BoundedSessionStore({
      sweepIntervalMs: 0,
      sizeOf: () => 100,
      dispose: (v, _k, r) => {
        log.push(`${v.name}:${r}`)
        if (v.name === 'v1') store.set('a', { name: 'from-dispose' })
      },
    })
    store.set('a', { name: 'v1' })
    store.set('a', { name: 'v2' })
    expect(store.size).toBe(1)
    expect(store.bytes).toBe(100)
    // v1's dispose runs after set('a', v2) is complete, so its own set replaces v2.
    expect(store.get('a')?.name).toBe('from-dispose')
    store.clear()
    expect(store.bytes).toBe(0)
    expect(log).toEqual(['v1:replace', 'v2:replace', 'from-dispose:clear'])
  })

  it('set of the same value after it expired refreshes it and disposes nothing', () => {
    let t = 0
    const log: string[] = []
    const store = new BoundedSessionStore<string, object>({
      sweepIntervalMs: 0,
      idleTtlMs: 1000,
      now: () => t,
      dispose: (_v, k, r) => {
        log.push(`${k}:${r}`)
      },
    })
    const s = {}
    store.set('a', s)
    t = 5000
    store.set('a', s)
    expect(store.get('a')).toBe(s)
    expect(log).toEqual([])
  })

  it('two properties holding the same history count it once', () => {
    const h = new RingBufferHistory<string>()
    h.push('x'.repeat(100))
    const store = new BoundedSessionStore<string, object>({ sweepIntervalMs: 0 })
    store.set('a', { conversationHistory: h, history: h })
    expect(store.bytes).toBe(1024 + h.bytes)
    h.clear()
    expect(store.bytes).toBe(1024)
  })

  it('a huge maxSessions is refused with InvalidOptionsError, a large one allocates lazily', () => {
    expect(() => new BoundedSessionStore({ maxSessions: 2 ** 40 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }))
    const store = new BoundedSessionStore<number, number>({ maxSessions: 10_000_000, sweepIntervalMs: 0 })
    for (let i = 0; i < 5000; i++) store.set(i, i)
    expect(store.size).toBe(5000)
    expect([...store.keys()].slice(0, 2)).toEqual([4999, 4998])
  })
})

describe('dispose and listeners that call back into the store meet a consistent store', () => {
  type S = { id: string; busy?: boolean }

  // One session over maxSessions: 1 while 'a' is busy, with 'a' idle again. The next read settles
  // the overflow by evicting 'a', whose dispose deletes 'b' and stores 'c' in the slot 'b' had.
  function pendingOverflow(): BoundedSessionStore<string, S> {
    const store: BoundedSessionStore<string, S> = new BoundedSessionStore<string, S>({
      maxSessions: 1,
      sweepIntervalMs: 0,
      now: () => 0,
      isBusy: (s) => s.busy === true,
      dispose: (_s, k) => {
        if (k === 'a') {
          store.delete('b')
          store.set('c', { id: 'C' })
        }
      },
    })
    const a: S = { id: 'A', busy: true }
    store.set('a', a)
    store.set('b', { id: 'B' })
    a.busy = false
    return store
  }

  it('a read whose settling disposes remove the session being read does not return another one', () => {
    const store = pendingOverflow()
    expect(store.get('b')).toBeUndefined()
    expect([...store.keys()]).toEqual(['c'])
    expect(store.get('c')?.id).toBe('C')
  })

  it('getOrCreate makes a new session when settling removed the one it found', () => {
    const store = pendingOverflow()
    expect(store.getOrCreate('b', () => ({ id: 'new B' })).id).toBe('new B')
    expect(store.peek('b')?.id).toBe('new B')
  })

  it('idle sessions that alone outweigh maxBytes go before any other', () => {
    const log: string[] = []
    const store = new BoundedSessionStore<string, { w: number }>({
      maxBytes: 1000,
      sweepIntervalMs: 0,
      now: () => 0,
      sizeOf: (s) => s.w,
      dispose: (_s, k, r) => {
        log.push(`${k}:${r}`)
      },
    })
    store.set('a', { w: 100 }).set('b', { w: 100 })
    store.set('big', { w: 2000 }) // evicts nobody: it cannot fit
    expect(log).toEqual([])
    store.sweep()
    expect(log).toEqual(['big:size'])
    expect([...store.keys()]).toEqual(['b', 'a'])
  })

  it('an eviction takes what the bound needs; a dispose cannot store under a key whose teardown is queued behind it', () => {
    type S = { id: string; w: number }
    const log: string[] = []
    const errors: unknown[] = []
    const fresh: S = { id: 'b2', w: 10 }
    const store: BoundedSessionStore<string, S> = new BoundedSessionStore<string, S>({
      maxBytes: 100,
      sweepIntervalMs: 0,
      now: () => 0,
      sizeOf: (s) => s.w,
      isBusy: () => false,
      dispose: (s, _k, r) => {
        log.push(`${s.id}:${r}`)
        if (s.id === 'a') store.set('b', fresh)
      },
    })
    store.on('error', (e) => errors.push(e))
    store.set('a', { id: 'a', w: 40 }).set('b', { id: 'b', w: 40 })
    store.set('c', { id: 'c', w: 90 }) // 170 > 100: 'a' and 'b' go; a's dispose runs before b's
    expect(log).toEqual(['a:size', 'b:size'])
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_SESSION_CLOSING', key: 'b' })])
    expect(store.has('b')).toBe(false)
    expect(store.bytes).toBe(90)
  })

  it('counts what a dispose run by set pushes to the new session’s history', () => {
    type S = { history: RingBufferHistory<string> }
    const next: S = { history: new RingBufferHistory<string>({ maxMessages: 100 }) }
    const store = new BoundedSessionStore<string, S>({
      sweepIntervalMs: 0,
      now: () => 0,
      dispose: (old, _k, reason) => {
        if (reason === 'replace') for (const m of old.history) next.history.push(m)
      },
    })
    const first: S = { history: new RingBufferHistory<string>({ maxMessages: 100 }) }
    first.history.push('hello '.repeat(50))
    store.set('a', first)
    store.set('a', next) // the dispose of 'first' carries its messages over
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + next.history.bytes)
    next.history.push('x')
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + next.history.bytes)
    store.delete('a')
    expect(store.bytes).toBe(0)
  })

  it('a sweep decides on the store as it was; a dispose that makes another session busy comes after', () => {
    let t = 0
    const log: string[] = []
    const b = { id: 'b', busy: false }
    const c = { id: 'c', busy: false }
    const store = new BoundedSessionStore<string, { id: string; busy: boolean }>({
      idleTtlMs: 10,
      sweepIntervalMs: 0,
      now: () => t,
      isBusy: (s) => s.busy,
      dispose: (s, _k, r) => {
        log.push(`${s.id}:${r}`)
        if (s.id === 'a') c.busy = true // hands a's work to c
      },
    })
    store.set('a', { id: 'a', busy: false }).set('b', b)
    t = 5
    store.set('c', c)
    t = 12
    expect(store.sweep()).toBe(2)
    expect(log).toEqual(['a:idle', 'b:idle'])
    t = 30
    expect(store.sweep()).toBe(0)
    expect(store.peek('c')).toBe(c)
  })

  it('delivers events in order when a listener calls back into the store', () => {
    const store = new BoundedSessionStore<string, { id: string }>({ maxSessions: 1, sweepIntervalMs: 0, now: () => 0 })
    const events: string[] = []
    store.on('create', (k) => events.push(`create ${k}`))
    store.on('remove', (k, _v, r) => {
      events.push(`evict ${k} ${r}`)
      if (k === 'x') store.delete('y')
    })
    store.set('x', { id: 'x' })
    store.set('y', { id: 'y' })
    expect(events).toEqual(['create x', 'evict x capacity', 'create y', 'evict y delete'])
  })

  it('an isBusy that calls back into the store does not corrupt it', () => {
    let t = 0
    const store: BoundedSessionStore<string, { id: string }> = new BoundedSessionStore<string, { id: string }>({
      idleTtlMs: 10,
      sweepIntervalMs: 0,
      now: () => t,
      isBusy: (_v, k) => {
        store.delete(k)
        return false
      },
    })
    store.set('a', { id: 'a' })
    t = 20
    store.delete('a')
    expect(store.size).toBe(0)
    expect(store.bytes).toBe(0)
    expect(store.stats().removed.delete + store.stats().removed.idle).toBe(1)
    store.set('x', { id: 'x' }).set('y', { id: 'y' })
    expect(store.peek('x')?.id).toBe('x')
    expect(store.peek('y')?.id).toBe('y')
  })
})
