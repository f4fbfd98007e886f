import * as fc from 'fast-check'
import { assertProperty } from './helpers/property.js'
import { describe, expect, it } from 'vitest'
import { RingBufferHistory, SESSION_OVERHEAD_BYTES } from '../src/index.js'
import { asst, isSystem, type Msg, names, stateOf, sys, user } from './helpers/messages.js'
import { setupStore } from './helpers/store.js'

const bytesOf = (m: Msg): number => m.content.length

function watched(options: ConstructorParameters<typeof RingBufferHistory<Msg>>[0] = {}) {
  const history = new RingBufferHistory<Msg>(options)
  const { store } = setupStore<{ id: string; history: RingBufferHistory<Msg> }>()
  store.set('s', { id: 's', history })
  return { history, store }
}

describe('RingBufferHistory: reset', () => {
  it('replaces the content and returns the new length', () => {
    const h = new RingBufferHistory<Msg>({ sizeOf: bytesOf })
    h.push(user('old1'), asst('old2'))
    expect(h.reset([sys('init'), user('u1')])).toBe(2)
    expect(names(h)).toEqual(['init', 'u1'])
    expect(h.bytes).toBe(6)
  })

  it('takes any iterable', () => {
    const h = new RingBufferHistory<Msg>()
    const source = new Set([user('a'), user('b')])
    h.reset(source)
    expect(names(h)).toEqual(['a', 'b'])
    const other = RingBufferHistory.from([user('c')])
    h.reset(other)
    expect(names(h)).toEqual(['c'])
  })

  it('trims the new content as pushes into an empty history would', () => {
    assertProperty(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom<Msg['role']>('system', 'user', 'assistant'), fc.integer({ min: 0, max: 20 })), { maxLength: 30 }),
        fc.array(fc.tuple(fc.constantFrom<Msg['role']>('system', 'user', 'assistant'), fc.integer({ min: 0, max: 20 })), { maxLength: 30 }),
        fc.constantFrom(0, 0.5, 1),
        (before, after, trimTo) => {
          const options = { maxMessages: 6, maxBytes: 50, sizeOf: bytesOf, pin: isSystem, trimTo }
          const toMsg = ([role, len]: [Msg['role'], number], i: number): Msg => ({ role, content: `${i}`.padEnd(len, '.') })
          const h = new RingBufferHistory<Msg>(options)
          for (const m of before.map(toMsg)) h.push(m)
          const fresh = new RingBufferHistory<Msg>(options)
          const list = after.map(toMsg)
          for (const m of list) fresh.push(m)
          h.reset(list)
          expect(h.toArray()).toEqual(fresh.toArray())
          expect(h.bytes).toBe(fresh.bytes)
          expect(h.tokens).toBe(fresh.tokens)
          expect(h.snapshot().pinned).toEqual(fresh.snapshot().pinned)
        },
      ),
    )
  })

  it('keeps the options: budgets, pin and onTrim go on working', () => {
    const trimmed: string[] = []
    const h = new RingBufferHistory<Msg>({ maxMessages: 3, pin: isSystem, onTrim: (ms) => trimmed.push(...names(ms)) })
    h.push(user('x'))
    h.reset([sys('init'), user('u1')])
    h.push(asst('a1'), user('u2'), asst('a2'))
    expect(h.capacity).toBe(3)
    expect(names(h)).toEqual(['init', 'u2', 'a2'])
    expect(trimmed).toEqual(['u1', 'a1'])
  })

  it('keeps evictedCount: replaced messages are not counted as trimmed', () => {
    const trimmed: string[] = []
    const h = new RingBufferHistory<Msg>({ maxMessages: 2, onTrim: (ms) => trimmed.push(...names(ms)) })
    h.push(user('a'), user('b'), user('c'))
    expect(h.evictedCount).toBe(1)
    h.reset([user('d')])
    expect(h.evictedCount).toBe(1)
    expect(trimmed).toEqual(['a'])
  })

  it('new messages that do not fit are trimmed as pushes trim them: counted and reported', () => {
    const reports: Array<[string[], string]> = []
    const h = new RingBufferHistory<string>({ maxMessages: 2, onTrim: (ms, reason) => reports.push([ms, reason]) })
    h.push('old')
    h.reset(['a', 'b', 'c'])
    expect(h.toArray()).toEqual(['b', 'c'])
    expect(h.evictedCount).toBe(1)
    expect(reports).toEqual([[['a'], 'count']])
  })

  it('a store watching the history sees its new weight', () => {
    const { history, store } = watched()
    history.push(user('x'.repeat(1_000)))
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + history.bytes)
    history.reset([user('short')])
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + history.bytes)
    history.reset([user('y'.repeat(5_000)), asst('z'.repeat(3_000))])
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + history.bytes)
    // and goes on following later pushes
    history.push(user('more'))
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + history.bytes)
  })

  it('reset() with no argument empties the history', () => {
    const { history, store } = watched()
    history.pushPinned(sys('init'))
    history.push(user('u1'))
    expect(history.reset()).toBe(0)
    expect(history.length).toBe(0)
    expect(history.bytes).toBe(0)
    expect(history.tokens).toBe(0)
    expect(history.toArray()).toEqual([])
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES)
    // The pin went with its message.
    expect(history.snapshot().pinned).toEqual([])
  })

  it('all or nothing: a message with an invalid measure leaves the history unchanged', () => {
    const { history, store } = watched({ sizeOf: (m) => (m.content === 'bad' ? -1 : m.content.length) })
    history.push(user('keep1'), asst('keep2'))
    const before = stateOf(history)
    const storeBytes = store.bytes
    expect(() => history.reset([user('new'), user('bad')])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_MEASUREMENT' }))
    expect(stateOf(history)).toEqual(before)
    expect(store.bytes).toBe(storeBytes)
  })

  it('all or nothing: a message too large leaves the history unchanged, pins included', () => {
    const h = new RingBufferHistory<Msg>({ maxBytes: 10, sizeOf: bytesOf, maxMessages: 3 })
    h.pushPinned(sys('init'))
    h.push(user('u1'))
    const before = stateOf(h)
    expect(() => h.reset([user('ok'), user('x'.repeat(11))])).toThrow(expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE' }))
    expect(stateOf(h)).toEqual(before)
    h.push(user('u2'), user('u3'), user('u4'))
    expect(names(h)).toEqual(['init', 'u3', 'u4'])
  })
})

describe('RingBufferHistory: length assignment', () => {
  // A history that has wrapped: its oldest message is not in the first slot.
  function wrapped(options: ConstructorParameters<typeof RingBufferHistory<Msg>>[0] = {}) {
    const h = new RingBufferHistory<Msg>({ maxMessages: 8, sizeOf: bytesOf, ...options })
    for (let i = 1; i <= 13; i++) h.push(user(`m${i}`.padEnd(i, '.')))
    return h
  }

  it('length = n keeps the oldest n messages', () => {
    const h = wrapped()
    const all = h.toArray()
    h.length = 3
    expect(h.length).toBe(3)
    expect(h.toArray()).toEqual(all.slice(0, 3))
    expect(h.bytes).toBe(all.slice(0, 3).reduce((s, m) => s + bytesOf(m), 0))
    expect(h.tokens).toBe(all.slice(0, 3).reduce((s, m) => s + Math.ceil(m.content.length / 4), 0))
    // and pushing goes on from there
    h.push(user('next'))
    expect(names(h)).toEqual([...names(all.slice(0, 3)), 'next'])
  })

  it('length = 0 clears', () => {
    const h = wrapped()
    h.length = 0
    expect(h.toArray()).toEqual([])
    expect(h.bytes).toBe(0)
    expect(h.tokens).toBe(0)
  })

  it('a length at or above the current one changes nothing', () => {
    const h = wrapped()
    const before = stateOf(h)
    h.length = 8
    expect(stateOf(h)).toEqual(before)
    h.length = 100
    expect(stateOf(h)).toEqual(before)
  })

  it.each([-1, 1.5, Number.NaN, Infinity, '2'])('length = %s is ERR_INVALID_ARGUMENT and changes nothing', (value) => {
    const h = wrapped()
    const before = stateOf(h)
    expect(() => {
      h.length = value as number
    }).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'length' }))
    expect(stateOf(h)).toEqual(before)
  })

  it('is not trimming: evictedCount and onTrim are untouched', () => {
    let calls = 0
    const h = wrapped({ onTrim: () => calls++ })
    const { evicted } = stateOf(h)
    calls = 0
    h.length = 2
    expect(h.evictedCount).toBe(evicted)
    expect(calls).toBe(0)
  })

  it('a store watching the history follows its weight', () => {
    const { history, store } = watched()
    history.push(user('a'.repeat(100)), user('b'.repeat(200)), user('c'.repeat(300)))
    history.length = 1
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + history.bytes)
    history.length = 0
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES)
  })

  it('recomputes the pins: an older pinned message becomes protected again when the newer one goes', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 4, pin: isSystem })
    h.push(sys('old init'), user('u1'), sys('new init'))
    h.length = 2
    for (let i = 2; i <= 6; i++) h.push(user(`u${i}`))
    expect(names(h)).toEqual(['old init', 'u4', 'u5', 'u6'])
  })

  it('recomputes the pins: a dropped protected message protects nothing any more', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3, maxBytes: 100, sizeOf: bytesOf })
    h.push(user('u0'))
    h.pushPinned(sys('p'.repeat(90)))
    h.length = 1
    expect(h.snapshot().pinned).toEqual([])
    // The 90 bytes no longer stand beside new messages.
    h.push(user('x'.repeat(99)))
    expect(names(h)).toEqual(['x'.repeat(99)])
  })
})

describe('RingBufferHistory: what reset keeps (issue 17 item 12)', () => {
  it('a message pinned by pushPinned that reset is given again stays pinned, so it is not trimmed', () => {
    const init = sys('init')
    const h = new RingBufferHistory<Msg>({ maxMessages: 3 })
    h.pushPinned(init)
    h.push(user('u1'), asst('a1'))
    h.reset([init])
    expect(h.snapshot().pinned).toEqual([0])
    h.push(user('u2'), asst('a2'), user('u3'))
    expect(names(h)).toEqual(['init', 'a2', 'u3'])
  })

  it('an equal but new object is not pinned: reset pins by `pin` and by identity only', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3 })
    h.pushPinned(sys('init'))
    h.reset([sys('init')])
    expect(h.snapshot().pinned).toEqual([])
  })

  it('a rollback to a checkpoint taken before reset throws instead of emptying the history', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3 })
    h.push(user('u1'))
    const cp = h.checkpoint()
    h.push(asst('a1'))
    h.reset([sys('init')])
    expect(() => h.rollback(cp)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CHECKPOINT' }))
    expect(names(h)).toEqual(['init'])
  })
})
