// Issue item 4: sweeping a store in which half of the sessions have expired, against lru-cache's
// purgeStale() on the same sessions. One sample is one sweep; its figure is per stored session.
//
// Two cases, as time makes them:
// - `idle`: half the sessions were last active more than idleTtlMs ago. With a clock that moves
//   forward, those are the least recently active ones: the store walks them and stops at the first
//   live session; purgeStale walks every entry.
// - `max-age`: half the sessions are older than maxAgeMs, spread through the recency order (old
//   and young sessions are read in a shuffled order). Both walk every session. lru-cache's `ttl`
//   without `updateAgeOnGet` is the same bound.
import { LRUCache } from 'lru-cache'
import { type Variant, type Settings, type SpeedResult, compare } from '../harness.js'
import { type KeyKind, keysOf, prng } from '../data.js'
import { lib } from '../library.js'

const { BoundedSessionStore } = lib
const TTL = 3_600_000

type Key = number | string
export type SweepCase = 'idle' | 'max-age'

// Each structure has its own clock, which only moves forward (a clock that goes back would make
// the store walk every session in the idle case too). A sample's refill starts where the last
// sweep ran.
function clock(): { t: number; now: () => number } {
  const c = { t: 1_000_000_000, now: () => c.t }
  return c
}

export function sweepSuite(sessions: number, kind: KeyKind, expiry: SweepCase, settings: Settings): SpeedResult[] {
  const rand = prng(0x5eed_0004)
  const keys = keysOf(kind, sessions, rand)
  const values = keys.map((k, i) => ({ sessionDbId: i, key: k }))
  const live: number[] = []
  const expired: number[] = []
  for (let i = 0; i < sessions; i++) (rand() < 0.5 ? live : expired).push(i)
  // Every session in a shuffled order (Fisher-Yates with the seeded generator): the reads that
  // spread old sessions through the recency order in the max-age case.
  const shuffled = keys.map((_k, i) => i)
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[shuffled[i], shuffled[j]] = [shuffled[j] as number, shuffled[i] as number]
  }

  const byAge = expiry === 'max-age'
  const storeClock = clock()
  const lruClock = clock()
  const store = new BoundedSessionStore<Key, object>(
    byAge
      ? { maxSessions: sessions, maxAgeMs: TTL, idleTtlMs: 4 * TTL, now: storeClock.now, sweepIntervalMs: 0 }
      : { maxSessions: sessions, idleTtlMs: TTL, now: storeClock.now, sweepIntervalMs: 0 },
  )
  // ttlResolution 0: lru-cache otherwise caches its clock until the event loop turns, and these
  // samples run synchronously; with it, purgeStale reads the clock once per entry.
  const lru = new LRUCache<Key, object>({ max: sessions, ttl: TTL, updateAgeOnGet: !byAge, perf: { now: lruClock.now }, ttlResolution: 0 })
  for (const i of live) {
    store.set(keys[i] as Key, values[i] as object)
    lru.set(keys[i] as Key, values[i] as object)
  }

  // Untimed, before every sample, from the time `t` of the last sweep: the expired half is stored
  // at t; at t + TTL/2 the live half is read (idle; again at t + TTL, so that it never idles out) or
  // stored again and every session read in a shuffled order (max-age); the sweep runs at t + TTL + 1.
  const refill = (c: { t: number }, set: (k: Key, v: object) => void, read: (k: Key) => void): void => {
    const t = c.t
    for (const i of expired) set(keys[i] as Key, values[i] as object)
    c.t = t + TTL / 2
    if (byAge) {
      // New session objects: storing the same object again would only refresh the old session.
      for (const i of live) set(keys[i] as Key, { sessionDbId: i })
      for (const i of shuffled) read(keys[i] as Key)
    } else {
      for (const i of live) read(keys[i] as Key)
      c.t = t + TTL
      for (const i of live) read(keys[i] as Key)
    }
    c.t = t + TTL + 1
  }
  const storeSet = (k: Key, v: object): void => void store.set(k, v)
  const storeRead = (k: Key): void => void store.touch(k)
  const lruSet = (k: Key, v: object): void => void lru.set(k, v)
  const lruRead = (k: Key): void => void lru.get(k)

  let removed = 0
  const variants: Variant[] = [
    {
      name: 'BoundedSessionStore sweep()',
      beforeSample() {
        refill(storeClock, storeSet, storeRead)
      },
      run() {
        removed = store.sweep()
      },
    },
    {
      name: 'lru-cache purgeStale()',
      beforeSample() {
        refill(lruClock, lruSet, lruRead)
      },
      run() {
        lru.purgeStale()
      },
    },
  ]
  const label = byAge ? 'half past maxAgeMs, spread through the recency order' : 'half idle past idleTtlMs'
  const result = compare(`sweep-${expiry}-${sessions}-${kind}`, `sweep, ${sessions.toLocaleString('en-US')} sessions ${label}, ${kind} keys`, sessions, variants, settings)
  if (removed !== expired.length || store.size !== live.length || lru.size !== live.length) {
    throw new Error(`sweep (${expiry}): expected ${expired.length} removed and ${live.length} left, got ${removed} removed, ${store.size} and ${lru.size} left`)
  }
  return [result]
}
