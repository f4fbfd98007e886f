import { describe, expect, it } from 'vitest'
import { BoundedSessionStore, type RemovalReason } from '../src/index.js'

// The store replaces `Map<number, ActiveSession>` in the claude-mem worker: every Map method the
// worker uses must behave like the Map one, with "most recently used first" as the order.

interface Session {
  id: number
}

function setup() {
  let t = 0
  const disposed: Array<[number, RemovalReason]> = []
  const store = new BoundedSessionStore<number, Session>({
    now: () => t,
    sweepIntervalMs: 0,
    dispose: (_value, key, reason) => {
      disposed.push([key, reason])
    },
  })
  return {
    store,
    disposed,
    advance(ms: number) {
      t += ms
    },
  }
}

const session = (id: number): Session => ({ id })

describe('BoundedSessionStore as a Map', () => {
  it('set stores a value that get returns, and set returns the store for chaining', () => {
    const { store } = setup()
    const a = session(1)
    const b = session(2)
    expect(store.set(1, a)).toBe(store)
    store.set(2, b).set(3, session(3))
    expect(store.get(1)).toBe(a)
    expect(store.get(2)).toBe(b)
    expect(store.size).toBe(3)
  })

  it('get of an absent key returns undefined and changes nothing', () => {
    const { store, disposed } = setup()
    store.set(1, session(1))
    expect(store.get(2)).toBeUndefined()
    expect(store.size).toBe(1)
    expect(disposed).toEqual([])
  })

  it('has reports presence', () => {
    const { store } = setup()
    store.set(1, session(1))
    expect(store.has(1)).toBe(true)
    expect(store.has(2)).toBe(false)
  })

  it('delete removes a present key and returns true, returns false for an absent one', () => {
    const { store, disposed } = setup()
    store.set(1, session(1)).set(2, session(2))
    expect(store.delete(1)).toBe(true)
    expect(store.has(1)).toBe(false)
    expect(store.get(1)).toBeUndefined()
    expect(store.size).toBe(1)
    expect(store.delete(1)).toBe(false)
    expect(store.delete(99)).toBe(false)
    expect(disposed).toEqual([[1, 'delete']])
  })

  it('size counts sessions as they come and go', () => {
    const { store } = setup()
    expect(store.size).toBe(0)
    store.set(1, session(1))
    expect(store.size).toBe(1)
    store.set(1, session(11)) // replacing keeps the count
    expect(store.size).toBe(1)
    store.set(2, session(2))
    expect(store.size).toBe(2)
    store.delete(2)
    expect(store.size).toBe(1)
    store.clear()
    expect(store.size).toBe(0)
  })

  it('keys, values, entries and the iterator list sessions most recently used first', () => {
    const { store } = setup()
    const s = [session(0), session(1), session(2), session(3)]
    store.set(1, s[1]!).set(2, s[2]!).set(3, s[3]!)
    expect([...store.keys()]).toEqual([3, 2, 1])
    expect([...store.values()]).toEqual([s[3], s[2], s[1]])
    expect([...store.entries()]).toEqual([
      [3, s[3]],
      [2, s[2]],
      [1, s[1]],
    ])
    expect([...store]).toEqual([...store.entries()])
  })

  it('get, touch and set of the same value make a session the most recently used', () => {
    const { store } = setup()
    const one = session(1)
    store.set(1, one).set(2, session(2)).set(3, session(3))
    store.get(1)
    expect([...store.keys()]).toEqual([1, 3, 2])
    store.touch(2)
    expect([...store.keys()]).toEqual([2, 1, 3])
    store.set(3, store.peek(3)!)
    expect([...store.keys()]).toEqual([3, 2, 1])
    store.getOrCreate(1, () => session(100))
    expect([...store.keys()]).toEqual([1, 3, 2])
    expect(store.get(1)).toBe(one)
  })

  it('peek returns the value but refreshes neither recency nor idle time', () => {
    let t = 0
    const disposed: Array<[number, RemovalReason]> = []
    const store = new BoundedSessionStore<number, Session>({
      now: () => t,
      sweepIntervalMs: 0,
      idleTtlMs: 1000,
      dispose: (_v, k, r) => {
        disposed.push([k, r])
      },
    })
    const one = session(1)
    store.set(1, one).set(2, session(2))
    t = 999
    expect(store.peek(1)).toBe(one)
    expect(store.has(1)).toBe(true)
    expect([...store.keys()]).toEqual([2, 1])
    t = 1000 // idle time counted from the set at t=0, not from the peek
    expect(store.peek(1)).toBeUndefined()
    expect(store.has(1)).toBe(false)
    expect(store.peek(99)).toBeUndefined()
  })

  it('iterating does not refresh recency or idle time', () => {
    let t = 0
    const store = new BoundedSessionStore<number, Session>({ now: () => t, sweepIntervalMs: 0, idleTtlMs: 1000 })
    store.set(1, session(1)).set(2, session(2))
    t = 500
    store.set(2, store.peek(2)!) // 2 refreshed at t=500
    t = 999
    for (const _ of store) void _
    ;[...store.keys()]
    ;[...store.values()]
    ;[...store.entries()]
    store.forEach(() => {})
    expect([...store.keys()]).toEqual([2, 1])
    t = 1000
    expect([...store.keys()]).toEqual([2])
  })

  it('forEach passes (value, key, store) in most recently used order', () => {
    const { store } = setup()
    const a = session(1)
    const b = session(2)
    store.set(1, a).set(2, b)
    const seen: Array<[Session, number, unknown]> = []
    store.forEach((value, key, self) => {
      seen.push([value, key, self])
    })
    expect(seen).toEqual([
      [b, 2, store],
      [a, 1, store],
    ])
  })

  it('a Map can be built from it', () => {
    const { store } = setup()
    const a = session(1)
    store.set(1, a).set(2, session(2))
    const copy = new Map(store)
    expect([...copy.keys()]).toEqual([2, 1])
    expect(copy.get(1)).toBe(a)
  })

  it('iterators are iterable themselves (for..of over keys())', () => {
    const { store } = setup()
    store.set(1, session(1)).set(2, session(2))
    const keys: number[] = []
    for (const k of store.keys()) keys.push(k)
    expect(keys).toEqual([2, 1])
    const it = store.values()
    expect(it[Symbol.iterator]()).toBe(it)
  })

  it('deleting the current session while iterating visits every session once, like a Map', () => {
    const { store, disposed } = setup()
    for (let i = 1; i <= 5; i++) store.set(i, session(i))
    const visited: number[] = []
    for (const [id] of store) {
      visited.push(id)
      expect(store.delete(id)).toBe(true)
    }
    expect(visited).toEqual([5, 4, 3, 2, 1])
    expect(store.size).toBe(0)
    expect([...store.keys()]).toEqual([])
    expect(disposed).toEqual([
      [5, 'delete'],
      [4, 'delete'],
      [3, 'delete'],
      [2, 'delete'],
      [1, 'delete'],
    ])
  })

  it("supports the worker's `for (const [id] of sessions) await deleteSession(id)` with async teardown", async () => {
    let t = 0
    const aborted: number[] = []
    const store = new BoundedSessionStore<number, Session & { controller: AbortController }>({
      now: () => t,
      sweepIntervalMs: 0,
      dispose: async (value, key) => {
        value.controller.abort()
        await Promise.resolve()
        aborted.push(key)
      },
    })
    for (let i = 1; i <= 4; i++) store.set(i, { id: i, controller: new AbortController() })
    const deleteSession = async (id: number) => {
      const s = store.get(id)
      if (!s) return
      s.controller.abort()
      await new Promise<void>((resolve) => queueMicrotask(resolve)) // "await the generator"
      store.delete(id)
      t += 1
    }
    const visited: number[] = []
    for (const [id] of store) {
      visited.push(id)
      await deleteSession(id)
    }
    // get() inside deleteSession made each visited session the most recent; the loop still
    // visits every session exactly once.
    expect([...visited].sort()).toEqual([1, 2, 3, 4])
    expect(visited).toHaveLength(4)
    expect(store.size).toBe(0)
    await Promise.resolve()
    await Promise.resolve()
    expect([...aborted].sort()).toEqual([1, 2, 3, 4])
  })

  it('deleting a session not yet visited skips it, like a Map', () => {
    const { store } = setup()
    for (let i = 1; i <= 4; i++) store.set(i, session(i))
    const visited: number[] = []
    for (const [id] of store) {
      visited.push(id)
      if (id === 4) store.delete(2)
    }
    expect(visited).toEqual([4, 3, 1])
  })

  it('accepts any key type with Map key equality (SameValueZero)', () => {
    const objKey = { user: 'a' }
    const store = new BoundedSessionStore<unknown, string>({ now: () => 0, sweepIntervalMs: 0 })
    store.set(objKey, 'object').set('1', 'string').set(1, 'number').set(Number.NaN, 'nan')
    expect(store.get(objKey)).toBe('object')
    expect(store.get({ user: 'a' })).toBeUndefined()
    expect(store.get('1')).toBe('string')
    expect(store.get(1)).toBe('number')
    expect(store.get(Number.NaN)).toBe('nan')
    expect(store.size).toBe(4)
  })

  it('stores falsy values faithfully', () => {
    const store = new BoundedSessionStore<string, number | string | null>({ now: () => 0, sweepIntervalMs: 0 })
    store.set('zero', 0).set('empty', '').set('null', null)
    expect(store.get('zero')).toBe(0)
    expect(store.get('empty')).toBe('')
    expect(store.get('null')).toBeNull()
    expect(store.has('null')).toBe(true)
    expect(store.size).toBe(3)
  })
})
