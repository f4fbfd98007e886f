import * as fc from 'fast-check'
import { assertProperty } from './helpers/property.js'
import { describe, expect, it } from 'vitest'
import { type HistoryBudget, RingBufferHistory } from '../src/index.js'
import { asst, isSystem, isUser, type Msg, names, sys, user } from './helpers/messages.js'

const bytesOf = (m: Msg): number => m.content.length
const fits = (w: Msg[], b: { maxMessages?: number; maxBytes?: number }): boolean =>
  w.length <= (b.maxMessages ?? Infinity) && w.reduce((s, m) => s + bytesOf(m), 0) <= (b.maxBytes ?? Infinity)

function filled(n: number, options: ConstructorParameters<typeof RingBufferHistory<Msg>>[0] = {}) {
  const h = new RingBufferHistory<Msg>({ maxMessages: 1000, sizeOf: bytesOf, ...options })
  for (let i = 1; i <= n; i++) h.push(user(`m${i}`))
  return h
}

describe('RingBufferHistory: window with trimTo (cache-stable)', () => {
  it('the first call on a history larger than the budget cuts to trimTo × the budget', () => {
    const h = filled(20)
    expect(names(h.window({ maxMessages: 10, trimTo: 0.5 }))).toEqual(['m16', 'm17', 'm18', 'm19', 'm20'])
  })

  it('a history that fits the budget is returned whole, and its cut stays at the oldest message', () => {
    const h = filled(6)
    const budget = { maxMessages: 8, trimTo: 0.5 }
    expect(names(h.window(budget))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6'])
    h.push(user('m7'), user('m8'))
    expect(names(h.window(budget))[0]).toBe('m1')
    h.push(user('m9'))
    expect(names(h.window(budget))).toEqual(['m6', 'm7', 'm8', 'm9'])
  })

  it('the cut stays put while the window fits, then moves in one step', () => {
    const h = filled(20)
    const budget = { maxMessages: 10, trimTo: 0.5 }
    let previous = h.window(budget)
    for (let i = 21; i <= 25; i++) {
      h.push(user(`m${i}`))
      const w = h.window(budget)
      // Same prefix as the call before: what a provider's cache matches.
      expect(w).toEqual([...previous, h.at(-1)])
      previous = w
    }
    expect(names(previous)).toEqual(['m16', 'm17', 'm18', 'm19', 'm20', 'm21', 'm22', 'm23', 'm24', 'm25'])
    h.push(user('m26'))
    // Eleven would exceed the budget: the cut moves to the newest floor(0.5 × 10).
    expect(names(h.window(budget))).toEqual(['m22', 'm23', 'm24', 'm25', 'm26'])
  })

  it('calling it again without a push gives the same window', () => {
    const h = filled(20)
    const budget = { maxMessages: 8, trimTo: 0.5 }
    const first = h.window(budget)
    expect(h.window(budget)).toEqual(first)
    expect(h.window(budget)).toEqual(first)
  })

  it('works by bytes: the cut moves when the window outgrows maxBytes', () => {
    const h = filled(0)
    h.push(user('aaaa'), user('bbbb'), user('cc'), user('dd'))
    const budget = { maxBytes: 12, trimTo: 0.5 }
    expect(names(h.window(budget))).toEqual(['aaaa', 'bbbb', 'cc', 'dd']) // 12 bytes: all of it fits
    h.push(user('eee'))
    expect(names(h.window(budget))).toEqual(['dd', 'eee']) // 15 would not fit: floor(0.5 × 12) = 6 bytes
    h.push(user('fffff'))
    expect(names(h.window(budget))).toEqual(['dd', 'eee', 'fffff']) // 10 bytes: still fits
    h.push(user('g'), user('h'))
    expect(names(h.window(budget))).toEqual(['dd', 'eee', 'fffff', 'g', 'h']) // 12 bytes
    h.push(user('i'))
    expect(names(h.window(budget))).toEqual(['g', 'h', 'i']) // 13 would not fit: 6 bytes
  })

  it('includes the protected messages, which count toward the budget, and the newest', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 1000, pin: isSystem })
    h.push(sys('init'))
    for (let i = 1; i <= 10; i++) h.push(user(`m${i}`))
    const budget = { maxMessages: 6, trimTo: 0.5 }
    expect(names(h.window(budget))).toEqual(['init', 'm9', 'm10'])
    h.push(user('m11'), user('m12'), user('m13'))
    expect(names(h.window(budget))).toEqual(['init', 'm9', 'm10', 'm11', 'm12', 'm13'])
    h.push(user('m14'))
    expect(names(h.window(budget))).toEqual(['init', 'm13', 'm14'])
  })

  it('with only protected messages and the newest over the budget, it still returns them', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 10, maxPinned: 2, pin: isSystem })
    h.push(sys('s1'), sys('s2'), user('u1'), user('u2'))
    expect(names(h.window({ maxMessages: 1, trimTo: 0.5 }))).toEqual(['s1', 's2', 'u2'])
  })

  it('honours startOn: the cut lands on the start of a turn', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 1000, startOn: isUser })
    for (let i = 1; i <= 6; i++) h.push(user(`u${i}`), asst(`a${i}`), asst(`b${i}`))
    // The target, 4 messages, would start at a5: the cut moves on to u6.
    const budget = { maxMessages: 8, trimTo: 0.5 }
    expect(names(h.window(budget))).toEqual(['u6', 'a6', 'b6'])
    h.push(user('u7'), asst('a7'))
    expect(names(h.window(budget))).toEqual(['u6', 'a6', 'b6', 'u7', 'a7'])
  })

  it('trimTo 1 or no trimTo is the sliding window of before, for random histories and budgets', () => {
    assertProperty(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom<Msg['role']>('system', 'user', 'assistant'), fc.integer({ min: 0, max: 12 })), {
          maxLength: 40,
        }),
        fc.record({ maxMessages: fc.integer({ min: 1, max: 12 }), maxBytes: fc.integer({ min: 1, max: 60 }) }, { requiredKeys: [] }),
        (specs, budget) => {
          const h = new RingBufferHistory<Msg>({ maxMessages: 30, sizeOf: bytesOf, pin: isSystem, startOn: isUser })
          const reference = new RingBufferHistory<Msg>({ maxMessages: 30, sizeOf: bytesOf, pin: isSystem, startOn: isUser })
          for (const [role, len] of specs) {
            const m: Msg = { role, content: 'x'.repeat(len) }
            h.push(m)
            reference.push(m)
            const w = reference.window(budget)
            expect(h.window({ ...budget, trimTo: 1 })).toEqual(w)
            expect(h.window({ ...budget })).toEqual(w)
          }
        },
      ),
    )
  })

  it('for random pushes: within the budget, protected and newest included, the prefix kept while it fits', () => {
    assertProperty(
      fc.property(
        fc.constantFrom(0, 0.3, 0.5, 0.8),
        fc.record({ maxMessages: fc.integer({ min: 1, max: 10 }), maxBytes: fc.integer({ min: 5, max: 60 }) }, { requiredKeys: [] }),
        fc.boolean(),
        fc.array(fc.tuple(fc.constantFrom<Msg['role']>('user', 'assistant'), fc.integer({ min: 0, max: 10 })), {
          minLength: 1,
          maxLength: 60,
        }),
        (trimTo, limits, withStartOn, specs) => {
          const h = new RingBufferHistory<Msg>({
            maxMessages: 1000,
            sizeOf: bytesOf,
            pin: isSystem,
            ...(withStartOn ? { startOn: isUser } : {}),
          })
          const init = sys('sys')
          h.push(init)
          const budget: HistoryBudget = { ...limits, trimTo }
          let previous: Msg[] | undefined
          specs.forEach(([role, len], i) => {
            const m: Msg = { role, content: `${i}`.padEnd(len, '.') }
            h.push(m)
            const w = h.window(budget)
            const minimal = [init, m]
            expect(w[0]).toBe(init)
            expect(w.at(-1)).toBe(m)
            expect(fits(w, limits) || w.length === 2).toBe(true)
            // What follows the protected message is a run of the newest messages.
            const run = w.slice(1)
            expect(run).toEqual(h.slice(h.length - run.length))
            if (previous !== undefined && fits([...previous, m], limits)) {
              expect(w).toEqual([...previous, m])
            } else {
              const goal = {
                ...(limits.maxMessages === undefined ? {} : { maxMessages: Math.floor(trimTo * limits.maxMessages) }),
                ...(limits.maxBytes === undefined ? {} : { maxBytes: Math.floor(trimTo * limits.maxBytes) }),
              }
              expect(fits(w, goal) || w.length === minimal.length).toBe(true)
              if (withStartOn && run.length < h.length - 1 && run.length > 1) expect(run[0]?.role).toBe('user')
            }
            previous = w
          })
        },
      ),
    )
  })

  it('the cut survives the history trimming messages older than it', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 12 })
    for (let i = 1; i <= 12; i++) h.push(user(`m${i}`))
    const budget = { maxMessages: 10, trimTo: 0.5 }
    expect(names(h.window(budget))).toEqual(['m8', 'm9', 'm10', 'm11', 'm12'])
    h.push(user('m13'), user('m14'), user('m15')) // the history drops m1…m3
    expect(names(h)[0]).toBe('m4')
    expect(names(h.window(budget))).toEqual(['m8', 'm9', 'm10', 'm11', 'm12', 'm13', 'm14', 'm15'])
  })

  it('when the history trims the message at the cut, the window starts at its oldest message again', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 6 })
    for (let i = 1; i <= 6; i++) h.push(user(`m${i}`))
    const budget = { maxMessages: 10, trimTo: 0.5 }
    expect(names(h.window(budget))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6'])
    h.push(user('m7')) // m1, the cut, is trimmed by the history
    expect(names(h.window(budget))).toEqual(['m2', 'm3', 'm4', 'm5', 'm6', 'm7'])
    h.push(user('m8'))
    expect(names(h.window(budget))).toEqual(['m3', 'm4', 'm5', 'm6', 'm7', 'm8'])
  })

  it('does not change the history', () => {
    const h = filled(20)
    const before = h.toArray()
    h.window({ maxMessages: 4, trimTo: 0 })
    h.window({ maxMessages: 4, trimTo: 0.5 })
    expect(h.toArray()).toEqual(before)
  })

  it('after clear() it starts afresh', () => {
    const h = filled(20)
    const budget = { maxMessages: 10, trimTo: 0.5 }
    h.window(budget)
    h.clear()
    expect(h.window(budget)).toEqual([])
    h.push(user('n1'), user('n2'), user('n3'))
    expect(names(h.window(budget))).toEqual(['n1', 'n2', 'n3'])
    for (let i = 4; i <= 10; i++) h.push(user(`n${i}`))
    expect(names(h.window(budget))[0]).toBe('n1')
    h.push(user('n11'))
    expect(names(h.window(budget))).toEqual(['n7', 'n8', 'n9', 'n10', 'n11'])
  })

  it('after reset() it starts afresh from the new content', () => {
    const h = filled(20)
    const budget = { maxMessages: 4, trimTo: 0.5 }
    expect(names(h.window(budget))).toEqual(['m19', 'm20'])
    h.reset([user('r1'), user('r2'), user('r3')])
    expect(names(h.window(budget))).toEqual(['r1', 'r2', 'r3'])
    h.push(user('r4'))
    expect(names(h.window(budget))).toEqual(['r1', 'r2', 'r3', 'r4'])
    h.push(user('r5'))
    expect(names(h.window(budget))).toEqual(['r4', 'r5'])
  })

  it('after length = n drops the message at the cut, the window is cut afresh', () => {
    const h = filled(10)
    const budget = { maxMessages: 6, trimTo: 0.5 }
    expect(names(h.window(budget))).toEqual(['m8', 'm9', 'm10'])
    h.length = 7
    h.push(user('x'))
    const w = h.window(budget)
    expect(names(w)).toEqual(['m6', 'm7', 'x'])
  })
})
