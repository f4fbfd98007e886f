import { describe, expect, it } from 'vitest'
import { BoundedSessionStore, type RemovalReason } from '../src/index.js'
import { session, type TestSession } from './helpers/store.js'

// Why a key left (issue 22 item 4): lastRemoval(key) for the newest maxSessions removals, and a
// host's own reason on delete/remove; taking over a reserved key per call (item 5).

type HostReason = 'generator-exited' | 'deleted-by-request'

function setup(maxSessions = 3) {
  const clock = { t: 1_000_000 }
  const disposed: Array<[string, string]> = []
  const removed: Array<[string, string]> = []
  const store = new BoundedSessionStore<string, TestSession, HostReason>({
    maxSessions,
    now: () => clock.t,
    sweepIntervalMs: 0,
    idleTtlMs: 1000,
    dispose: (_v, key, reason) => void disposed.push([key, reason]),
  })
  store.on('remove', (key, _v, reason) => removed.push([key, reason]))
  return { store, clock, disposed, removed }
}

describe('delete(key, { reason }) and remove(key, { reason })', () => {
  it('give the host’s reason to dispose, the remove event and lastRemoval instead of delete', async () => {
    const { store, clock, disposed, removed } = setup()
    store.set('a', session('a')).set('b', session('b')).set('c', session('c'))
    clock.t += 5
    expect(store.delete('a', { reason: 'generator-exited' })).toBe(true)
    expect(await store.remove('b', { reason: 'deleted-by-request' })).toBe(true)
    store.delete('c')
    expect(disposed).toEqual([
      ['a', 'generator-exited'],
      ['b', 'deleted-by-request'],
      ['c', 'delete'],
    ])
    expect(removed).toEqual(disposed)
    expect(store.lastRemoval('a')).toEqual({ reason: 'generator-exited', at: 1_000_005 })
    expect(store.lastRemoval('c')).toEqual({ reason: 'delete', at: 1_000_005 })
    // Counted as deletes.
    expect(store.stats().removed.delete).toBe(3)
  })

  it('an expired session keeps its own reason', () => {
    const { store, clock, disposed } = setup()
    store.set('a', session('a'))
    clock.t += 1000
    expect(store.delete('a', { reason: 'generator-exited' })).toBe(false)
    expect(disposed).toEqual([['a', 'idle']])
    expect(store.lastRemoval('a')?.reason).toBe('idle')
  })

  it('a reason that is not a non-empty string throws ERR_INVALID_ARGUMENT and removes nothing', async () => {
    const { store, disposed } = setup()
    store.set('a', session('a'))
    for (const bad of [42, null, {}, '', Symbol('x')]) {
      expect(() => store.delete('a', { reason: bad as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'reason' }),
      )
      await expect(store.remove('a', { reason: bad as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    }
    expect(store.has('a')).toBe(true)
    expect(disposed).toEqual([])
  })
})

describe('lastRemoval(key)', () => {
  it('tells an eviction from a delete', () => {
    const { store } = setup(1)
    store.set('a', session('a'))
    store.set('b', session('b')) // a evicted
    expect(store.lastRemoval('a')?.reason).toBe<RemovalReason | HostReason>('capacity')
    expect(store.lastRemoval('b')).toBeUndefined()
  })

  it('is undefined for a key never stored; storing the key again forgets it', () => {
    const { store } = setup()
    expect(store.lastRemoval('never')).toBeUndefined()
    store.set('a', session('a'))
    store.delete('a')
    expect(store.lastRemoval('a')?.reason).toBe('delete')
    store.set('a', session('a'))
    expect(store.lastRemoval('a')).toBeUndefined()
  })

  it('remembers only the newest maxSessions removals', () => {
    const { store } = setup(3)
    for (const key of ['a', 'b', 'c', 'd', 'e']) {
      store.set(key, session(key))
      store.delete(key)
    }
    expect(['a', 'b', 'c', 'd', 'e'].map((key) => store.lastRemoval(key)?.reason)).toEqual([undefined, undefined, 'delete', 'delete', 'delete'])
    // A key removed again moves to the newest end.
    store.set('c', session('c'))
    store.delete('c', { reason: 'generator-exited' })
    store.set('f', session('f'))
    store.delete('f')
    expect(store.lastRemoval('c')?.reason).toBe('generator-exited')
    expect(store.lastRemoval('d')).toBeUndefined()
  })
})

describe('set / getOrCreate with { whenReserved: "allow" }', () => {
  function reserved() {
    let finish!: () => void
    const store = new BoundedSessionStore<string, TestSession>({
      sweepIntervalMs: 0,
      now: () => 0,
      dispose: () => new Promise<void>((resolve) => (finish = resolve)),
    })
    store.set('a', session('a'))
    store.delete('a')
    return { store, finish: () => finish() }
  }

  it('set takes over a reserved key for that call only', async () => {
    const { store, finish } = reserved()
    expect(() => store.set('a', session('a2'))).toThrow(expect.objectContaining({ code: 'ERR_SESSION_CLOSING' }))
    store.set('a', session('a2'), { whenReserved: 'allow' })
    expect(store.peek('a')?.id).toBe('a2')
    finish()
    await store.settled('a')
  })

  it('getOrCreate too; and "reject" overrides a store-wide "allow"', async () => {
    const { store, finish } = reserved()
    expect(() => store.getOrCreate('a', session)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_CLOSING' }))
    expect(store.getOrCreate('a', session, { whenReserved: 'allow' }).id).toBe('a')
    finish()
    await store.settled('a')

    let finishB!: () => void
    const allowing = new BoundedSessionStore<string, TestSession>({
      sweepIntervalMs: 0,
      whenReserved: 'allow',
      dispose: () => new Promise<void>((resolve) => (finishB = resolve)),
    })
    allowing.set('b', session('b'))
    allowing.delete('b')
    expect(() => allowing.set('b', session('b2'), { whenReserved: 'reject' })).toThrow(expect.objectContaining({ code: 'ERR_SESSION_CLOSING' }))
    allowing.set('b', session('b2'))
    finishB()
  })

  it('a whenReserved that is neither throws ERR_INVALID_ARGUMENT and stores nothing', () => {
    const { store } = reserved()
    for (const bad of ['yes', true, 1]) {
      expect(() => store.set('x', session('x'), { whenReserved: bad as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'whenReserved' }),
      )
      expect(() => store.getOrCreate('x', session, { whenReserved: bad as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'whenReserved' }),
      )
    }
    expect(store.has('x')).toBe(false)
  })
})
