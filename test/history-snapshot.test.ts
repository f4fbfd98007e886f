import * as fc from 'fast-check'
import { assertProperty } from './helpers/property.js'
import { describe, expect, it } from 'vitest'
import { type HistorySnapshot, RingBufferHistory, type RingBufferHistoryOptions } from '../src/index.js'
import { asst, isSystem, isUser, type Msg, names, stateOf, sys, user } from './helpers/messages.js'

const bytesOf = (m: Msg): number => m.content.length
const roundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

// Not generic, as a host's subclass is (`class TruncatingHistory extends RingBufferHistory<Message>`):
// TypeScript cannot infer a generic subclass's type argument through `this` (see history-view.test-d.ts).
class Sub extends RingBufferHistory<Msg> {
  tag(): string {
    return 'sub'
  }
}

const options: RingBufferHistoryOptions<Msg> = { maxMessages: 8, maxBytes: 80, maxPinned: 2, sizeOf: bytesOf, pin: isSystem, startOn: isUser }

// A history that has wrapped, trimmed, and holds pinned messages (by pin and by pushPinned), one of them no longer protected.
function lived(): RingBufferHistory<Msg> {
  const h = new RingBufferHistory<Msg>(options)
  for (let i = 1; i <= 5; i++) h.push(user(`u${i}`), asst(`a${i}`))
  h.push(sys('old init'))
  h.pushPinned(user('framing'))
  h.push(sys('new init')) // 'old init' stays, pinned but no longer protected
  return h
}

describe('RingBufferHistory: snapshot and restore', () => {
  it('a snapshot is plain data: the messages, the pinned indexes and evictedCount', () => {
    const h = lived()
    const snap = h.snapshot()
    expect(snap).toEqual({ version: 1, messages: h.toArray(), pinned: [4, 5, 6], evictedCount: 6 })
    expect(names(snap.messages)).toEqual(['u4', 'a4', 'u5', 'a5', 'old init', 'framing', 'new init'])
    expect(roundTrip(snap)).toEqual(snap)
    // a copy: changing it does not change the history
    snap.messages.pop()
    expect(h.length).toBe(7)
  })

  it('through JSON and back gives exactly the same history', () => {
    const h = lived()
    const r = RingBufferHistory.restore(roundTrip(h.snapshot()), options)
    expect(r.toArray()).toEqual(h.toArray())
    expect(r.snapshot()).toEqual(h.snapshot())
    expect(r.evictedCount).toBe(h.evictedCount)
    expect(r.bytes).toBe(h.bytes)
    expect(r.tokens).toBe(h.tokens)
    expect(r.capacity).toBe(h.capacity)
  })

  it('pins come back: later pushes trim the restored history as they trim the original', () => {
    const h = lived()
    const r = RingBufferHistory.restore(roundTrip(h.snapshot()), options)
    const more = [user('u7'), asst('a7'), user('u8'), asst('a8'), sys('newest init'), user('u9'), asst('a9'), user('u10')]
    for (const m of more) {
      h.push(m)
      r.push(m)
      expect(r.toArray()).toEqual(h.toArray())
      expect(r.snapshot()).toEqual(h.snapshot())
    }
  })

  it('pins made by pushPinned come back without the pin option', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3 })
    h.pushPinned(user('framing'))
    h.push(asst('a1'))
    const r = RingBufferHistory.restore(roundTrip(h.snapshot()), { maxMessages: 3 })
    r.push(asst('a2'), asst('a3'), asst('a4'))
    expect(names(r)).toEqual(['framing', 'a3', 'a4'])
  })

  it('round trips any history built by pushes, pushPinned, length and reset', () => {
    type Op = { kind: 'push' | 'pushPinned'; role: Msg['role']; len: number } | { kind: 'length'; n: number }
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constantFrom('push' as const, 'pushPinned' as const), role: fc.constantFrom<Msg['role']>('system', 'user', 'assistant'), len: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ kind: fc.constant('length' as const), n: fc.integer({ min: 0, max: 6 }) }),
    )
    assertProperty(
      fc.property(fc.array(op, { maxLength: 40 }), fc.array(op, { maxLength: 20 }), fc.constantFrom(0, 0.5, 1), (before, after, trimTo) => {
        const o = { ...options, trimTo }
        const h = new RingBufferHistory<Msg>(o)
        let id = 0
        const apply = (target: RingBufferHistory<Msg>, ops: Op[], fresh: boolean) => {
          for (const step of ops) {
            if (step.kind === 'length') target.length = step.n
            else {
              const m: Msg = { role: step.role, content: `${fresh ? id++ : id}`.padEnd(step.len, '.') }
              target[step.kind](m)
            }
          }
        }
        apply(h, before, true)
        const r = RingBufferHistory.restore(roundTrip(h.snapshot()), o)
        expect(r.toArray()).toEqual(h.toArray())
        expect(r.snapshot()).toEqual(h.snapshot())
        expect(stateOf(r)).toEqual(stateOf(h))
        // the same later operations give the same result
        const start = id
        apply(h, after, true)
        id = start
        apply(r, after, true)
        expect(stateOf(r)).toEqual(stateOf(h))
        expect(r.snapshot()).toEqual(h.snapshot())
      }),
    )
  })

  it('restore with tighter options trims as pushes would, keeping the protected messages', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 10, pin: isSystem })
    h.push(sys('init'))
    for (let i = 1; i <= 6; i++) h.push(user(`u${i}`))
    const r = RingBufferHistory.restore(roundTrip(h.snapshot()), { maxMessages: 3, pin: isSystem })
    expect(names(r)).toEqual(['init', 'u5', 'u6'])
    expect(r.evictedCount).toBe(h.evictedCount + 4)
    const byBytes = RingBufferHistory.restore(roundTrip(h.snapshot()), { maxBytes: 8, sizeOf: bytesOf })
    expect(names(byBytes)).toEqual(['init', 'u5', 'u6'])
  })

  it('restore on a subclass makes that subclass', () => {
    const r = Sub.restore(lived().snapshot(), options)
    expect(r).toBeInstanceOf(Sub)
    expect(r.tag()).toBe('sub')
    expect(names(r)).toEqual(names(lived()))
  })

  it('restore of an empty snapshot is an empty history with the counter', () => {
    const r = RingBufferHistory.restore({ version: 1, messages: [], pinned: [], evictedCount: 12 })
    expect(r.length).toBe(0)
    expect(r.evictedCount).toBe(12)
  })

  it('ignores extra fields', () => {
    const r = RingBufferHistory.restore({ version: 1, messages: ['a'], pinned: [0], evictedCount: 0, note: 'x' } as HistorySnapshot<string>)
    expect(r.toArray()).toEqual(['a'])
  })

  const valid = { version: 1, messages: ['a', 'b', 'c'], pinned: [0, 2], evictedCount: 3 }
  const malformed: Array<[string, unknown]> = [
    ['null', null],
    ['an array', []],
    ['a string', '{"version":1}'],
    ['no version', { ...valid, version: undefined }],
    ['version 2', { ...valid, version: 2 }],
    ['version "1"', { ...valid, version: '1' }],
    ['no messages', { ...valid, messages: undefined }],
    ['messages not an array', { ...valid, messages: 'abc' }],
    ['no pinned', { ...valid, pinned: undefined }],
    ['pinned not an array', { ...valid, pinned: 0 }],
    ['pinned out of range', { ...valid, pinned: [3] }],
    ['pinned negative', { ...valid, pinned: [-1] }],
    ['pinned unsorted', { ...valid, pinned: [2, 0] }],
    ['pinned duplicate', { ...valid, pinned: [1, 1] }],
    ['pinned not an integer', { ...valid, pinned: [0.5] }],
    ['pinned a string', { ...valid, pinned: ['0'] }],
    ['no evictedCount', { ...valid, evictedCount: undefined }],
    ['evictedCount -1', { ...valid, evictedCount: -1 }],
    ['evictedCount 1.5', { ...valid, evictedCount: 1.5 }],
    ['evictedCount "3"', { ...valid, evictedCount: '3' }],
  ]

  it.each(malformed)('a snapshot with %s is ERR_INVALID_SNAPSHOT', (_name, snapshot) => {
    expect(() => RingBufferHistory.restore(snapshot as HistorySnapshot<string>)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_SNAPSHOT', name: 'InvalidSnapshotError' }),
    )
  })

  it('the valid counterpart of those snapshots is accepted', () => {
    expect(RingBufferHistory.restore(valid as HistorySnapshot<string>, { maxPinned: 2 }).snapshot()).toEqual(valid)
  })

  it('restore copies the snapshot: changing it afterwards does not change the history', () => {
    const snap = { version: 1 as const, messages: ['a', 'b'], pinned: [0], evictedCount: 0 }
    const r = RingBufferHistory.restore(snap)
    snap.messages.push('c')
    snap.pinned.push(1)
    expect(r.toArray()).toEqual(['a', 'b'])
    expect(r.snapshot().pinned).toEqual([0])
  })
})

describe('RingBufferHistory: clone', () => {
  it('is an independent copy: pushing into one does not change the other', () => {
    const h = lived()
    const before = stateOf(h)
    const c = h.clone()
    expect(stateOf(c)).toEqual(before)
    expect(c.snapshot()).toEqual(h.snapshot())
    c.push(user('only in the clone'))
    c.length = 1
    expect(stateOf(h)).toEqual(before)
    h.push(user('only in the original'))
    expect(names(c)).toEqual(['u4'])
  })

  it('has the same options: capacity, budgets, pin and protection', () => {
    const h = lived()
    const c = h.clone()
    expect(c.capacity).toBe(h.capacity)
    for (const m of [user('u7'), sys('init 3'), asst('a7'), user('x'.repeat(40)), asst('a8'), user('u9')]) {
      h.push(m)
      c.push(m)
      expect(stateOf(c)).toEqual(stateOf(h))
      expect(c.snapshot()).toEqual(h.snapshot())
    }
  })

  it('clones an empty history, keeping its counter', () => {
    const h = new RingBufferHistory<string>({ maxMessages: 2 })
    h.push('a', 'b', 'c')
    h.clear()
    const c = h.clone()
    expect(c.length).toBe(0)
    expect(c.evictedCount).toBe(1)
    c.push('x')
    expect(h.length).toBe(0)
  })

  it('keeps the subclass', () => {
    const s = Sub.from([user('a'), user('b')], { maxMessages: 5 })
    const c = s.clone()
    expect(c).toBeInstanceOf(Sub)
    expect(c.tag()).toBe('sub')
    expect(names(c)).toEqual(['a', 'b'])
  })

  it('refuses the original’s checkpoints', () => {
    const h = new RingBufferHistory<string>()
    h.push('a')
    const mark = h.checkpoint()
    h.push('b')
    const c = h.clone()
    expect(() => c.rollback(mark)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CHECKPOINT' }))
    expect(c.toArray()).toEqual(['a', 'b'])
    // the original still takes it
    expect(h.rollback(mark)).toBe(1)
    expect(h.toArray()).toEqual(['a'])
  })

  it('structuredClone does not copy a history, as the docs say (use clone or snapshot)', () => {
    const h = lived()
    const copy = structuredClone(h) as unknown as Record<string, unknown>
    expect(copy.length).toBeUndefined()
    expect(copy).not.toBeInstanceOf(RingBufferHistory)
  })
})
