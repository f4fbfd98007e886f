import { EventEmitter } from 'eventemitter3'
import { InvalidOptionsError, RegistryClosedError, SessionLimitError } from '../errors.js'
import { command } from './client.js'
import type { RedisClient } from './client.js'
import { fenceScript } from './history-scripts.js'
import { DEFAULT_PREFIX, keyList, type RegistryKeys, registryKeys, sessionIdOf, sessionKeys } from './keys.js'
import { acquireScript, releaseScript, renewScript, retokenScript, sessionScript } from './registry-scripts.js'
import {
  type AcquireOptions,
  parseOptions,
  type RedisLease,
  type RedisSessionRegistryEvents,
  type RedisSessionRegistryOptions,
  type RegistryDepartureReason,
} from './redis-session-registry-options.js'
import { assertEvictionPolicy } from './server-check.js'

export type {
  AcquireOptions,
  RedisLease,
  RedisSessionRegistryEvents,
  RedisSessionRegistryOptions,
  RegistryDepartureReason,
} from './redis-session-registry-options.js'

interface HeldLease extends RedisLease {
  readonly ttlMs: number
  // When the last renewal that succeeded was sent (Date.now()): the lease holds until renewedAt +
  // ttlMs at least, on the server's clock too, since the server set its deadline after this.
  renewedAt: number
  // When to try the next renewal, and how many tries in a row failed.
  nextAt: number
  failures: number
  end(reason: string): void
}

// The first retry of a failed renewal waits this long, then twice as long each time, never past
// half the time left before the lease's deadline, and never less than MIN_RETRY_MS.
const FIRST_RETRY_MS = 25
const MIN_RETRY_MS = 10
// A tombstone (the fence kept after a session's history is deleted) lives the registry's
// idleTtlMs, or this long when that is 0, and at least twice the longest lease of the registry.
const TOMBSTONE_TTL_MS = 3_600_000

/**
 * One bound and one lock for a whole fleet of workers sharing a Redis (or Valkey) server:
 *
 * - `acquire(id)` gives a worker a {@link RedisLease} on a session (or `null` while another
 *   worker holds it), renewed while held, with a fencing token for `RedisHistory`.
 * - At most `maxSessions` sessions across every worker, by last activity: the least recently
 *   active session no lease holds is evicted (or the new one rejected), its history deleted.
 * - Sessions idle for `idleTtlMs` expire.
 * - Every departure is recorded in a Redis Stream that every registry reads, so each worker's
 *   local `BoundedSessionStore` can drop the session's live state (`depart` event).
 *
 * A Stream rather than pub/sub: a worker that is disconnected for a moment, or busy, reads the
 * departures it missed when it is back, from where it stopped; pub/sub would drop them, and its
 * store would keep live state (a generator, a queue) for a session that is gone.
 *
 * @example
 * ```ts
 * const registry = new RedisSessionRegistry({ client: redis, maxSessions: 1_000 })
 * registry.on('depart', (id) => store.delete(id))
 * const lease = await registry.acquire(sessionId)
 * if (lease === null) return // another worker runs it
 * const history = new RedisHistory({ client: redis, key: sessionId, fence: lease })
 * ```
 */
export class RedisSessionRegistry extends EventEmitter<RedisSessionRegistryEvents> {
  readonly #client: RedisClient
  readonly #prefix: string
  readonly #keys: string[]
  readonly #departures: string
  readonly #maxSessions: number
  readonly #reject: boolean
  readonly #idleTtl: number
  readonly #leaseTtl: number
  readonly #interval: number
  readonly #maxLen: string
  readonly #now: (() => number) | undefined
  readonly #allowEviction: boolean
  readonly #leases = new Map<string, HeldLease>()
  // The longest lease ttl this registry has given, for the tombstones' lifetime.
  #longestLease: number
  // The id of the last departure read; undefined until the first read of the stream's end.
  #cursor: string | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  #polling = false
  #closed = false

  /**
   * @param options - see {@link RedisSessionRegistryOptions}
   * @throws {@link InvalidOptionsError} when an option is invalid
   */
  constructor(options: RedisSessionRegistryOptions) {
    super()
    const o = parseOptions(options)
    this.#client = o.client
    this.#prefix = o.prefix ?? DEFAULT_PREFIX
    const keys: RegistryKeys = registryKeys(this.#prefix, o.name ?? 'default')
    this.#keys = [keys.active, keys.token, keys.departures, keys.lease]
    this.#departures = keys.departures
    this.#maxSessions = o.maxSessions ?? 100
    this.#reject = o.whenFull === 'reject'
    this.#idleTtl = o.idleTtlMs ?? 3_600_000
    this.#leaseTtl = o.leaseTtlMs ?? 30_000
    this.#interval = o.pollIntervalMs ?? 1_000
    this.#maxLen = String(o.departuresMaxLen ?? 10_000)
    this.#now = o.now as (() => number) | undefined
    this.#allowEviction = o.allowAllKeysEviction === true
    this.#longestLease = this.#leaseTtl
    this.#schedule()
  }

  /** The most sessions registered across the fleet. */
  get maxSessions(): number {
    return this.#maxSessions
  }

  /**
   * Takes a lease on `sessionId`, registering the session if it is new (which may evict the
   * least recently active unleased session, or throw with `whenFull: 'reject'`). Raises the
   * session's fencing token in its history's keys before it resolves, so a previous holder's
   * late writes are refused from then on.
   *
   * @returns the lease, or `null` while another worker holds one
   * @throws {@link SessionLimitError} when the fleet is full and nothing may be evicted
   * @throws {@link RedisCommandError} when Redis fails the command
   */
  async acquire(sessionId: string | number, options: AcquireOptions = {}): Promise<RedisLease | null> {
    this.#assertOpen('acquire')
    if (this.#cursor === undefined) await this.#start()
    const id = sessionIdOf(sessionId, 'sessionId')
    const ttl = options.ttlMs ?? this.#leaseTtl
    if (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl > 2 ** 31 - 1) throw new InvalidOptionsError('ttlMs', ttl, 'an integer from 1 to 2147483647')
    const reply = (await acquireScript.run(this.#client, this.#keys, [
      id,
      String(ttl),
      String(this.#maxSessions),
      this.#reject ? '1' : '0',
      this.#clock(),
      String(this.#idleTtl),
      this.#maxLen,
    ])) as unknown[]
    let token = Number(reply[0])
    if (ttl > this.#longestLease) this.#longestLease = ttl
    await this.#deleteDeparted(reply)
    if (token === 0) return null
    if (token < 0) throw new SessionLimitError(this.#maxSessions)
    // The fence must outlive the lease: twice its ttl from now, extended at every renewal.
    const sessionKeyList = keyList(sessionKeys(this.#prefix, id))
    for (;;) {
      const fenced = (await fenceScript.run(this.#client, sessionKeyList, ['fence', String(token), String(2 * ttl)])) as number[]
      if (Number(fenced[0]) === 1) break
      // The session has seen this token already: the counter was lost (evicted, deleted). Take
      // one above the session's, under the lease just acquired.
      token = Number(await retokenScript.run(this.#client, this.#keys, [id, String(token), String(fenced[1])]))
      if (token === 0) return null
    }
    const lease = this.#makeLease(id, token, ttl)
    this.#leases.set(id, lease)
    this.#schedule()
    return lease
  }

  /**
   * Marks a registered session as active now, so that it is the last to be evicted or expire.
   *
   * @returns whether the session is registered
   */
  async touch(sessionId: string | number): Promise<boolean> {
    return this.#session('touch', sessionIdOf(sessionId, 'sessionId'))
  }

  /**
   * Removes a session from the fleet (held or not: its lease ends, and the holder's writes are
   * refused from now on) and deletes its history. Every registry hears a `'delete'` departure.
   *
   * @returns whether the session was registered
   */
  async delete(sessionId: string | number): Promise<boolean> {
    return this.#session('delete', sessionIdOf(sessionId, 'sessionId'))
  }

  /** How many sessions the fleet holds now. */
  async size(): Promise<number> {
    this.#assertOpen('size')
    return Number(await command(this.#client, 'ZCARD', [this.#keys[0] as string]))
  }

  /**
   * Expires the sessions idle for `idleTtlMs` (up to 256 at a time) and deletes their histories.
   * Runs by itself on every poll.
   *
   * @returns how many sessions expired
   */
  async sweep(): Promise<number> {
    this.#assertOpen('sweep')
    const reply = (await sessionScript.run(this.#client, this.#keys, ['sweep', '', this.#clock(), String(this.#idleTtl), this.#maxLen])) as unknown[]
    await this.#deleteDeparted(reply)
    return Number(reply[0])
  }

  /**
   * Does what the timer does: renews the leases that are due, expires idle sessions, and reads
   * the departures recorded since the last read, emitting `depart` for each.
   */
  async poll(): Promise<void> {
    this.#assertOpen('poll')
    await this.#renew(false)
    await this.sweep()
    await this.#readDepartures()
  }

  /**
   * Stops the timer and releases every lease this registry holds. The client is not closed.
   * Further calls throw {@link RegistryClosedError}.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    const leases = [...this.#leases.values()]
    await Promise.allSettled(leases.map((lease) => this.#release(lease)))
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new RegistryClosedError(method)
  }

  #clock(): string {
    return this.#now === undefined ? '' : String(Math.floor(this.#now()))
  }

  async #session(op: 'touch' | 'delete', id: string): Promise<boolean> {
    this.#assertOpen(op)
    if (this.#cursor === undefined) await this.#start()
    const reply = (await sessionScript.run(this.#client, this.#keys, [op, id, this.#clock(), String(this.#idleTtl), this.#maxLen])) as unknown[]
    await this.#deleteDeparted(reply)
    if (op === 'delete') this.#leases.get(id)?.end('deleted')
    return Number(reply[0]) === 1
  }

  // Deletes the histories of the sessions a script removed, under the token it took for them: a
  // session acquired again meanwhile has a newer token, and its history is left alone.
  async #deleteDeparted(reply: unknown[]): Promise<void> {
    const token = String(reply[1])
    const ids = reply.slice(2).map(String)
    const guard = String(Math.max(this.#idleTtl > 0 ? this.#idleTtl : TOMBSTONE_TTL_MS, 2 * this.#longestLease))
    await Promise.all(ids.map((id) => fenceScript.run(this.#client, keyList(sessionKeys(this.#prefix, id)), ['delete', token, guard])))
  }

  #makeLease(sessionId: string, token: number, ttlMs: number): HeldLease {
    const controller = new AbortController()
    const registry = this
    const lease: HeldLease = {
      sessionId,
      token,
      ttlMs,
      renewedAt: Date.now(),
      nextAt: Date.now() + ttlMs / 3,
      failures: 0,
      signal: controller.signal,
      get held() {
        return !controller.signal.aborted
      },
      release: () => registry.#release(lease),
      [Symbol.asyncDispose]: async () => {
        await registry.#release(lease)
      },
      end(reason: string) {
        if (registry.#leases.get(sessionId) === lease) registry.#leases.delete(sessionId)
        controller.abort(new Error(`lease of ${sessionId} ${reason}`))
      },
    }
    return lease
  }

  async #release(lease: HeldLease): Promise<boolean> {
    if (!lease.held) return false
    lease.end('released')
    const reply = await releaseScript.run(this.#client, this.#keys, [lease.sessionId, String(lease.token), this.#clock()])
    return Number(reply) === 1
  }

  // Renews the leases due (all of them with `all`) in one script, then extends their fences. A
  // failed renewal is retried with backoff before the lease's own deadline; a lease whose renewal
  // still fails once that deadline has passed is lost (the server is the judge otherwise).
  async #renew(all: boolean): Promise<void> {
    const now = Date.now()
    const due = [...this.#leases.values()].filter((l) => all || now >= l.nextAt)
    if (due.length === 0) return
    const args: string[] = []
    for (const l of due) args.push(l.sessionId, String(l.token), String(l.ttlMs))
    let reply: unknown[]
    try {
      reply = (await renewScript.run(this.#client, this.#keys, args)) as unknown[]
    } catch (error) {
      const failedAt = Date.now()
      for (const lease of due) {
        lease.failures++
        const left = lease.renewedAt + lease.ttlMs - failedAt
        // Past its deadline with no renewal: the server may have let it go.
        if (left <= 0) {
          if (lease.held) this.#lose(lease)
          continue
        }
        const backoff = Math.min(FIRST_RETRY_MS * 2 ** (lease.failures - 1), left / 2)
        lease.nextAt = failedAt + Math.max(MIN_RETRY_MS, backoff)
      }
      throw error
    }
    const renewed: HeldLease[] = []
    due.forEach((lease, i) => {
      if (Number(reply[i]) === 1) {
        lease.renewedAt = now
        lease.nextAt = now + lease.ttlMs / 3
        lease.failures = 0
        renewed.push(lease)
      } else if (lease.held) this.#lose(lease)
    })
    await Promise.all(
      renewed.map((l) => fenceScript.run(this.#client, keyList(sessionKeys(this.#prefix, l.sessionId)), ['extend', String(l.token), String(2 * l.ttlMs)])),
    )
  }

  #lose(lease: HeldLease): void {
    lease.end('lost')
    this.emit('lost', lease)
  }

  // Where this registry starts hearing departures: the stream's end at its first call to Redis.
  async #start(): Promise<void> {
    if (!this.#allowEviction) await assertEvictionPolicy(this.#client)
    const last = (await command(this.#client, 'XREVRANGE', [this.#departures, '+', '-', 'COUNT', '1'])) as unknown[][]
    this.#cursor = last.length > 0 ? String((last[0] as unknown[])[0]) : '0-0'
  }

  async #readDepartures(): Promise<void> {
    if (this.#cursor === undefined) await this.#start()
    for (;;) {
      // XRANGE, not XREAD: its reply is an array in RESP2 and RESP3 alike (XREAD's is a map in RESP3).
      const entries = (await command(this.#client, 'XRANGE', [this.#departures, `(${this.#cursor as string}`, '+', 'COUNT', '500'])) as [
        string,
        string[],
      ][]
      for (const [entryId, fields] of entries) {
        this.#cursor = entryId
        const record: Record<string, string> = {}
        for (let i = 0; i + 1 < fields.length; i += 2) record[String(fields[i])] = String(fields[i + 1])
        if (record.id !== undefined) this.emit('depart', record.id, record.reason as RegistryDepartureReason)
      }
      if (entries.length < 500) return
    }
  }

  // One timer: the next poll, or sooner when a lease is due for renewal (or a retry of one).
  #schedule(): void {
    if (this.#closed || this.#polling) return
    const now = Date.now()
    let delay = this.#interval > 0 ? this.#interval : Infinity
    for (const lease of this.#leases.values()) delay = Math.min(delay, Math.max(0, lease.nextAt - now))
    if (delay === Infinity) return
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.#tick(), delay)
    this.#timer.unref?.()
  }

  async #tick(): Promise<void> {
    this.#timer = undefined
    if (this.#closed) return
    this.#polling = true
    try {
      await this.#renew(false)
      if (this.#interval > 0) {
        await this.sweep()
        await this.#readDepartures()
      }
    } catch (error) {
      if (!this.#closed) this.#report(error)
    } finally {
      this.#polling = false
      this.#schedule()
    }
  }

  #report(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error)
    else process.emitWarning(error instanceof Error ? error : new Error(String(error)), { code: 'BOUNDED_SESSION_REDIS' })
  }
}
