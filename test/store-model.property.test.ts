import fc from 'fast-check'
import { assertProperty } from './helpers/property.js'
import { describe, expect, it } from 'vitest'
import {
  BoundedSessionStore,
  RingBufferHistory,
  SESSION_OVERHEAD_BYTES,
  type OverflowInfo,
  type RemovalReason,
  type SessionLease,
} from '../src/index.js'

// A model test: random sequences of every operation run against the store and against a simple
// reference model (an array in recency order that implements the documented semantics). After
// every step the two must agree on the returned values and errors, keys() and values() in order,
// size, bytes, the dispose log (key, value, reason), the remove events, the errors reported and
// the stats; the bounds hold unless the excess is busy, and then an overflow was emitted.
//
// Readings of the contract this model commits to (where it is silent):
// - Order is order of activity: a read, a set, a release, and being found busy by a scan (the
//   eviction scans and the sweep) make a session the most recent. An eviction scan walks from the
//   least recently active end, stops once it has picked enough idle sessions, and moves the busy
//   ones it met to the front, in the order met.
// - Enforcement of a pending bound runs AFTER the operation's own effect, on get, set,
//   getOrCreate, touch, acquire (hit or miss), delete of a present key, every effective release,
//   sweep and a push that changes a stored history's bytes; never on peek, has, iteration, size,
//   bytes, stats(), or delete of an absent key. It never evicts the session the operation just
//   returned, refreshed, inserted or grew. First the idle sessions that alone outweigh maxBytes
//   go, then the sessions bound, then the bytes bound. When the excluded session alone outweighs
//   maxBytes, no other session is evicted for the bytes bound.
// - Adding a session to a full store first removes idle sessions that alone outweigh maxBytes,
//   then (with 'evict') evicts, or (with 'reject') removes the expired ones and then refuses.
// - `size` and `bytes` count the live sessions (those iteration yields).
// - dispose and 'remove' run once the operation's state is complete, before it returns, in the
//   order of removal; what they do to the store (the re-entrant actions) comes after, and their
//   own removals are processed by the same queue. A key with a teardown queued behind the one
//   running, or an async dispose not yet settled (within disposeTimeoutMs by the store's clock),
//   and no session under it, is reserved: set/getOrCreate throw ERR_SESSION_CLOSING (unless
//   whenReserved: 'allow').

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
  whenReserved: 'reject' | 'allow'
  maxBusyMs: number | undefined
}

/** What a dispose (or the remove listener) of an armed session does to the store. */
type Action =
  | { kind: 'set'; key: Key; init: number[]; busy: boolean }
  | { kind: 'delete' | 'get'; key: Key }
  | { kind: 'clear' | 'close' | 'sweep' }

type Op =
  | { kind: 'set'; key: Key; same: boolean; busy: boolean; init: number[] }
  | { kind: 'get' | 'peek' | 'has' | 'touch' | 'acquire' | 'flip'; key: Key }
  | { kind: 'delete'; key: Key; reason: 'host-reason' | undefined }
  | { kind: 'getOrCreate'; key: Key; fail: boolean; busy: boolean; init: number[] }
  | { kind: 'release'; index: number; viaDispose: boolean }
  | { kind: 'clear' | 'sweep' }
  | { kind: 'push'; key: Key; lengths: number[] }
  | { kind: 'pushStale'; index: number; length: number }
  | { kind: 'tick'; which: number }
  | { kind: 'arm'; key: Key; action: Action | undefined; via: 'dispose' | 'listener'; teardown: 'sync' | 'async' }
  | { kind: 'settle'; index: number; reject: boolean }
  | { kind: 'createAsync'; key: Key; busy: boolean; init: number[] }
  | { kind: 'finishCreate'; index: number }

interface MEntry {
  key: Key
  value: Val
  created: number
  lastRead: number
  leases: number
}

type Departure = [key: Key, uid: number, reason: RemovalReason | 'host-reason']

/** A key's running async teardowns, as the store keeps them. */
interface MTeardown {
  running: number
  deadline: number
}

const DISPOSE_TIMEOUT = 500

class Signal extends Error {
  constructor(readonly code: string) {
    super(code)
  }
}

const codeOf = (error: unknown): string => String((error as { code?: unknown } | null)?.code ?? error)

/** The reference model: the documented semantics, written as plainly as possible. */
class Model {
  /** Most recently active first. */
  entries: MEntry[] = []
  removed: Departure[] = []
  /** Departures whose dispose has run. */
  cursor = 0
  hits = 0
  misses = 0
  closed = false
  draining = false
  /** Over a bound, the last scan found every session busy: no scan until one may be idle. */
  allBusy = false
  errors: string[] = []
  teardowns = new Map<Key, MTeardown>()
  /** With maxBusyMs: when each session was first found busy without a break; the stranded ones. */
  busySince = new Map<MEntry, number>()
  stranded = new Set<MEntry>()
  strandedLog: Array<[Key, number, number]> = []
  /** Why the newest maxSessions removed keys left, oldest first. */
  tombstones = new Map<Key, { reason: string; at: number }>()
  tombstoneSeqs = new Map<Key, number>()
  recentRemovals: Array<[Key, number]> = []
  removalSeq = 0
  /** Keys with a getOrCreateAsync create in flight. */
  creating = new Set<Key>()
  /** Armed sessions by uid: what their teardown does. */
  armed = new Map<number, Extract<Op, { kind: 'arm' }>>()

  constructor(
    readonly cfg: Config,
    readonly clock: { t: number },
    readonly valueFor: (action: Extract<Action, { kind: 'set' }>) => Val,
    readonly onAsync: (uid: number, key: Key, teardown: MTeardown) => void,
  ) {}

  get now() {
    return this.clock.t
  }

  get maxBytes() {
    return this.cfg.maxBytes ?? Infinity
  }

  bytesOf(e: MEntry) {
    return SESSION_OVERHEAD_BYTES + e.value.history.bytes
  }

  get heldBytes() {
    return this.entries.reduce((sum, e) => sum + this.bytesOf(e), 0)
  }

  /** Whether busy protects the session: leased or busy, and (with maxBusyMs) not stranded. */
  busy(e: MEntry) {
    const found = e.leases > 0 || e.value.busy
    const max = this.cfg.maxBusyMs
    if (max === undefined) return found
    if (this.stranded.has(e)) return false
    if (!found) {
      this.busySince.delete(e)
      return false
    }
    const since = this.busySince.get(e)
    if (since === undefined) {
      this.busySince.set(e, this.now)
      return true
    }
    if (this.now - since <= max) return true
    this.busySince.delete(e)
    this.stranded.add(e)
    this.strandedLog.push([e.key, e.value.uid, this.now - since])
    return false
  }

  outOfTime(e: MEntry) {
    return this.now - e.lastRead >= this.cfg.idleTtlMs || (this.cfg.maxAgeMs !== undefined && this.now - e.created >= this.cfg.maxAgeMs)
  }

  /** Why an idle session has expired, ignoring whether it is busy. */
  timeReason(e: MEntry): 'idle' | 'max-age' | null {
    if (this.cfg.maxAgeMs !== undefined && this.now - e.created >= this.cfg.maxAgeMs) return 'max-age'
    if (this.now - e.lastRead >= this.cfg.idleTtlMs) return 'idle'
    return null
  }

  expiry(e: MEntry): RemovalReason | null {
    // Busy is asked only of a session past its time (as the store does: asking starts a stretch).
    const reason = this.timeReason(e)
    return reason === null || this.busy(e) ? null : reason
  }

  find(key: Key) {
    return this.entries.find((e) => e.key === key)
  }

  live() {
    return this.entries.filter((e) => this.expiry(e) === null)
  }

  depart(e: MEntry, reason: RemovalReason | 'host-reason') {
    const i = this.entries.indexOf(e)
    if (i < 0) throw new Error('model: departing an absent entry')
    this.entries.splice(i, 1)
    this.removed.push([e.key, e.value.uid, reason])
    // Remembered while among the newest maxSessions removals (a key removed twice counts twice).
    const seq = ++this.removalSeq
    this.tombstones.set(e.key, { reason, at: this.now })
    this.tombstoneSeqs.set(e.key, seq)
    this.recentRemovals.push([e.key, seq])
    if (this.recentRemovals.length > this.cfg.maxSessions) {
      const [oldKey, oldSeq] = this.recentRemovals.shift()!
      if (this.tombstoneSeqs.get(oldKey) === oldSeq) this.tombstones.delete(oldKey)
    }
  }

  toFront(e: MEntry) {
    this.entries.splice(this.entries.indexOf(e), 1)
    this.entries.unshift(e)
  }

  refresh(e: MEntry) {
    e.lastRead = this.now
    this.toFront(e)
  }

  /** The store's eviction scan (see the readings above). */
  pickIdle(exclude: MEntry | undefined, excess: number, byWeight: boolean, heavierThan: number): MEntry[] {
    const picked: MEntry[] = []
    const busy: MEntry[] = []
    for (const e of [...this.entries].reverse()) {
      if (excess <= 0) break
      if (e === exclude || this.bytesOf(e) <= heavierThan) continue
      if (this.busy(e)) {
        e.lastRead = this.now
        busy.push(e)
        continue
      }
      picked.push(e)
      excess -= byWeight ? this.bytesOf(e) : 1
    }
    for (const e of busy) this.toFront(e)
    return picked
  }

  evict(picked: MEntry[], reason: RemovalReason) {
    for (const e of picked) this.depart(e, this.timeReason(e) ?? reason)
  }

  /** Whether it had to stop with every session left busy (or excluded). */
  evictWhile(bytes: boolean, limit: number, reason: RemovalReason, exclude?: MEntry): boolean {
    for (;;) {
      const excess = bytes ? this.heldBytes - limit : this.entries.length - limit
      if (excess <= 0) return false
      const picked = this.pickIdle(exclude, excess, bytes, -1)
      if (picked.length === 0) return true
      this.evict(picked, reason)
    }
  }

  oversized() {
    return this.entries.filter((e) => this.bytesOf(e) > this.maxBytes).length
  }

  enforce(exclude?: MEntry) {
    const max = this.cfg.maxSessions
    const over = this.entries.length > max || this.heldBytes > this.maxBytes
    if (!over) {
      this.allBusy = false
      return
    }
    // Every session was found busy, and nothing since can have made one idle: no scan.
    if (this.allBusy) return
    const hopeless = exclude !== undefined && this.bytesOf(exclude) > this.maxBytes
    let blocked = false
    if (over && this.oversized() > (hopeless ? 1 : 0)) this.evict(this.pickIdle(exclude, Infinity, false, this.maxBytes), 'size')
    if (this.cfg.whenFull === 'evict' && this.entries.length > max && this.evictWhile(false, max, 'capacity', exclude)) blocked = true
    if (this.heldBytes > this.maxBytes && !hopeless && this.evictWhile(true, this.maxBytes, 'size', exclude)) blocked = true
    this.allBusy = blocked && (exclude === undefined || !this.entries.includes(exclude) || this.busy(exclude))
  }

  /** The sweep's walk: expired sessions go, busy ones past their time count as active now. */
  expireAll() {
    const found: Array<[MEntry, RemovalReason]> = []
    const busy: MEntry[] = []
    for (const e of [...this.entries].reverse()) {
      if (!this.outOfTime(e)) continue
      if (this.busy(e)) {
        e.lastRead = this.now
        busy.push(e)
      } else found.push([e, this.timeReason(e)!])
    }
    for (const e of busy) this.toFront(e)
    for (const [e, r] of found) this.depart(e, r)
  }

  makeRoom() {
    if (this.oversized() > 0) this.evict(this.pickIdle(undefined, Infinity, false, this.maxBytes), 'size')
    const max = this.cfg.maxSessions
    if (this.cfg.whenFull === 'reject') {
      if (this.entries.length >= max) this.expireAll()
      if (this.entries.length >= max) throw new Signal('ERR_SESSION_LIMIT')
      return
    }
    this.evictWhile(false, max - 1, 'capacity')
  }

  reserved(key: Key) {
    if (this.cfg.whenReserved === 'allow') return false
    return this.tearingDown(key)
  }

  /** Whether a teardown under `key` runs or is queued (what getOrCreateAsync waits for). */
  tearingDown(key: Key) {
    const t = this.teardowns.get(key)
    if (t !== undefined) {
      if (t.deadline > this.now) return true
      this.teardowns.delete(key)
    }
    return this.removed.slice(this.cursor).some((d) => d[0] === key)
  }

  assertOpen() {
    if (this.closed) throw new Signal('ERR_STORE_CLOSED')
  }

  insert(key: Key, value: Val): MEntry {
    const e: MEntry = { key, value, created: this.now, lastRead: this.now, leases: 0 }
    this.entries.unshift(e)
    this.tombstones.delete(key)
    this.enforce(e)
    return e
  }

  put(key: Key, value: Val) {
    const e = this.find(key)
    if (e && e.value === value) {
      this.allBusy = false
      // Stored again: a stretch of busy starts afresh.
      this.busySince.delete(e)
      this.stranded.delete(e)
      // Past its max age, the same value starts a new life: a get right after finds it.
      if (this.timeReason(e) === 'max-age' && !this.busy(e)) e.created = this.now
      this.refresh(e)
      this.enforce(e)
      return
    }
    if (!e && this.reserved(key)) throw new Signal('ERR_SESSION_CLOSING')
    if (e) this.depart(e, this.expiry(e) ?? 'replace')
    this.allBusy = false
    if (this.entries.length >= this.cfg.maxSessions) this.makeRoom()
    this.insert(key, value)
  }

  set(key: Key, value: Val) {
    this.assertOpen()
    this.put(key, value)
  }

  /**
   * get/touch/acquire: the live entry, refreshed; or undefined (an expired one departs). The
   * disposes that settling a bound runs come before the read returns: a session one of them
   * removes is a miss (unless the read is itself made by a dispose: then they come later).
   */
  read(key: Key, count: boolean, lease = false): MEntry | undefined {
    const e = this.find(key)
    if (e) this.toFront(e)
    const r = e ? this.expiry(e) : null
    if (!e || r) {
      if (e && r) {
        this.depart(e, r)
        this.allBusy = false
      }
      if (count) this.misses++
      this.enforce()
      return undefined
    }
    e.lastRead = this.now
    // The lease is held before the pending bound is settled (it is busy for that settling).
    if (lease) e.leases++
    this.enforce(e)
    if (!this.draining) this.drain()
    if (!this.entries.includes(e)) {
      if (count) this.misses++
      return undefined
    }
    if (count) this.hits++
    return e
  }

  get(key: Key) {
    return this.read(key, true)?.value
  }

  touch(key: Key) {
    this.allBusy = false
    return this.read(key, false) !== undefined
  }

  acquire(key: Key) {
    return this.read(key, true, true)
  }

  release(record: { entry: MEntry; released: boolean }) {
    if (record.released) return
    record.released = true
    if (!this.entries.includes(record.entry)) return
    record.entry.leases--
    this.allBusy = false
    this.refresh(record.entry)
    this.enforce()
  }

  /** peek/has: the live value, refreshing nothing; an expired one departs (no bound is settled). */
  peek(key: Key) {
    const e = this.find(key)
    if (!e) return undefined
    const r = this.expiry(e)
    if (r === null) return e.value
    this.depart(e, r)
    this.allBusy = false
    return undefined
  }

  getOrCreate(key: Key, create: () => Val): Val {
    this.assertOpen()
    let e = this.find(key)
    if (e && this.expiry(e) === null) {
      const found = this.read(key, false)
      if (found) {
        this.hits++
        return found.value
      }
      e = this.find(key)
      this.assertOpen()
    }
    // One create per key: a getOrCreateAsync of it is still creating.
    if (this.creating.has(key)) throw new Signal('ERR_SESSION_CREATING')
    this.misses++
    if (!e && this.reserved(key)) throw new Signal('ERR_SESSION_CLOSING')
    // A new key that a full 'reject' store cannot take is refused before create() runs.
    if (!e && this.cfg.whenFull === 'reject' && this.entries.length >= this.cfg.maxSessions) this.makeRoom()
    const value = create()
    this.put(key, value)
    return value
  }

  /** A getOrCreateAsync's create resolved: its session is stored as by set (or refused once closed). */
  finishCreate(key: Key, value: Val): Val {
    this.creating.delete(key)
    if (this.closed) {
      this.removed.push([key, value.uid, 'close'])
      throw new Signal('ERR_STORE_CLOSED')
    }
    this.set(key, value)
    return value
  }

  delete(key: Key, reason?: 'host-reason') {
    const e = this.find(key)
    if (!e) return false
    const r = this.expiry(e)
    this.depart(e, r ?? reason ?? 'delete')
    this.enforce()
    return r === null
  }

  sweep() {
    const before = this.removed.length
    this.allBusy = false
    this.expireAll()
    this.enforce()
    return this.removed.length - before
  }

  clear() {
    for (const e of [...this.entries].reverse()) this.depart(e, 'clear')
    this.allBusy = false
  }

  close() {
    if (this.closed) return
    this.closed = true
    for (const e of [...this.entries].reverse()) this.depart(e, 'close')
    this.allBusy = false
  }

  perform(action: Action) {
    switch (action.kind) {
      case 'set':
        return this.set(action.key, this.valueFor(action))
      case 'delete':
        return this.delete(action.key)
      case 'get':
        return this.get(action.key)
      case 'clear':
        return this.clear()
      case 'close':
        return this.close()
      case 'sweep':
        return this.sweep()
    }
  }

  /** The teardowns queued by an operation, in order, with what the armed ones do. */
  drain() {
    this.draining = true
    try {
      this.drainQueue()
    } finally {
      this.draining = false
    }
  }

  drainQueue() {
    while (this.cursor < this.removed.length) {
      const [key, uid] = this.removed[this.cursor++]!
      const arm = this.armed.get(uid)
      if (arm === undefined) continue
      this.armed.delete(uid)
      if (arm.via === 'dispose') this.act(arm.action)
      if (arm.teardown === 'async') {
        let t = this.teardowns.get(key)
        if (t === undefined || t.deadline <= this.now) {
          t = { running: 0, deadline: 0 }
          this.teardowns.set(key, t)
        }
        t.running++
        t.deadline = this.now + DISPOSE_TIMEOUT
        this.onAsync(uid, key, t)
      }
      if (arm.via === 'listener') this.act(arm.action)
    }
  }

  act(action: Action | undefined) {
    if (action === undefined) return
    try {
      this.perform(action)
    } catch (error) {
      this.errors.push(codeOf(error))
    }
  }

  settle(key: Key, t: MTeardown) {
    if (this.teardowns.get(key) === t && --t.running === 0) this.teardowns.delete(key)
  }
}

const keyArb = fc.constantFrom(...KEYS)
/** A new session is busy a third of the time, like the worker's right after creation. */
const busyArb = fc.integer({ min: 0, max: 2 }).map((n) => n === 0)
const initArb = fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 2 })

const actionArb: fc.Arbitrary<Action | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArb, init: initArb, busy: busyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('delete' as const, 'get' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('clear' as const, 'close' as const, 'sweep' as const) }) },
)

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyArb, same: fc.boolean(), busy: busyArb, init: initArb }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('get' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('peek' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('has' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('touch' as const), key: keyArb }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb, reason: fc.constantFrom(undefined, 'host-reason' as const) }),
  },
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
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('tick' as const), which: fc.integer({ min: 0, max: 7 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('arm' as const),
      key: keyArb,
      action: actionArb,
      via: fc.constantFrom('dispose' as const, 'listener' as const),
      teardown: fc.constantFrom('sync' as const, 'async' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('settle' as const), index: fc.nat(20), reject: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('createAsync' as const), key: keyArb, busy: busyArb, init: initArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('finishCreate' as const), index: fc.nat(20) }) },
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
  whenReserved: fc.constantFrom('reject' as const, 'reject' as const, 'allow' as const),
  maxBusyMs: fc.option(fc.constantFrom(5, 120, 1200), { nil: undefined }),
})

const sortDepartures = (d: Departure[]) => [...d].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1]))
const settleMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve))

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
  // The value a re-entrant set stores: made once, shared by the store and the model.
  const actionValues = new Map<Action, Val>()
  const valueFor = (action: Extract<Action, { kind: 'set' }>) => {
    let v = actionValues.get(action)
    if (v === undefined) {
      v = newValue(action.init, action.busy)
      actionValues.set(action, v)
    }
    return v
  }

  const disposeLog: Departure[] = []
  const removeLog: Departure[] = []
  const errorLog: string[] = []
  const problems: string[] = []
  let sawSessionsOverflow = false
  let sawBytesOverflow = false

  // Async teardowns: the store's promise and the model's record, settled together by 'settle'.
  const pending: Array<{ uid: number; key: Key; resolve: () => void; reject: (e: unknown) => void; model?: MTeardown }> = []
  const storeArmed = new Map<number, Extract<Op, { kind: 'arm' }>>()
  let store!: BoundedSessionStore<Key, Val, 'host-reason'>
  const perform = (action: Action | undefined) => {
    if (action === undefined) return
    switch (action.kind) {
      case 'set':
        return store.set(action.key, valueFor(action))
      case 'delete':
        return store.delete(action.key)
      case 'get':
        return store.get(action.key)
      case 'clear':
        return store.clear()
      case 'close':
        return void store.close().catch(() => {})
      case 'sweep':
        return store.sweep()
    }
  }

  store = new BoundedSessionStore<Key, Val, 'host-reason'>({
    now: () => clock.t,
    monotonicNow: () => clock.t,
    sweepIntervalMs: 0,
    maxSessions: cfg.maxSessions,
    idleTtlMs: cfg.idleTtlMs,
    ...(cfg.maxAgeMs === undefined ? {} : { maxAgeMs: cfg.maxAgeMs }),
    ...(cfg.maxBytes === undefined ? {} : { maxBytes: cfg.maxBytes }),
    whenFull: cfg.whenFull,
    whenReserved: cfg.whenReserved,
    ...(cfg.maxBusyMs === undefined ? {} : { maxBusyMs: cfg.maxBusyMs }),
    disposeTimeoutMs: DISPOSE_TIMEOUT,
    isBusy: (v) => v.busy,
    dispose: (value, key, reason) => {
      disposeLog.push([key, value.uid, reason])
      const arm = storeArmed.get(value.uid)
      if (arm === undefined) return
      if (arm.via === 'dispose') {
        storeArmed.delete(value.uid)
        if (arm.teardown === 'sync') perform(arm.action) // a throw is the store's to report
        else {
          try {
            perform(arm.action)
          } catch (error) {
            errorLog.push(codeOf(error))
          }
        }
      }
      if (arm.teardown === 'sync') return
      return new Promise<void>((resolve, reject) => pending.push({ uid: value.uid, key, resolve, reject }))
    },
  })
  store.on('remove', (key, value, reason) => {
    removeLog.push([key, value.uid, reason])
    const arm = storeArmed.get(value.uid)
    if (arm?.via !== 'listener') return
    storeArmed.delete(value.uid)
    // What a listener throws goes to the caller of the operation; the model counts it as reported.
    try {
      perform(arm.action)
    } catch (error) {
      errorLog.push(codeOf(error))
    }
  })
  const strandedLog: Array<[Key, number, number]> = []
  store.on('stranded', (key, value, busyForMs) => strandedLog.push([key, value.uid, busyForMs]))
  store.on('error', (error) => {
    const code = codeOf(error)
    // Timeouts are found by the store's timer or by its next use of the key, whichever comes first.
    if (code === 'ERR_DISPOSE_TIMEOUT') return
    if (code === 'settle-rejected') return
    errorLog.push(code)
  })
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
  })

  const model = new Model(cfg, clock, valueFor, (uidOf, key, t) => {
    const p = pending.find((x) => x.uid === uidOf && x.key === key && x.model === undefined)
    if (p) p.model = t
    else problems.push(`model: async teardown of ${key}#${uidOf} that the store did not start`)
  })
  const leases: Array<{ lease: SessionLease<Key, Val>; entry: MEntry; released: boolean }> = []
  // getOrCreateAsync calls whose create has not resolved yet, and what their promise gave.
  const creates: Array<{ key: Key; value: Val; resolve: (v: Val) => void; outcome?: { value?: Val; error?: unknown } }> = []

  for (const [step, op] of ops.entries()) {
    const where = `step ${step}: ${JSON.stringify(op)} at t=${clock.t}`
    const modelBefore = model.removed.length
    const logBefore = disposeLog.length
    const removeBefore = removeLog.length
    const errorsBefore = errorLog.length
    const modelErrorsBefore = model.errors.length
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
      model.drain()
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
          () => store.delete(op.key, op.reason === undefined ? undefined : { reason: op.reason }),
          () => model.delete(op.key, op.reason),
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
        // A push goes to the value itself; the store must notice it on its own, and a push never
        // throws what the store's callbacks throw.
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
        model.drain()
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
        // The last one sets the clock back (a wall clock can go back; teardowns use their own).
        const amounts = [1, Math.floor(ttl / 2), ttl - 1, ttl, cfg.maxAgeMs ?? 2 * ttl, 3 * ttl, DISPOSE_TIMEOUT, -ttl]
        clock.t += amounts[op.which]!
        break
      }
      case 'arm': {
        const e = model.find(op.key)
        if (!e || model.armed.has(e.value.uid)) break
        model.armed.set(e.value.uid, op)
        storeArmed.set(e.value.uid, op)
        break
      }
      case 'createAsync': {
        // Only where the call goes straight to create (no live session, no teardown to wait for,
        // no create in flight, an open store that evicts to make room).
        if (cfg.whenFull !== 'evict' || model.closed || model.creating.has(op.key) || model.tearingDown(op.key)) break
        const e = model.find(op.key)
        if (e && model.expiry(e) === null) break
        const value = newValue(op.init, op.busy)
        const record: (typeof creates)[number] = { key: op.key, value, resolve: () => {} }
        const made = new Promise<Val>((resolve) => (record.resolve = resolve))
        store.getOrCreateAsync(op.key, () => made).then(
          (v) => (record.outcome = { value: v }),
          (error: unknown) => (record.outcome = { error }),
        )
        creates.push(record)
        model.creating.add(op.key)
        model.misses++
        await settleMicrotasks()
        break
      }
      case 'finishCreate': {
        const record = creates[op.index % Math.max(1, creates.length)]
        // A create that resolves while a teardown runs under its key waits for it: not modelled.
        if (!record || (!model.closed && model.tearingDown(record.key))) break
        creates.splice(creates.indexOf(record), 1)
        record.resolve(record.value)
        await settleMicrotasks()
        try {
          modelResult = model.finishCreate(record.key, record.value)
        } catch (e) {
          modelError = e
        }
        model.drain()
        if (record.outcome === undefined) problems.push('getOrCreateAsync did not settle once its create resolved')
        else if ('error' in record.outcome) storeError = record.outcome.error
        else storeResult = record.outcome.value
        break
      }
      case 'settle': {
        const open = pending.filter((p) => p.model !== undefined)
        const p = open[op.index % Math.max(1, open.length)]
        if (!p) break
        pending.splice(pending.indexOf(p), 1)
        if (op.reject) {
          p.reject(Object.assign(new Error('teardown failed'), { code: 'settle-rejected' }))
        } else p.resolve()
        model.settle(p.key, p.model!)
        await settleMicrotasks()
        break
      }
    }

    // Errors thrown by the operation itself.
    if (modelError instanceof Signal) {
      expect(codeOf(storeError), `${where}: expected ${modelError.code}`).toBe(modelError.code)
    } else if (modelError !== undefined) {
      expect(storeError, where).toBe(modelError)
    } else {
      expect(storeError, `${where}: unexpected error`).toBeUndefined()
      expect(storeResult, `${where}: result`).toBe(modelResult)
    }
    // Errors that re-entrant actions met, reported as 'error' events.
    expect(errorLog.slice(errorsBefore).sort(), `${where}: error events`).toEqual(model.errors.slice(modelErrorsBefore).sort())

    // The dispose log and the remove events of this step.
    const expectedDepartures = model.removed.slice(modelBefore)
    const actualDepartures = disposeLog.slice(logBefore)
    const actualRemoves = removeLog.slice(removeBefore)
    expect(actualDepartures, `${where}: dispose log ${JSON.stringify(actualDepartures)} vs ${JSON.stringify(expectedDepartures)}`).toEqual(expectedDepartures)
    expect(actualRemoves, `${where}: remove events`).toEqual(expectedDepartures)

    // Contents and order.
    const live = model.live()
    expect([...store.keys()], `${where}: keys()`).toEqual(live.map((e) => e.key))
    const values = [...store.values()]
    expect(values.length, `${where}: values()`).toBe(live.length)
    live.forEach((e, i) => expect(values[i], `${where}: values()[${i}]`).toBe(e.value))
    expect(store.size, `${where}: size`).toBe(live.length)
    const liveBytes = live.reduce((sum, e) => sum + model.bytesOf(e), 0)
    expect(store.bytes, `${where}: bytes`).toBe(liveBytes)

    // Bounds: met, unless an overflow was reported.
    if (model.entries.length > cfg.maxSessions) {
      expect(sawSessionsOverflow, `${where}: ${model.entries.length} sessions > ${cfg.maxSessions} without overflow`).toBe(true)
    } else sawSessionsOverflow = false
    if (cfg.maxBytes !== undefined && model.heldBytes > cfg.maxBytes) {
      expect(sawBytesOverflow, `${where}: bytes ${model.heldBytes} > ${cfg.maxBytes} without overflow`).toBe(true)
    } else sawBytesOverflow = false

    // Stats.
    const stats = store.stats()
    expect(stats.hits, `${where}: hits`).toBe(model.hits)
    expect(stats.misses, `${where}: misses`).toBe(model.misses)
    expect(stats.size, `${where}: stats.size`).toBe(store.size)
    expect(stats.bytes, `${where}: stats.bytes`).toBe(store.bytes)
    const counted: Record<string, number> = {}
    // A host's own reason counts as a delete.
    for (const [, , reason] of model.removed) {
      const as = reason === 'host-reason' ? 'delete' : reason
      counted[as] = (counted[as] ?? 0) + 1
    }
    for (const [reason, n] of Object.entries(stats.removed)) {
      expect(n, `${where}: removed.${reason}`).toBe(counted[reason] ?? 0)
    }

    // Stranded sessions (with maxBusyMs), and why each key left.
    expect([...strandedLog].sort(), `${where}: stranded`).toEqual([...model.strandedLog].sort())
    for (const key of KEYS) {
      const expected = model.tombstones.get(key)
      expect(store.lastRemoval(key), `${where}: lastRemoval(${key})`).toEqual(expected)
    }

    expect(problems, `${where}: problems`).toEqual([])
  }

  // Finally close: every session still held departs with 'close', exactly once, and close()
  // waits for every teardown still running.
  const held = model.entries.map((e): Departure => [e.key, e.value.uid, 'close'])
  const logBefore = disposeLog.length
  const closing = store.close()
  expect(sortDepartures(disposeLog.slice(logBefore))).toEqual(sortDepartures(held))
  let closed = false
  void closing.then(() => (closed = true))
  await settleMicrotasks()
  const running = pending.some((p) => p.model === undefined || p.model.deadline > clock.t)
  if (running) expect(closed, 'close() waits for running teardowns').toBe(false)
  for (const p of pending.splice(0)) p.resolve()
  await closing
  expect(store.size).toBe(0)
  expect(problems).toEqual([])
}

describe('BoundedSessionStore against a reference model', () => {
  it('agrees on every step of random operation sequences', async () => {
    await assertProperty(
      fc.asyncProperty(configArb, fc.array(opArb, { minLength: 1, maxLength: 100, size: 'max' }), async (cfg, ops) => {
        await run(cfg, ops)
      }),
      { numRuns: Number(process.env.MODEL_RUNS ?? 200) },
    )
  }, 120_000)
})
