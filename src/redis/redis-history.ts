import { randomBytes } from 'node:crypto'
import {
  InvalidArgumentError,
  InvalidCheckpointError,
  InvalidOptionsError,
  LeaseFencedError,
  MessageTooLargeError,
  OrphanResultError,
  RedisDataError,
} from '../errors.js'
import { type CalibrationResult, type CalibrationState, calibrationStateProblem, MARGIN_MIN, TokenCalibration } from '../history/calibration.js'
import { defaultCountTokens, defaultSizeOf } from '../history/measures.js'
import type { HistoryBudget, HistoryMeasure, HistorySnapshot } from '../history/types.js'
import type { GroupRule, MessageFormat } from '../message-format.js'
import type { RedisClient, Script } from './client.js'
import { budgetArgs, jsonSerializer, linksArg, type Measured, measureWith, PINNED, STARTS_TURN, snapshotFields } from './history-rules.js'
import { calibrateScript, pushScript, readScript, rollbackScript } from './history-scripts.js'
import { DEFAULT_PREFIX, keyList, sessionIdOf, sessionKeys } from './keys.js'
import {
  type PushOptions,
  parseOptions,
  type RedisHistoryCheckpoint,
  type RedisHistoryOptions,
  type RedisHistoryStats,
  type RedisSerializer,
} from './redis-history-options.js'
import { assertEvictionPolicy } from './server-check.js'

export type { PushOptions, RedisHistoryCheckpoint, RedisHistoryOptions, RedisHistoryStats, RedisSerializer } from './redis-history-options.js'

/**
 * A conversation history kept in Redis (or Valkey), bounded by the same rules as
 * `RingBufferHistory`, so that every worker of a fleet reads and extends the same conversation.
 *
 * - Every write (`push`, `pushPinned`, `reset`, `clear`, `rollback`) is one Lua script on the
 *   server: append, trim, totals, expiry, all or nothing. Concurrent pushes leave the state of
 *   some serial order of them.
 * - Messages are measured (`sizeOf`, `countTokens`, `pin`, `startOn`, `group`) here, at push
 *   time; the server never parses a message. With `group` (or a `format`), the server keeps the
 *   ids of the calls its messages made, for every worker.
 * - `window()` walks back from the newest message on the server and ships only the window.
 * - All keys of a session share the hash tag `{key}`: it works on Redis Cluster.
 *
 * @typeParam T - the message type (JSON by default)
 *
 * @example
 * ```ts
 * import Redis from 'ioredis'
 * import { RedisHistory } from 'bounded-session/redis'
 *
 * const history = new RedisHistory<Message>({ client: new Redis(), key: sessionId, maxTokens: 100_000 })
 * await history.push({ role: 'user', content: prompt })
 * const request = await history.window({ maxMessages: 20 })
 * ```
 */
export class RedisHistory<T> {
  readonly #client: RedisClient
  readonly #id: string
  readonly #keys: string[]
  readonly #ttl: string
  readonly #window: string
  readonly #serializer: RedisSerializer<T>
  readonly #maxMessages: number
  readonly #maxBytes: number
  readonly #maxTokens: number
  readonly #maxPinned: number
  readonly #limits: string[]
  readonly #sizeOf: (message: T) => number
  readonly #countTokens: (message: T) => number
  readonly #pin: ((message: T) => boolean) | undefined
  readonly #startOn: ((message: T) => boolean) | undefined
  readonly #group: GroupRule<T> | undefined
  readonly #overheadTokens: number
  readonly #shrink: RedisHistoryOptions<T>['shrink']
  readonly #fence: string
  readonly #writer = randomBytes(8).toString('hex')
  readonly #allowEviction: boolean
  #checked: Promise<void> | undefined
  #pushes = 0

  /**
   * @param options - see {@link RedisHistoryOptions}
   * @throws {@link InvalidOptionsError} when an option is invalid
   */
  constructor(options: RedisHistoryOptions<T>) {
    const o = parseOptions(options)
    this.#client = o.client
    this.#id = sessionIdOf(o.key, 'key')
    this.#keys = keyList(sessionKeys(o.prefix ?? DEFAULT_PREFIX, this.#id))
    this.#ttl = String(o.idleTtlMs ?? 3_600_000)
    this.#window = String(o.idempotencyWindowMs ?? 600_000)
    this.#allowEviction = o.allowAllKeysEviction === true
    this.#serializer = (o.serializer ?? jsonSerializer) as RedisSerializer<T>
    this.#maxMessages = o.maxMessages ?? 50
    this.#maxBytes = o.maxBytes ?? Infinity
    this.#maxTokens = o.maxTokens ?? Infinity
    this.#maxPinned = o.maxPinned ?? Math.min(1, this.#maxMessages - 1)
    if (this.#maxPinned >= this.#maxMessages) {
      throw new InvalidOptionsError('maxPinned', this.#maxPinned, `a non-negative integer smaller than \`maxMessages\` (${this.#maxMessages})`)
    }
    // An option given explicitly overrides the format's (as in RingBufferHistory: history/options.ts).
    const format = o.format as MessageFormat<T> | undefined
    const from = <K extends 'sizeOf' | 'countTokens' | 'group' | 'startOn' | 'pin' | 'shrink'>(key: K): MessageFormat<T>[K] | undefined => {
      const fn = format?.[key] as ((...args: never[]) => unknown) | undefined
      return (typeof fn === 'function' ? fn.bind(format) : undefined) as MessageFormat<T>[K] | undefined
    }
    this.#sizeOf = (o.sizeOf as ((message: T) => number) | undefined) ?? from('sizeOf') ?? defaultSizeOf
    this.#countTokens = (o.countTokens as ((message: T) => number) | undefined) ?? from('countTokens') ?? defaultCountTokens
    this.#pin = (o.pin as ((message: T) => boolean) | undefined) ?? from('pin')
    this.#startOn = (o.startOn as ((message: T) => boolean) | undefined) ?? from('startOn')
    this.#shrink = (o.shrink as RedisHistoryOptions<T>['shrink']) ?? from('shrink')
    this.#group = (o.group as GroupRule<T> | undefined) ?? from('group')
    this.#fence = o.fence === undefined ? '' : String(o.fence.token)
    this.#overheadTokens = o.overheadTokens ?? 0
    this.#limits = [
      String(this.#maxMessages),
      o.maxBytes === undefined ? '0' : String(o.maxBytes),
      o.maxTokens === undefined ? '0' : String(o.maxTokens),
      String(this.#maxPinned),
      String(o.trimTo ?? 1),
      // The rules the scripts apply: 1 startOn, 2 group.
      String((this.#startOn === undefined ? 0 : 1) + (this.#group === undefined ? 0 : 2)),
    ]
  }

  /** The session id. */
  get key(): string {
    return this.#id
  }

  /** The most messages it holds: `maxMessages`. */
  get capacity(): number {
    return this.#maxMessages
  }

  /**
   * Appends messages in order and trims as `RingBufferHistory.push` does, in one atomic step on
   * the server. All or nothing.
   *
   * @returns the new length
   * @throws {@link MessageTooLargeError} when a message cannot fit beside the protected messages
   * (after `shrink`, if given)
   * @throws {@link InvalidMeasurementError} when `sizeOf` or `countTokens` returns an invalid number
   * @throws {@link OrphanResultError} (with `group`) when a message answers a call the session
   * does not hold and no earlier message of this push makes; nothing changed
   * @throws {@link LeaseFencedError} when `fence` is older than the session's newest token
   * @throws {@link RedisCommandError} when Redis fails the command; the push then happened
   * entirely or not at all
   * @throws {@link RedisDataError} when the session's keys hold something else
   */
  async push(...messages: T[]): Promise<number> {
    return this.#write(messages, 0, '', undefined)
  }

  /** Like {@link RedisHistory.push}, with every message flagged pinned. */
  async pushPinned(...messages: T[]): Promise<number> {
    return this.#write(messages, PINNED, '', undefined)
  }

  /**
   * Like {@link RedisHistory.push}, with options. With `idempotencyKey`, the push is applied at
   * most once per key within `idempotencyWindowMs`, from any process: retry a push whose outcome
   * you do not know (a {@link RedisCommandError}: the reply was lost) with the same key, and it
   * lands once. A push already applied under the key resolves with the current length.
   *
   * @returns the new length
   * @throws {@link InvalidArgumentError} when `idempotencyKey` is not a non-empty string
   */
  async pushWith(options: PushOptions, ...messages: T[]): Promise<number> {
    const key = options?.idempotencyKey
    if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 512)) {
      throw new InvalidArgumentError('idempotencyKey', key, 'a string of 1 to 512 characters, or undefined')
    }
    return this.#write(messages, options.pinned === true ? PINNED : 0, '', key === undefined ? undefined : `k:${key}`)
  }

  /**
   * Replaces the whole content with `messages`, trimmed as pushes would, in one atomic step. The
   * trimmed count and fencing token are kept; every checkpoint is withdrawn.
   *
   * @returns the new length
   */
  async reset(messages: Iterable<T> = []): Promise<number> {
    return this.#write([...messages], 0, 'reset', undefined)
  }

  /** Removes every message, in one atomic step. Not counted as trimming. Every checkpoint is withdrawn. */
  async clear(): Promise<void> {
    await this.#write([], 0, 'reset', undefined)
  }

  /**
   * Replaces the content with a snapshot's (from this class or `RingBufferHistory`), re-measured
   * with this history's options and trimmed as pushes would; the snapshot's pinned flags are kept.
   * Every checkpoint is withdrawn.
   *
   * @returns the new length
   * @throws {@link InvalidSnapshotError} for a malformed snapshot; nothing is changed
   */
  async restore(snapshot: HistorySnapshot<T>): Promise<number> {
    const { messages, pinned, evictedCount, calibration } = snapshotFields(snapshot)
    const measured = (messages as T[]).map((m, i) => this.#measure(m, pinned.has(i) ? PINNED : 0))
    // The correction first, so that a tighter budget trims by it (a second step: a restore that
    // then fails keeps the snapshot's correction).
    if (calibration !== undefined) await this.#setCalibration(calibration)
    return this.#send(measured, String(evictedCount), undefined)
  }

  /** The messages, oldest first. Refreshes the expiry. */
  async toArray(): Promise<T[]> {
    return this.#decode(await this.#read(['all']))
  }

  /**
   * The messages to send to a model under a tighter budget, chosen on the server exactly as
   * `RingBufferHistory.window` chooses them; only the window is sent back. With `budget.trimTo`
   * below 1 the window is cache-stable, its cut kept on the server: every worker of the session
   * sends the same prefix until it outgrows the budget.
   *
   * @throws {@link InvalidOptionsError} when a budget field is not a positive integer
   */
  async window(budget?: HistoryBudget): Promise<T[]> {
    const [maxMessages, maxBytes, maxTokens, trimTo] = budgetArgs(budget)
    return this.#decode(await this.#read(['window', maxMessages, maxBytes, maxTokens, this.#limits[5] as string, trimTo]))
  }

  /** How many messages the history holds. */
  async length(): Promise<number> {
    return (await this.stats()).length
  }

  /** Length, bytes, tokens and trimmed count, read in one step. */
  async stats(): Promise<RedisHistoryStats> {
    const [length, bytes, tokens, evictedCount, , , correction] = (await this.#read(['stats'])) as number[]
    return { length: Number(length), bytes: Number(bytes), tokens: Math.ceil(Number(tokens) * Number(correction)), evictedCount: Number(evictedCount) }
  }

  /**
   * Learns how the provider counts, from what it reported for the request just made, by
   * `RingBufferHistory.calibrate`'s rules (the same code: `TokenCalibration`), with the correction
   * kept in the session's state hash: every worker of the session shares it, and from then on the
   * `maxTokens` check of every push, `window({ maxTokens })`, `stats().tokens` and `fits()` count
   * `countTokens`' estimate times the correction, in provider tokens, with the same safety
   * margin on the budget as `RingBufferHistory` (adaptive, kept beside the correction). Each message keeps the estimate it was measured
   * with. Two workers calibrating at once both count: the update is a
   * compare-and-set on the server, tried again when another worker moved the correction between
   * the read and the write. The correction lasts through `clear()` and `reset()`; `snapshot()`
   * and `restore()` carry it.
   *
   * @param reportedInputTokens - the provider's input count of the request, overhead included
   * (`overheadTokens` is taken off it)
   * @param sent - the messages the request carried when they were not the whole history (a
   * `window()` result): their estimate is `countTokens` of each, which is the estimate stored
   * for a message the history holds. Unlike `RingBufferHistory`, the history does not check that
   * it holds them (it has only copies); the 32× check still refuses a count that cannot be theirs.
   * @returns what was done with the reading, and the correction now in effect
   * @throws {@link InvalidArgumentError} when `reportedInputTokens` is not a finite number from 0
   * up or is more than 32× away from the estimate; when `sent` is not an array. Nothing changed.
   * @throws {@link LeaseFencedError} when `fence` is older than the session's newest token
   */
  async calibrate(reportedInputTokens: number, sent?: readonly T[]): Promise<CalibrationResult> {
    let estimated: number | undefined
    if (sent !== undefined) {
      if (!Array.isArray(sent)) throw new InvalidArgumentError('sent', sent, 'an array of messages (as window() returns them)')
      estimated = 0
      for (const m of sent) estimated += measureWith(this.#countTokens, m, 'countTokens')
    }
    for (;;) {
      const [tokens, ...stored] = (await this.#run(calibrateScript, ['read', this.#fence, this.#ttl])) as [number, string, string, string, string]
      const calibration = this.#calibrationOf(stored)
      const result = calibration.calibrate(reportedInputTokens, estimated ?? Number(tokens))
      if (result.outcome === 'tooSmall') return result
      const held = calibration.heldOutlier
      const next = [String(calibration.correction), String(calibration.readings), held === undefined ? '' : String(held), String(calibration.margin)]
      const reply = (await this.#run(calibrateScript, ['set', this.#fence, this.#ttl, '1', ...stored, ...next])) as number[]
      if (Number(reply[0]) === 2) throw new LeaseFencedError(Number(this.#fence), Number(reply[1]))
      if (Number(reply[0]) === 1) return result
      // Another worker moved the correction since the read: read it again.
    }
  }

  /** The session's token correction: provider tokens per estimated token (1 until {@link RedisHistory.calibrate} learns one). */
  async tokenCorrection(): Promise<number> {
    return Number(((await this.#read(['stats'])) as unknown[])[6])
  }

  /**
   * Whether pushing `messages` would keep the session within every budget (`maxMessages`,
   * `maxBytes`, `maxTokens`, calibrated) without trimming anything; with none, whether it is
   * within them now. One read; changes nothing. Another worker may push in between: a host that
   * must act on the answer holds the session's lease.
   *
   * @throws {@link InvalidMeasurementError} when `sizeOf` or `countTokens` returns an invalid number
   */
  async fits(...messages: T[]): Promise<boolean> {
    let bytes = 0
    let tokens = 0
    for (const m of messages) {
      bytes += measureWith(this.#sizeOf, m, 'sizeOf')
      tokens += measureWith(this.#countTokens, m, 'countTokens')
    }
    const [length, held, heldTokens, , , , , factor] = (await this.#read(['stats'])) as number[]
    if (Number(length) + messages.length > this.#maxMessages) return false
    // The budget factor: the correction with the safety margin (budgetFactor in calibration.ts).
    const maxTokens = this.#maxTokens === Infinity ? Infinity : Math.floor(this.#maxTokens / Number(factor))
    return Number(held) + bytes <= this.#maxBytes && Number(heldTokens) + tokens <= maxTokens
  }

  // The stored correction (fields corr, crd, cho, cmg: '' when never calibrated; no cmg: the
  // smallest margin) as a TokenCalibration.
  #calibrationOf([correction, readings, held, margin]: string[]): TokenCalibration {
    const calibration = new TokenCalibration(this.#overheadTokens)
    if (correction === '' || correction === undefined) return calibration
    const state = { correction: Number(correction), readings: Number(readings), margin: margin === '' || margin === undefined ? MARGIN_MIN : Number(margin) }
    const heldOutlier = held === '' || held === undefined ? undefined : Number(held)
    if (calibrationStateProblem(state) !== undefined || (heldOutlier !== undefined && !Number.isFinite(heldOutlier))) {
      throw new RedisDataError(`its token correction is \`${correction}:${readings}:${held}:${margin}\``, this.#keys[2] as string)
    }
    calibration.load(state, heldOutlier)
    return calibration
  }

  // Writes a snapshot's correction, as it is (restore).
  async #setCalibration(state: CalibrationState): Promise<void> {
    const reply = (await this.#run(calibrateScript, ['set', this.#fence, this.#ttl, '0', '', '', '', '', String(state.correction), String(state.readings), '', String(state.margin ?? MARGIN_MIN)])) as number[]
    if (Number(reply[0]) === 2) throw new LeaseFencedError(Number(this.#fence), Number(reply[1]))
  }

  /** The content as a snapshot, the format `RingBufferHistory` reads. */
  async snapshot(): Promise<HistorySnapshot<T>> {
    const [evicted, payloads, flags, correction, readings, margin] = (await this.#read(['snapshot'])) as [number, string[], number[], string, string, string]
    const pinned: number[] = []
    flags.forEach((f, i) => {
      if ((Number(f) & PINNED) !== 0) pinned.push(i)
    })
    const snapshot: HistorySnapshot<T> = { version: 1, messages: this.#decode(payloads), pinned, evictedCount: Number(evicted) }
    if (correction !== '') snapshot.calibration = this.#calibrationOf([correction, readings, '', margin]).state()
    return snapshot
  }

  /**
   * Marks the current end of the history. The mark is plain data: any process may roll this
   * session back to it.
   */
  async checkpoint(): Promise<RedisHistoryCheckpoint> {
    const reply = (await this.#read(['stats'])) as number[]
    return Object.freeze({ key: this.#id, position: Number(reply[4]), line: Number(reply[5]) })
  }

  /**
   * Removes the messages pushed after `checkpoint` that are still held, as
   * `RingBufferHistory.rollback` does, in one atomic step.
   *
   * A checkpoint stays valid until the history is rolled back to a point before it, or until
   * `clear()`, `reset()` or `restore()`; a rollback to it, or to a later checkpoint, keeps it
   * valid. Positions do not count rolled-back pushes: after a rollback the next push takes the
   * position rolled back to, so a checkpoint made then is at that same position. The server keeps
   * the last 1,024 rollbacks to ever later positions; past that, the checkpoints older than the
   * oldest of them are withdrawn.
   *
   * @returns how many messages were removed
   * @throws {@link InvalidCheckpointError} for a checkpoint of another session, or one withdrawn
   * by an earlier rollback
   */
  async rollback(checkpoint: RedisHistoryCheckpoint): Promise<number> {
    const c = checkpoint as Partial<RedisHistoryCheckpoint> | null
    if (c === null || typeof c !== 'object' || c.key !== this.#id || !Number.isSafeInteger(c.position) || !Number.isSafeInteger(c.line)) {
      throw new InvalidCheckpointError(checkpoint)
    }
    const reply = (await this.#run(rollbackScript, [
      this.#fence,
      this.#ttl,
      String(c.position),
      String(c.line),
      this.#limits[3] as string,
    ])) as number[]
    if (reply[0] === 2) throw new LeaseFencedError(Number(this.#fence), Number(reply[1]))
    if (reply[0] === 3) throw new InvalidCheckpointError(checkpoint)
    return Number(reply[1])
  }

  #measure(message: T, flags: number): Measured<T> {
    let f = flags
    if (this.#pin?.(message) === true) f |= PINNED
    if (this.#startOn?.(message) === true) f |= STARTS_TURN
    return {
      message,
      bytes: measureWith(this.#sizeOf, message, 'sizeOf'),
      tokens: measureWith(this.#countTokens, message, 'countTokens'),
      flags: f,
      links: this.#group === undefined ? '' : linksArg(this.#group(message)),
    }
  }

  async #write(messages: T[], flags: number, mode: string, pushId: string | undefined): Promise<number> {
    return this.#send(
      messages.map((m) => this.#measure(m, flags)),
      mode,
      pushId,
    )
  }

  async #send(measured: Measured<T>[], mode: string, callerId: string | undefined): Promise<number> {
    const payloads = measured.map((m) => this.#serialize(m.message))
    // The same id on every try: a push resent by the client after a reconnect applies once.
    const pushId = callerId ?? `p:${this.#writer}:${this.#pushes++}`
    const shrunk = new Set<number>()
    for (;;) {
      const args = [pushId, this.#fence, this.#ttl, ...this.#limits, mode, this.#window, String(measured.length)]
      measured.forEach((m, i) => args.push(String(m.bytes), String(m.tokens), String(m.flags), m.links, payloads[i] as string))
      const reply = (await this.#run(pushScript, args)) as unknown[]
      const status = Number(reply[0])
      if (status === 0) return Number(reply[1])
      if (status === 2) throw new LeaseFencedError(Number(this.#fence), Number(reply[1]))
      if (status === 4) throw new OrphanResultError(String(reply[1]))
      const index = Number(reply[1])
      const budget = reply[2] === 'bytes' ? 'bytes' : 'tokens'
      // The correction with the safety margin (1 when never calibrated): budgetFactor in calibration.ts.
      const factor = Number(reply[7])
      // Tokens as a budget in provider tokens, as RingBufferHistory reports them (trim.ts, tooLarge).
      const limit = budget === 'bytes' ? Number(reply[3]) : this.#maxTokens
      const needed = budget === 'bytes' ? Number(reply[4]) : Math.ceil(Number(reply[4]) * factor)
      const shrink = this.#shrink
      if (shrink === undefined || shrunk.has(index)) throw new MessageTooLargeError(budget, limit, needed)
      shrunk.add(index)
      const room: HistoryMeasure = {
        bytes: this.#maxBytes - Number(reply[5]),
        tokens: (this.#maxTokens === Infinity ? Infinity : Math.floor(this.#maxTokens / factor)) - Number(reply[6]),
      }
      const before = measured[index] as Measured<T>
      const smaller = shrink(before.message, room, (m) => ({
        bytes: measureWith(this.#sizeOf, m, 'sizeOf'),
        tokens: measureWith(this.#countTokens, m, 'countTokens'),
      }))
      // The flags stay those of the message as pushed (pin and startOn are not run again), as in
      // RingBufferHistory.
      measured[index] = {
        message: smaller,
        bytes: measureWith(this.#sizeOf, smaller, 'sizeOf'),
        tokens: measureWith(this.#countTokens, smaller, 'countTokens'),
        flags: before.flags,
        links: before.links,
      }
      payloads[index] = this.#serialize(smaller)
    }
  }

  #serialize(message: T): string {
    const stored = this.#serializer.serialize(message)
    if (typeof stored !== 'string') throw new InvalidOptionsError('serializer', stored, 'a serializer whose `serialize` returns a string')
    return stored
  }

  async #read(args: string[]): Promise<unknown> {
    return this.#run(readScript, [args[0] as string, this.#ttl, this.#fence, ...args.slice(1)])
  }

  // Every script runs after the server's eviction policy was checked, once per client.
  async #run(script: Script, args: string[]): Promise<unknown> {
    if (!this.#allowEviction) await (this.#checked ??= assertEvictionPolicy(this.#client))
    return script.run(this.#client, this.#keys, args)
  }

  #decode(payloads: unknown): T[] {
    const list = payloads as string[]
    const out = new Array<T>(list.length)
    for (let i = 0; i < list.length; i++) {
      try {
        out[i] = this.#serializer.deserialize(String(list[i]))
      } catch (error) {
        throw new RedisDataError(`a stored message does not parse (${error instanceof Error ? error.message : String(error)})`, this.#keys[0] as string)
      }
    }
    return out
  }
}
