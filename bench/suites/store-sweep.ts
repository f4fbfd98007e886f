// Issue item 4: sweeping a store in which half of the sessions have expired, against lru-cache's
// purgeStale() on the same sessions. One sample is one sweep over every session.
import { LRUCache } from 'lru-cache'
import { type Variant, type Settings, type SpeedResult, compare } from '../harness.js'
import { type KeyKind, keysOf, prng } from '../data.js'
import { lib } from '../library.js'

const { BoundedSessionStore } = lib
const TTL = 3_600_000
// Expired sessions were last read at T0; live ones at T0 + TTL / 2; the sweeps run at T1.
const T0 = 1_000_000_000
const T_LIVE = T0 + TTL / 2
const T1 = T0 + TTL + 1

type Key = number | string

export function sweepSuite(sessions: number, kind: KeyKind, settings: Settings): SpeedResult[] {
  const rand = prng(0x5eed_0004)
  const keys = keysOf(kind, sessions, rand)
  const values = keys.map((k, i) => ({ sessionDbId: i, key: k }))
  const live: number[] = []
  const expired: number[] = []
  // Interleaved at random: expired sessions are spread through the recency order.
  for (let i = 0; i < sessions; i++) (rand() < 0.5 ? live : expired).push(i)

  let clock = T_LIVE
  const now = (): number => clock
  const store = new BoundedSessionStore<Key, object>({ maxSessions: sessions, idleTtlMs: TTL, now, sweepIntervalMs: 0 })
  // ttlResolution 0: lru-cache otherwise caches its clock until the event loop turns, and these
  // samples run synchronously; with it, purgeStale reads the clock once per entry.
  const lru = new LRUCache<Key, object>({ max: sessions, ttl: TTL, updateAgeOnGet: true, perf: { now }, ttlResolution: 0 })
  for (const i of live) {
    store.set(keys[i] as Key, values[i] as object)
    lru.set(keys[i] as Key, values[i] as object)
  }

  let removed = 0
  const variants: Variant[] = [
    {
      name: 'BoundedSessionStore sweep()',
      beforeSample() {
        clock = T0
        for (const i of expired) store.set(keys[i] as Key, values[i] as object)
        clock = T1
      },
      run() {
        removed = store.sweep()
      },
    },
    {
      name: 'lru-cache purgeStale()',
      beforeSample() {
        clock = T0
        for (const i of expired) lru.set(keys[i] as Key, values[i] as object)
        clock = T1
      },
      run() {
        lru.purgeStale()
      },
    },
  ]
  const result = compare(
    `sweep-${sessions}-${kind}`,
    `sweep, ${sessions.toLocaleString('en-US')} sessions half expired, ${kind} keys`,
    sessions,
    variants,
    settings,
  )
  if (removed !== expired.length || store.size !== live.length || lru.size !== live.length) {
    throw new Error(`sweep: expected ${expired.length} removed and ${live.length} left`)
  }
  return [result]
}
