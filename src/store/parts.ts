// The store's parts: what its seams share (the options, the index of sessions, the clock, the
// operation queue and the rules), made and connected once by its constructor (makeParts) and
// reachable from nowhere else. A seam keeps this object and reaches through it only the parts it
// needs; every part states its own invariant in its own file.
//
// The index: an LRUCache maps each key to one Entry and keeps the keys in order of activity
// (every activity moves the session to the most recent end). It is unbounded (an effectively
// infinite maxSize, each entry of size 1): the store decides every eviction itself, since busy
// sessions may exceed the bounds.
import type { EventEmitter } from 'eventemitter3'
import { LRUCache } from 'lru-cache'
import { BusyTracker } from './busy.js'
import { monotonic, StoreClock } from './clock.js'
import { Delivery } from './delivery.js'
import type { Entry, IndexKey } from './entry.js'
import { Eviction } from './eviction.js'
import { Expiry } from './expiry.js'
import { OperationQueue } from './operation-queue.js'
import type { ResolvedOptions } from './options.js'
import { Removal } from './removal.js'
import { Teardowns } from './teardowns.js'
import type { SessionStoreEvents } from './types.js'

/** The sessions by key, most recently active first. */
export type SessionIndex<K, V> = LRUCache<IndexKey<K>, Entry<K, V>>

/** A new, empty index. */
export function newIndex<K, V>(): SessionIndex<K, V> {
  return new LRUCache<IndexKey<K>, Entry<K, V>>({ maxSize: Number.MAX_SAFE_INTEGER })
}

/** The sessions held, least recently active first with `oldestFirst`, else most recently. */
// lru-cache types its values as possibly undefined (for its fetch feature, unused here).
export function inOrder<K, V>(index: SessionIndex<K, V>, oldestFirst: boolean): IterableIterator<Entry<K, V>> {
  return (oldestFirst ? index.rvalues() : index.values()) as IterableIterator<Entry<K, V>>
}

/** Makes the session the most recently active one, if it is still held. */
export function toFront<K, V>(index: SessionIndex<K, V>, entry: Entry<K, V>): void {
  if (!entry.gone) index.get(entry.key as IndexKey<K>)
}

/** The parts of one store, each in its own file. */
export interface StoreParts<K, V> {
  readonly o: ResolvedOptions<K, V>
  readonly index: SessionIndex<K, V>
  readonly clock: StoreClock
  /** Every operation of the store runs through it; what it reports runs once it is complete. */
  readonly ops: OperationQueue<K, V>
  /** Runs what the queue holds: disposes, events, errors. */
  readonly delivery: Delivery<K, V>
  readonly teardowns: Teardowns<K>
  readonly busy: BusyTracker<K, V>
  readonly time: Expiry<K, V>
  readonly evict: Eviction<K, V>
  /** The way out: the one way a session leaves. */
  readonly removal: Removal<K, V>
  /** The store, held weakly (by the watchers of its sessions' histories). */
  readonly self: WeakRef<object>
}

/**
 * Makes the parts of `store` and connects them. `peaks`: called when the outermost operation
 * ends, before what it queued runs.
 */
export function makeParts<K, V>(o: ResolvedOptions<K, V>, store: EventEmitter<SessionStoreEvents<K, V, string>>, peaks: () => void): StoreParts<K, V> {
  const index = newIndex<K, V>()
  const clock = new StoreClock(o.now)
  const ops: OperationQueue<K, V> = new OperationQueue<K, V>(
    (task) => delivery.run(task),
    (error) => delivery.warn(error),
    peaks,
  )
  const busy = new BusyTracker<K, V>(o.isBusy, o.maxBusy, {
    now: () => clock.last,
    report: (error, key) => ops.report(error, key),
    stranded: (entry, busyForMs) => {
      if (delivery.hears('stranded')) ops.push(['stranded', entry, busyForMs])
    },
  })
  const time = new Expiry<K, V>(o.idleTtl, o.maxAge, {
    oldestFirst: () => inOrder(index, true),
    live: () => index.size,
    busy: (entry) => busy.busy(entry),
    take: (entry, reason) => p.removal.take(entry, reason),
    toFront: (entry) => toFront(index, entry),
  })
  const evict = new Eviction<K, V>(o.maxSessions, o.maxBytes, o.reject, {
    size: () => index.size,
    oldestFirst: () => inOrder(index, true),
    pop: () => index.pop() as Entry<K, V>,
    busy: (entry) => busy.busy(entry),
    neverBusy: () => busy.never,
    take: (entry, reason, indexed) => p.removal.take(entry, reason, indexed),
    timeUp: (entry, now) => time.timeUp(entry, now),
    stamp: (entry, now) => time.stamp(entry, now),
    toFront: (entry) => toFront(index, entry),
    removeExpired: (now) => void time.findExpired(now, true),
    overflow: (info) => {
      if (delivery.hears('overflow')) ops.push(['overflow', info])
    },
  })
  const teardowns = new Teardowns<K>({
    timeoutMs: o.disposeTimeout,
    now: () => monotonic(o.monotonicNow, ops),
    report: (error, key) => ops.report(error, key),
    deliver: () => ops.deliver(),
  })
  const delivery = new Delivery<K, V>(store, o.dispose, teardowns, ops)
  const self = new WeakRef<object>(store)
  // The way out reaches the other parts through `p`, as they reach it.
  const p = { o, index, clock, ops, delivery, teardowns, busy, time, evict, removal: undefined as unknown as Removal<K, V>, self }
  p.removal = new Removal<K, V>(p)
  return p
}
