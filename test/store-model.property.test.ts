import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  BoundedSessionStore,
  RingBufferHistory,
  SESSION_OVERHEAD_BYTES,
  SessionLimitError,
  type EvictionReason,
  type OverflowInfo,
  type SessionLease,
} from '../src/index.js'

// A model test: random sequences of every operation run against the store and against a simple
// reference model (an array in recency order that implements "Store semantics in detail" of the
// API contract). After every step the two must agree on the returned values, keys() and values()
// in order, size, bytes, the dispose log (key, value, reason), the evict events and the stats;
// the bounds hold unless the excess is busy, and then an overflow was emitted.
//
// Readings of the contract this model commits to (where it is silent):
// - Enforcement of a pending bound ("every later operation retries") runs AFTER the operation's
//   own effect, on get, set, getOrCreate, touch, acquire (hit or miss, including a read that
//   removed an expired session), delete of a present key, every effective release (even one that
//   leaves the session leased by another lease), sweep and a push that changes a stored history's
//   bytes; never on peek, has, iteration, size, bytes, stats(), or delete of an absent key.
// - That enforcement never evicts the session the operation just returned, refreshed, inserted or
//   grew (the get/touch/acquire/getOrCreate/set key, the pushed session); release, sweep and
//   delete exclude nobody. The sessions bound is enforced before the bytes bound. When the
//   excluded session alone outweighs maxBytes, no other session is evicted for the bytes bound
//   (it cannot be met): an overflow is reported, and a later operation evicts that session.
//   Idle sessions that alone outweigh maxBytes are evicted before any other for the bytes bound.
// - A release that does nothing (second release, or the session already left) does nothing else.
// - A getOrCreate miss changes nothing before create() returns: an expired entry keeps its place
//   in the recency order if create() throws. The miss is counted even then. The one exception: a
//   new key that a full 'reject' store must refuse is refused before create() runs, after the
//   expired sessions were removed (as any insert into a full 'reject' store does).
// - `size` counts sessions still held, including expired ones no sweep has removed yet.
// - dispose and 'evict' run synchronously, before the operation returns; clear() may dispose in
//   any order.

const KEYS = ['a', 'b', 'c', 'd', 'e'] as const
type Key = (typeof KEYS)[number]

interface Val {
  uid: number
  busy: boolean
  history: RingBufferHistory<string>
}

interface Config {
  maxSessions: number
  idleTtlMs: number
  maxAgeMs: number | undefined
  maxBytes: number | undefined
  whenFull: 'evict' | 'reject'
}

type Op =
  | { kind: 'set'; key: Key; same: boolean; busy: boolean; init: number[] }
  | { kind: 'get' | 'peek' | 'has' | 'touch' | 'delete' | 'acquire' | 'flip'; key: Key }
  | { kind: 'getOrCreate'; key: Key; fail: boolean; busy: boolean; init: number[] }
  | { kind: 'release'; index: number; viaDispose: boolean }
  | { kind: 'clear' | 'sweep' }
  | { kind: 'push'; key: Key; lengths: number[] }
  | { kind: 'pushStale'; index: number; length: number }
  | { kind: 'tick'; which: number }

interface MEntry {
  key: Key
  value: Val
  created: number
  lastRead: number
  leases: number
}

type Departure = [key: Key, uid: number, reason: EvictionReason]

class LimitSignal extends Error {}

/** The reference model: the contract's detailed semantics, written as plainly as possible. */
class Model {
  /** Most recently used first. */
  entries: MEntry[] = []
  departures: Departure[] = []
  hits = 0
  misses = 0

  constructor(
    readonly cfg: Config,
    readonly clock: { t: number },
  ) {}

  get now() {
    return this.clock.t
  }

  bytesOf(e: MEntry) {
    return SESSION_OVERHEAD_BYTES + e.value.history.bytes
  }

  get bytes() {
    return this.entries.reduce((sum, e) => sum + this.bytesOf(e), 0)
  }

  expiry(e: MEntry): EvictionReason | null {
    if (e.leases > 0 || e.value.busy) return null
    if (this.cfg.maxAgeMs !== undefined && this.now - e.created >= this.cfg.maxAgeMs) return 'max-age'
    if (this.now - e.lastRead >= this.cfg.idleTtlMs) return 'idle'
    return null
  }

  find(key: Key) {
    return this.entries.find((e) => e.key === key)
  }

  live() {
    return this.entries.filter((e) => this.expiry(e) === null)
  }

  depart(e: MEntry, reason: EvictionReason) {
    const i = this.entries.indexOf(e)
    if (i < 0) throw new Error('model: departing an absent entry')
    this.entries.splice(i, 1)
    this.departures.push([e.key, e.value.uid, reason])
  }

  refresh(e: MEntry) {
    e.lastRead = this.now
    this.entries.splice(this.entries.indexOf(e), 1)
    this.entries.unshift(e)
  }

  /** The least recently used session that may be evicted: not busy, not leased, not `exclude`. */
  candidate(exclude?: MEntry) {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!
      if (e !== exclude && e.leases === 0 && !e.value.busy) return e
    }
    return undefined
  }

  enforce(exclude?: MEntry) {
    while (this.entries.length > this.cfg.maxSessions) {
      const c = this.candidate(exclude)
      if (!c) break
      this.depart(c, this.expiry(c) ?? 'capacity')
    }
    const maxBytes = this.cfg.maxBytes
    if (maxBytes === undefined) return
    // Idle sessions that alone outweigh maxBytes can never fit: they go first, least recently
    // used first, until the bound is met.
    for (const e of [...this.entries].reverse()) {
      if (this.bytes <= maxBytes) break
      if (e !== exclude && e.leases === 0 && !e.value.busy && this.bytesOf(e) > maxBytes) this.depart(e, this.expiry(e) ?? 'size')
    }
    // A session that alone outweighs maxBytes is not made room for: the others stay.
    if (!(exclude !== undefined && this.bytesOf(exclude) > maxBytes)) {
      while (this.bytes > maxBytes) {
        const c = this.candidate(exclude)
        if (!c) break
        this.depart(c, this.expiry(c) ?? 'size')
      }
    }
  }

  insert(key: Key, value: Val): MEntry {
    if (this.entries.length >= this.cfg.maxSessions) {
      if (this.cfg.whenFull === 'evict') {
        while (this.entries.length >= this.cfg.maxSessions) {
          const c = this.candidate()
          if (!c) break
          this.depart(c, this.expiry(c) ?? 'capacity')
        }
      } else {
        this.rejectIfFull()
      }
    }
    const e: MEntry = { key, value, created: this.now, lastRead: this.now, leases: 0 }
    this.entries.unshift(e)
    this.enforce(e)
    return e
  }

  /** whenFull 'reject': expired sessions depart; if maxSessions live ones are left, throw. */
  rejectIfFull(): void {
    for (const e of [...this.entries].reverse()) {
      const r = this.expiry(e)
      if (r) this.depart(e, r)
    }
    if (this.entries.length >= this.cfg.maxSessions) throw new LimitSignal()
  }

  /** get/touch/acquire: the live entry, refreshed; or undefined (an expired one departs). */
  read(key: Key, count: boolean): MEntry | undefined {
    const e = this.find(key)
    const r = e ? this.expiry(e) : null
    if (!e || r) {
      if (e && r) this.depart(e, r)
      if (count) this.misses++
      this.enforce()
      return undefined
    }
    if (count) this.hits++
    this.refresh(e)
    return e
  }

  get(key: Key) {
    const e = this.read(key, true)
    if (e) this.enforce(e)
    return e?.value
  }

  touch(key: Key) {
    const e = this.read(key, false)
    if (e) this.enforce(e)
    return e !== undefined
  }

  acquire(key: Key) {
    const e = this.read(key, true)
    if (e) {
      e.leases++
      this.enforce(e)
    }
    return e
  }

  release(record: { entry: MEntry; released: boolean }) {
    if (record.released) return
    record.released = true
    if (!this.entries.includes(record.entry)) return
    record.entry.leases--
    this.refresh(record.entry)
    this.enforce()
  }

  peek(key: Key) {
    const e = this.find(key)
    return e && this.expiry(e) === null ? e.value : undefined
  }

  set(key: Key, value: Val) {
    const e = this.find(key)
    if (e) {
      // The same value is only refreshed, even if it had expired: it stays, so it is not disposed.
      if (e.value === value) {
        this.refresh(e)
        this.enforce(e)
        return
      }
      this.depart(e, this.expiry(e) ?? 'replace')
    }
    this.insert(key, value)
  }

  getOrCreate(key: Key, create: () => Val): Val {
    const e = this.find(key)
    if (e && this.expiry(e) === null) {
      this.hits++
      this.refresh(e)
      this.enforce(e)
      return e.value
    }
    this.misses++
    // A new key that a full 'reject' store cannot take is refused before create() runs.
    if (!e && this.cfg.whenFull === 'reject' && this.entries.length >= this.cfg.maxSessions) this.rejectIfFull()
    const value = create()
    if (e) this.depart(e, this.expiry(e)!)
    return this.insert(key, value).value
  }

  delete(key: Key) {
    const e = this.find(key)
    if (!e) return false
    const r = this.expiry(e)
    this.depart(e, r ?? 'delete')
    this.enforce()
    return r === null
  }

  sweep() {
    const before = this.departures.length
    for (const e of [...this.entries].reverse()) {
      const r = this.expiry(e)
      if (r) this.depart(e, r)
    }
    this.enforce()
    return this.departures.length - before
  }

  clear() {
    for (const e of [...this.entries]) this.depart(e, 'clear')
  }
}

const keyArb = fc.constantFrom(...KEYS)
/** A new session is busy a third of the time, like the worker's right after creation. */
const busyArb = fc.integer({ min: 0, max: 2 }).map((n) => n === 0)
const initArb = fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 2 })

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArb, same: fc.boolean(), busy: busyArb, init: initArb }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('get' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('peek' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('has' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('touch' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('acquire' as const), key: keyArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flip' as const), key: keyArb }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('getOrCreate' as const),
      key: keyArb,
      fail: fc.integer({ min: 0, max: 2 }).map((n) => n === 0),
      busy: busyArb,
      init: initArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('release' as const), index: fc.nat(20), viaDispose: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('sweep' as const) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('push' as const),
      key: keyArb,
      lengths: fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('pushStale' as const), index: fc.nat(20), length: fc.integer({ min: 0, max: 400 }) }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('tick' as const), which: fc.integer({ min: 0, max: 5 }) }) },
)

const configArb: fc.Arbitrary<Config> = fc.record({
  maxSessions: fc.integer({ min: 1, max: 4 }),
  idleTtlMs: fc.constantFrom(10, 100, 1000),
  maxAgeMs: fc.option(fc.constantFrom(15, 150, 2500), { nil: undefined }),
  maxBytes: fc.option(
    fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1500 })).map(([n, extra]) => n * SESSION_OVERHEAD_BYTES + extra),
    { nil: undefined },
  ),
  whenFull: fc.constantFrom('evict' as const, 'reject' as const),
})

const sortDepartures = (d: Departure[]) => [...d].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1]))

async function run(cfg: Config, ops: Op[]) {
  const clock = { t: 0 }
  let uid = 0
  const allValues = new Map<number, Val>()
  const newValue = (init: number[], busy = false): Val => {
    const history = new RingBufferHistory<string>({ maxMessages: 3 })
    for (const n of init) history.push('x'.repeat(n))
    const value = { uid: ++uid, busy, history }
    allValues.set(value.uid, value)
    return value
  }

  const disposeLog: Departure[] = []
  const evictLog: Departure[] = []
  const problems: string[] = []
  let sawSessionsOverflow = false
  let sawBytesOverflow = false

  const store = new BoundedSessionStore<Key, Val>({
    now: () => clock.t,
    sweepIntervalMs: 0,
    maxSessions: cfg.maxSessions,
    idleTtlMs: cfg.idleTtlMs,
    ...(cfg.maxAgeMs === undefined ? {} : { maxAgeMs: cfg.maxAgeMs }),
    ...(cfg.maxBytes === undefined ? {} : { maxBytes: cfg.maxBytes }),
    whenFull: cfg.whenFull,
    isBusy: (v) => v.busy,
    dispose: (value, key, reason) => {
      disposeLog.push([key, value.uid, reason])
    },
  })
  store.on('evict', (key, value, reason) => evictLog.push([key, value.uid, reason]))
  store.on('error', (error) => problems.push(`error event: ${String(error)}`))
  store.on('overflow', (info: OverflowInfo) => {
    if (info.bound === 'maxSessions') {
      sawSessionsOverflow = true
      if (info.limit !== cfg.maxSessions) problems.push(`overflow limit ${info.limit} != ${cfg.maxSessions}`)
      if (!(info.size > info.limit)) problems.push(`maxSessions overflow with size ${info.size} <= ${info.limit}`)
    } else {
      sawBytesOverflow = true
      if (info.limit !== cfg.maxBytes) problems.push(`overflow limit ${info.limit} != ${String(cfg.maxBytes)}`)
      if (!(info.bytes > info.limit)) problems.push(`maxBytes overflow with bytes ${info.bytes} <= ${info.limit}`)
    }
    if (info.size !== store.size) problems.push(`overflow info.size ${info.size} != store.size ${store.size}`)
    if (info.bytes !== store.bytes) problems.push(`overflow info.bytes ${info.bytes} != store.bytes ${store.bytes}`)
  })

  const model = new Model(cfg, clock)
  const leases: Array<{ lease: SessionLease<Key, Val>; entry: MEntry; released: boolean }> = []

  for (const [step, op] of ops.entries()) {
    const where = `step ${step}: ${JSON.stringify(op)} at t=${clock.t}`
    const modelBefore = model.departures.length
    const logBefore = disposeLog.length
    const evictBefore = evictLog.length
    let storeResult: unknown
    let modelResult: unknown
    let storeError: unknown
    let modelError: unknown
    const both = (onStore: () => unknown, onModel: () => unknown) => {
      try {
        storeResult = onStore()
      } catch (e) {
        storeError = e
      }
      try {
        modelResult = onModel()
      } catch (e) {
        modelError = e
      }
    }

    switch (op.kind) {
      case 'set': {
        const current = model.find(op.key)
        const value = op.same && current ? current.value : newValue(op.init, op.busy)
        both(
          () => store.set(op.key, value) === store,
          () => (model.set(op.key, value), true),
        )
        break
      }
      case 'get':
        both(
          () => store.get(op.key),
          () => model.get(op.key),
        )
        break
      case 'peek':
        both(
          () => store.peek(op.key),
          () => model.peek(op.key),
        )
        break
      case 'has':
        both(
          () => store.has(op.key),
          () => model.peek(op.key) !== undefined,
        )
        break
      case 'touch':
        both(
          () => store.touch(op.key),
          () => model.touch(op.key),
        )
        break
      case 'delete':
        both(
          () => store.delete(op.key),
          () => model.delete(op.key),
        )
        break
      case 'acquire': {
        let lease: SessionLease<Key, Val> | undefined
        let entry: MEntry | undefined
        both(
          () => {
            lease = store.acquire(op.key)
            return lease?.value
          },
          () => {
            entry = model.acquire(op.key)
            return entry?.value
          },
        )
        if (lease && entry) {
          expect(lease.key, where).toBe(op.key)
          leases.push({ lease, entry, released: false })
        }
        break
      }
      case 'release': {
        const record = leases[op.index % Math.max(1, leases.length)]
        if (!record) break
        both(
          () => (op.viaDispose ? record.lease[Symbol.dispose]() : record.lease.release()),
          () => model.release(record),
        )
        break
      }
      case 'flip': {
        const e = model.find(op.key)
        if (e) e.value.busy = !e.value.busy
        break
      }
      case 'getOrCreate': {
        const candidate = newValue(op.init, op.busy)
        let storeCalls = 0
        let modelCalls = 0
        const failure = new Error('create failed')
        both(
          () =>
            store.getOrCreate(op.key, (k) => {
              storeCalls++
              if (k !== op.key) problems.push(`create got key ${k}`)
              if (op.fail) throw failure
              return candidate
            }),
          () =>
            model.getOrCreate(op.key, () => {
              modelCalls++
              if (op.fail) throw failure
              return candidate
            }),
        )
        expect(storeCalls, `${where}: create calls`).toBe(modelCalls)
        break
      }
      case 'clear':
        both(
          () => store.clear(),
          () => model.clear(),
        )
        break
      case 'sweep':
        both(
          () => store.sweep(),
          () => model.sweep(),
        )
        break
      case 'push': {
        // A push goes to the value itself; the store must notice it on its own.
        const e = model.find(op.key)
        if (!e) break
        const before = e.value.history.bytes
        try {
          e.value.history.push(...op.lengths.map((n) => 'y'.repeat(n)))
        } catch (error) {
          storeError = error
        }
        // The store hears of a push that changed the history's bytes (one that trims exactly as
        // much as it adds changes nothing it weighs).
        if (e.value.history.bytes !== before) model.enforce(e)
        break
      }
      case 'pushStale': {
        const stale = [...allValues.values()].filter((v) => !model.entries.some((e) => e.value === v))
        const v = stale[op.index % Math.max(1, stale.length)]
        v?.history.push('z'.repeat(op.length))
        break
      }
      case 'tick': {
        const ttl = cfg.idleTtlMs
        const amounts = [1, Math.floor(ttl / 2), ttl - 1, ttl, cfg.maxAgeMs ?? 2 * ttl, 3 * ttl]
        clock.t += amounts[op.which]!
        break
      }
    }

    // Errors: only SessionLimitError is expected, and exactly when the model rejects.
    if (modelError instanceof LimitSignal) {
      expect(storeError, `${where}: expected SessionLimitError`).toBeInstanceOf(SessionLimitError)
      expect((storeError as SessionLimitError).code, where).toBe('ERR_SESSION_LIMIT')
      expect((storeError as SessionLimitError).limit, where).toBe(cfg.maxSessions)
    } else if (modelError !== undefined) {
      expect(storeError, where).toBe(modelError)
    } else {
      expect(storeError, `${where}: unexpected error`).toBeUndefined()
      expect(storeResult, `${where}: result`).toBe(modelResult)
    }

    // The dispose log and the evict events of this step.
    const expectedDepartures = model.departures.slice(modelBefore)
    const actualDepartures = disposeLog.slice(logBefore)
    const actualEvicts = evictLog.slice(evictBefore)
    if (op.kind === 'clear') {
      expect(sortDepartures(actualDepartures), `${where}: dispose log`).toEqual(sortDepartures(expectedDepartures))
      expect(sortDepartures(actualEvicts), `${where}: evict events`).toEqual(sortDepartures(expectedDepartures))
    } else {
      expect(actualDepartures, `${where}: dispose log`).toEqual(expectedDepartures)
      expect(actualEvicts, `${where}: evict events`).toEqual(expectedDepartures)
    }

    // Contents and order.
    const live = model.live()
    expect([...store.keys()], `${where}: keys()`).toEqual(live.map((e) => e.key))
    const values = [...store.values()]
    expect(values.length, `${where}: values()`).toBe(live.length)
    live.forEach((e, i) => expect(values[i], `${where}: values()[${i}]`).toBe(e.value))
    expect(store.size, `${where}: size`).toBe(model.entries.length)
    expect(store.bytes, `${where}: bytes`).toBe(model.bytes)

    // Bounds: met, unless an overflow was reported.
    if (store.size > cfg.maxSessions) {
      expect(sawSessionsOverflow, `${where}: size ${store.size} > ${cfg.maxSessions} without overflow`).toBe(true)
    } else sawSessionsOverflow = false
    if (cfg.maxBytes !== undefined && store.bytes > cfg.maxBytes) {
      expect(sawBytesOverflow, `${where}: bytes ${store.bytes} > ${cfg.maxBytes} without overflow`).toBe(true)
    } else sawBytesOverflow = false

    // Stats.
    const stats = store.stats()
    expect(stats.hits, `${where}: hits`).toBe(model.hits)
    expect(stats.misses, `${where}: misses`).toBe(model.misses)
    expect(stats.size, `${where}: stats.size`).toBe(store.size)
    expect(stats.bytes, `${where}: stats.bytes`).toBe(store.bytes)
    const counted: Record<string, number> = {}
    for (const [, , reason] of model.departures) counted[reason] = (counted[reason] ?? 0) + 1
    for (const [reason, n] of Object.entries(stats.departures)) {
      expect(n, `${where}: departures.${reason}`).toBe(counted[reason] ?? 0)
    }

    expect(problems, where).toEqual([])
  }

  // Finally close: every session still held departs with 'close', exactly once.
  const held = model.entries.map((e): Departure => [e.key, e.value.uid, 'close'])
  const logBefore = disposeLog.length
  await store.close()
  expect(sortDepartures(disposeLog.slice(logBefore))).toEqual(sortDepartures(held))
  expect(store.size).toBe(0)
  expect(problems).toEqual([])
}

describe('BoundedSessionStore against a reference model', () => {
  it('agrees on every step of random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(opArb, { minLength: 1, maxLength: 100, size: 'max' }), async (cfg, ops) => {
        await run(cfg, ops)
      }),
      { numRuns: 200 },
    )
  }, 120_000)
})
