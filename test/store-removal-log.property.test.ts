import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BoundedSessionStore } from '../src/index.js'
import { assertProperty } from './helpers/property.js'

// lastRemoval when the host asks rarely: the store records every removal cheaply and looks them
// up only when asked, so long runs of removals between two questions (more than maxSessions of
// them, the same keys removed again and again) must answer as if it had kept the newest
// maxSessions removals all along. The reference keeps them as a plain list.

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g']

type Op =
  | { kind: 'set'; key: string; fresh: boolean }
  | { kind: 'delete'; key: string; reason: 'x' | 'y' | undefined }
  | { kind: 'ask'; key: string }

const key = fc.constantFrom(...KEYS)
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), key, fresh: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('delete' as const), key, reason: fc.constantFrom('x' as const, 'y' as const, undefined) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ask' as const), key }) },
)

describe('lastRemoval', () => {
  it('answers the newest of the newest maxSessions removals, however seldom it is asked', () => {
    assertProperty(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 120 }), (maxSessions, ops) => {
        const clock = { t: 1000 }
        const store = new BoundedSessionStore<string, { key: string }, 'x' | 'y'>({ maxSessions, now: () => clock.t, sweepIntervalMs: 0 })
        // The reference: live keys least recently active first, removals oldest first.
        const live: Array<[string, { key: string }]> = []
        const log: Array<{ key: string; reason: string; at: number }> = []
        const removed = (k: string, reason: string): void => {
          log.push({ key: k, reason, at: clock.t })
          if (log.length > maxSessions) log.shift()
        }
        for (const o of ops) {
          clock.t++
          const at = live.findIndex(([k]) => k === o.key)
          if (o.kind === 'set') {
            const value = at >= 0 && !o.fresh ? (live[at] as [string, { key: string }])[1] : { key: o.key }
            if (at >= 0) {
              const [, old] = live.splice(at, 1)[0] as [string, { key: string }]
              if (old !== value) removed(o.key, 'replace')
            } else if (live.length >= maxSessions) removed((live.shift() as [string, unknown])[0], 'capacity')
            live.push([o.key, value])
            store.set(o.key, value)
          } else if (o.kind === 'delete') {
            if (at >= 0) {
              live.splice(at, 1)
              removed(o.key, o.reason ?? 'delete')
            }
            store.delete(o.key, o.reason === undefined ? undefined : { reason: o.reason })
          } else {
            const newest = at >= 0 ? undefined : log.findLast((r) => r.key === o.key)
            expect(store.lastRemoval(o.key)).toEqual(newest === undefined ? undefined : { reason: newest.reason, at: newest.at })
          }
        }
        for (const k of KEYS) {
          const newest = live.some(([l]) => l === k) ? undefined : log.findLast((r) => r.key === k)
          expect(store.lastRemoval(k), k).toEqual(newest === undefined ? undefined : { reason: newest.reason, at: newest.at })
        }
      }),
      { numRuns: 300 },
    )
  })
})
