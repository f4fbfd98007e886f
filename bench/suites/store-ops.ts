// Issue item 3: the session store's hot operations against bare lru-cache with the same options
// and against the raw Map the worker used.
import { LRUCache } from 'lru-cache'
import { type Variant, type Settings, type SpeedResult, compare, sink } from '../harness.js'
import { type KeyKind, indexes, keysOf, prng } from '../data.js'
import { lib } from '../library.js'
import { busySuite } from './store-busy.js'

const { BoundedSessionStore } = lib
const OPS = 1000
const IDLE_TTL_MS = 3_600_000

/** A small stand-in for the worker's session object: the same objects go into every structure. */
interface Session {
  sessionDbId: number
  project: string
  lastPromptNumber: number
  generatorPromise: Promise<void> | null
}

type Key = number | string

export function storeSuite(sessions: number, kind: KeyKind, settings: Settings, smoke = false): SpeedResult[] {
  // The busy and max-age read cases run once, with the smallest store size of number keys.
  const extra = kind === 'number' && sessions <= 10_000 ? busySuite(settings, smoke) : []
  const rand = prng(0x5eed_0003)
  // The first `sessions` keys fill the structures; the rest are new keys for inserts.
  const keys = keysOf(kind, 2 * sessions, rand)
  const total = keys.length
  const values: Session[] = []
  for (let i = 0; i < sessions; i++) values.push({ sessionDbId: i, project: 'p', lastPromptNumber: 1, generatorPromise: null })
  const size = Math.min(1 << 20, 1 << Math.ceil(Math.log2(4 * sessions)))
  const mask = size - 1
  const order = indexes(size, sessions, rand)

  const store = new BoundedSessionStore<Key, Session>({ maxSessions: sessions, idleTtlMs: IDLE_TTL_MS })
  const lru = new LRUCache<Key, Session>({ max: sessions, ttl: IDLE_TTL_MS, updateAgeOnGet: true })
  const map = new Map<Key, Session>()
  for (let i = 0; i < sessions; i++) {
    const k = keys[i] as Key
    const v = values[i] as Session
    store.set(k, v)
    lru.set(k, v)
    map.set(k, v)
  }

  let g1 = 0
  let g2 = 0
  let g3 = 0
  const get: Variant[] = [
    {
      name: 'BoundedSessionStore',
      run() {
        const s = store
        let n = 0
        for (let k = 0; k < OPS; k++) {
          n += (s.get(keys[order[g1] as number] as Key) as Session).lastPromptNumber
          g1 = (g1 + 1) & mask
        }
        sink.value = n
      },
    },
    {
      name: 'lru-cache',
      run() {
        const c = lru
        let n = 0
        for (let k = 0; k < OPS; k++) {
          n += (c.get(keys[order[g2] as number] as Key) as Session).lastPromptNumber
          g2 = (g2 + 1) & mask
        }
        sink.value = n
      },
    },
    {
      name: 'Map',
      run() {
        const m = map
        let n = 0
        for (let k = 0; k < OPS; k++) {
          n += (m.get(keys[order[g3] as number] as Key) as Session).lastPromptNumber
          g3 = (g3 + 1) & mask
        }
        sink.value = n
      },
    },
  ]

  let s1 = 0
  let s2 = 0
  let s3 = 0
  const set: Variant[] = [
    {
      name: 'BoundedSessionStore',
      run() {
        const s = store
        for (let k = 0; k < OPS; k++) {
          const i = order[s1] as number
          s.set(keys[i] as Key, values[i] as Session)
          s1 = (s1 + 1) & mask
        }
      },
    },
    {
      name: 'lru-cache',
      run() {
        const c = lru
        for (let k = 0; k < OPS; k++) {
          const i = order[s2] as number
          c.set(keys[i] as Key, values[i] as Session)
          s2 = (s2 + 1) & mask
        }
      },
    },
    {
      name: 'Map',
      run() {
        const m = map
        for (let k = 0; k < OPS; k++) {
          const i = order[s3] as number
          m.set(keys[i] as Key, values[i] as Session)
          s3 = (s3 + 1) & mask
        }
      },
    },
  ]

  // Keys cycle through all 2 × sessions keys: each insert's key left (was evicted) `sessions`
  // inserts ago, so every insert evicts the least recently used session.
  let i1 = sessions
  let i2 = sessions
  let i3 = sessions
  const insert: Variant[] = [
    {
      name: 'BoundedSessionStore',
      run() {
        const s = store
        for (let k = 0; k < OPS; k++) {
          s.set(keys[i1] as Key, values[i1 % sessions] as Session)
          if (++i1 === total) i1 = 0
        }
      },
    },
    {
      name: 'lru-cache',
      run() {
        const c = lru
        for (let k = 0; k < OPS; k++) {
          c.set(keys[i2] as Key, values[i2 % sessions] as Session)
          if (++i2 === total) i2 = 0
        }
      },
    },
    {
      name: 'Map (delete oldest)',
      run() {
        const m = map
        for (let k = 0; k < OPS; k++) {
          if (m.size >= sessions) m.delete(m.keys().next().value as Key)
          m.set(keys[i3] as Key, values[i3 % sessions] as Session)
          if (++i3 === total) i3 = 0
        }
      },
    },
  ]

  const label = `${sessions.toLocaleString('en-US')} sessions, ${kind} keys`
  const results = [
    compare(`store-get-${sessions}-${kind}`, `get (hit), ${label}`, OPS, get, settings),
    compare(`store-set-${sessions}-${kind}`, `set (update, same value), ${label}`, OPS, set, settings),
    compare(`store-insert-${sessions}-${kind}`, `insert with eviction, ${label}`, OPS, insert, settings),
  ]
  if (store.size !== sessions || lru.size !== sessions || map.size !== sessions) throw new Error('store: sizes drifted')
  const evicted = store.stats().removed.capacity
  if (evicted === 0) throw new Error('store: inserts did not evict')
  return [...results, ...extra]
}
