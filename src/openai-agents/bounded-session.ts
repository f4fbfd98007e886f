import { randomUUID } from 'node:crypto'
import type { AgentInputItem, Session } from '@openai/agents'
import { InvalidArgumentError, InvalidOptionsError, SessionTransactionError } from '../errors.js'
import type { RedisHistory } from '../redis/redis-history.js'
import { RingBufferHistory, type RingBufferHistoryOptions } from '../ring-buffer-history.js'
import { cloneItem } from './clone.js'
import { openaiAgents } from './format.js'
import { type PlainTransaction, plainCopy, plainEqual, readTransaction } from './transaction.js'

/** A transaction that appends `items` to the session. */
export interface AppendItemsTransaction {
  /** Always `'append_items'`. */
  type: 'append_items'
  /** The items to append, oldest first. */
  items: AgentInputItem[]
}

/** A transaction that replaces the session's newest items, which must equal `expectedSuffix`, with `replacement`. */
export interface ReplaceSuffixTransaction {
  /** Always `'replace_suffix'`. */
  type: 'replace_suffix'
  /** What the newest items must be (compared field by field) for the replacement to happen. */
  expectedSuffix: AgentInputItem[]
  /** The items that take their place. */
  replacement: AgentInputItem[]
}

/**
 * The arguments of {@link BoundedSession.applyHistoryTransaction}: the SDK's
 * `SessionHistoryTransactionArgs`, restated here so that this package's types do not need an SDK
 * version that defines it.
 */
export interface BoundedSessionTransactionArgs {
  /** A non-empty id that stays the same when the transaction is retried. */
  operationId: string
  /** What to change. */
  transaction: AppendItemsTransaction | ReplaceSuffixTransaction
}

/**
 * Options of {@link BoundedSession}: the history's options (budgets, `trimTo`, measures), or an
 * existing `history` to wrap, plus the session's own.
 */
export interface BoundedSessionOptions extends RingBufferHistoryOptions<AgentInputItem> {
  /**
   * The history to keep the items in: a `RingBufferHistory` (in memory) or a `RedisHistory` from
   * `bounded-session/redis` (shared by a fleet of workers; its key is the session id). Give it
   * alone: the budgets and measures are then the history's own.
   *
   * @defaultValue a new `RingBufferHistory` with the other options and {@link openaiAgents}'s
   * measures, pins, turns and groups
   */
  history?: RingBufferHistory<AgentInputItem> | RedisHistory<AgentInputItem> | undefined
  /**
   * The session id `getSessionId()` returns.
   *
   * @defaultValue the Redis history's key, or a random UUID
   */
  sessionId?: string | undefined
  /**
   * How many operation ids of applied transactions are remembered, for retries to be recognised
   * (the oldest is forgotten first): a positive integer.
   *
   * @defaultValue 256
   */
  maxOperations?: number | undefined
}

const SESSION_KEYS = new Set(['history', 'sessionId', 'maxOperations'])
const DEFAULT_MAX_MESSAGES = 1_000

// One shape for both backends: the in-memory history answers at once, Redis by promise.
interface Backend {
  read(): Promise<AgentInputItem[]> | AgentInputItem[]
  append(items: AgentInputItem[]): Promise<unknown> | unknown
  replace(items: AgentInputItem[]): Promise<unknown> | unknown
  clear(): Promise<unknown> | unknown
}

function memoryBackend(history: RingBufferHistory<AgentInputItem>): Backend {
  return {
    read: () => history.toArray(),
    append: (items) => history.push(...items),
    replace: (items) => history.reset(items),
    clear: () => history.clear(),
  }
}

function redisBackend(history: RedisHistory<AgentInputItem>): Backend {
  return {
    read: () => history.toArray(),
    append: (items) => history.push(...items),
    replace: (items) => history.reset(items),
    clear: () => history.clear(),
  }
}

const isRedis = (h: unknown): h is RedisHistory<AgentInputItem> =>
  typeof h === 'object' && h !== null && !(h instanceof RingBufferHistory) && typeof (h as { key?: unknown }).key === 'string'

/**
 * A bounded `Session` of the OpenAI Agents SDK (`@openai/agents`): a drop-in for its
 * `MemorySession` whose items are held in a `RingBufferHistory` (or a `RedisHistory`), so a long
 * conversation stays within the budgets you set instead of growing until the model refuses it.
 *
 * - Bounded: `addItems` trims the oldest items as the history's options say (count, bytes, tokens,
 *   `trimTo`), never a function call apart from its result or its reasoning, never a system message.
 * - Cache-stable with `trimTo` below 1: the items the runner sends keep their prefix from turn to
 *   turn between trims.
 * - Isolated: items are copied in and out, so a caller that changes them changes nothing held. The
 *   copy is `structuredClone`'s (made directly for JSON-shaped items, which is faster), except that
 *   an object one item references twice is copied twice, as JSON would.
 * - `applyHistoryTransaction`: idempotent per `operationId`, a `replace_suffix` whose
 *   `expectedSuffix` does not match is refused with nothing changed; `replaceHistoryWithCompaction`
 *   replaces the items in one step.
 *
 * Calls on one session run one at a time, in order.
 *
 * @example
 * ```ts
 * import { Agent, run } from '@openai/agents'
 * import { BoundedSession } from 'bounded-session/openai-agents'
 *
 * const session = new BoundedSession({ maxTokens: 100_000, trimTo: 0.5 })
 * await run(agent, 'What is the weather in Tokyo?', { session })
 * ```
 */
export class BoundedSession implements Session {
  readonly #id: string
  readonly #backend: Backend
  readonly #history: RingBufferHistory<AgentInputItem> | RedisHistory<AgentInputItem>
  readonly #maxOperations: number
  // Applied transactions by operation id, oldest first (a Map keeps insertion order).
  #operations = new Map<string, PlainTransaction>()
  #queue: Promise<unknown> = Promise.resolve()

  /**
   * @param options - see {@link BoundedSessionOptions}
   * @throws {@link InvalidOptionsError} when an option is invalid or unknown, or `history` is given
   * with history options
   */
  constructor(options: BoundedSessionOptions = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', options, 'an object or undefined')
    const historyOptions: Record<string, unknown> = {}
    for (const key of Object.keys(options)) {
      if (!SESSION_KEYS.has(key)) historyOptions[key] = (options as Record<string, unknown>)[key]
    }
    const { history, sessionId, maxOperations } = options
    if (sessionId !== undefined && (typeof sessionId !== 'string' || sessionId === '')) {
      throw new InvalidOptionsError('sessionId', sessionId, 'a non-empty string')
    }
    if (maxOperations !== undefined && !(Number.isInteger(maxOperations) && maxOperations > 0)) {
      throw new InvalidOptionsError('maxOperations', maxOperations, 'a positive integer')
    }
    this.#maxOperations = maxOperations ?? 256
    if (history !== undefined) {
      const extra = Object.keys(historyOptions).filter((k) => historyOptions[k] !== undefined)
      if (extra.length > 0) {
        throw new InvalidOptionsError(extra[0] as string, historyOptions[extra[0] as string], 'left out when `history` is given (the history has its own)')
      }
      if (history instanceof RingBufferHistory) this.#backend = memoryBackend(history)
      else if (isRedis(history)) this.#backend = redisBackend(history)
      else throw new InvalidOptionsError('history', history, 'a RingBufferHistory or a RedisHistory')
      this.#history = history
    } else {
      const h = new RingBufferHistory<AgentInputItem>({
        maxMessages: DEFAULT_MAX_MESSAGES,
        format: openaiAgents,
        ...(historyOptions as RingBufferHistoryOptions<AgentInputItem>),
      })
      this.#history = h
      this.#backend = memoryBackend(h)
    }
    this.#id = sessionId ?? (isRedis(this.#history) ? this.#history.key : randomUUID())
  }

  /** The history that holds the items (to weigh the session in a `BoundedSessionStore`, or read its `tokens`). */
  get history(): RingBufferHistory<AgentInputItem> | RedisHistory<AgentInputItem> {
    return this.#history
  }

  // Runs calls one at a time: a call starts when the one before it has settled.
  #serial<R>(fn: () => Promise<R> | R): Promise<R> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => undefined)
    return run
  }

  /** The session id. */
  async getSessionId(): Promise<string> {
    return this.#id
  }

  /**
   * The items held, oldest first, as copies; with `limit`, the newest `limit` of them (none for 0
   * or less).
   *
   * @throws {@link InvalidArgumentError} when `limit` is not a number
   */
  getItems(limit?: number): Promise<AgentInputItem[]> {
    if (limit !== undefined && (typeof limit !== 'number' || Number.isNaN(limit))) {
      return Promise.reject(new InvalidArgumentError('limit', limit, 'a number or undefined'))
    }
    return this.#serial(async () => {
      if (limit !== undefined && limit <= 0) return []
      const items = await this.#backend.read()
      const from = limit === undefined ? 0 : Math.max(0, items.length - Math.floor(limit))
      const out: AgentInputItem[] = []
      for (let i = from; i < items.length; i++) out.push(cloneItem(items[i] as AgentInputItem))
      return out
    })
  }

  /**
   * Appends copies of `items` and trims as the history's options say. All or nothing: if an item
   * cannot be stored (too large for the budget, a measure throws), nothing is added.
   */
  addItems(items: AgentInputItem[]): Promise<void> {
    if (!Array.isArray(items)) return Promise.reject(new InvalidArgumentError('items', items, 'an array of items'))
    return this.#serial(async () => {
      if (items.length === 0) return
      await this.#backend.append(items.map(cloneItem))
    })
  }

  /** Removes the newest item and returns it (a copy), or `undefined` when there is none. */
  popItem(): Promise<AgentInputItem | undefined> {
    return this.#serial(async () => {
      const h = this.#history
      if (h instanceof RingBufferHistory) {
        const last = h.at(-1)
        if (last !== undefined) h.length = h.length - 1
        return last === undefined ? undefined : cloneItem(last)
      }
      const items = await this.#backend.read()
      const last = items.pop()
      if (last !== undefined) await this.#backend.replace(items)
      return last
    })
  }

  /** Removes every item, and forgets the applied transactions. */
  clearSession(): Promise<void> {
    return this.#serial(async () => {
      await this.#backend.clear()
      this.#operations = new Map()
    })
  }

  /**
   * Replaces every item with `items` in one step (what the runner does after a compaction), so a
   * failure leaves the old items in place. Trimmed as pushes would trim.
   */
  replaceHistoryWithCompaction(items: AgentInputItem[]): Promise<void> {
    if (!Array.isArray(items)) return Promise.reject(new InvalidArgumentError('items', items, 'an array of items'))
    return this.#serial(async () => {
      await this.#backend.replace(items.map(cloneItem))
    })
  }

  /**
   * Applies an append or a suffix replacement once per `operationId`: a retry with the same id and
   * the same transaction succeeds without applying it again. The arguments are read once and
   * copied before anything changes; the change itself is one step of the history, all or nothing.
   * The last `maxOperations` ids are remembered (held in this process, also for a Redis history).
   *
   * @throws {@link SessionTransactionError} `reason: 'conflict'` when the id was applied with a
   * different transaction; `reason: 'suffix-mismatch'` when the newest items are not
   * `expectedSuffix`. Nothing is changed, and the id is not recorded.
   * @throws {@link InvalidArgumentError} for an empty id, an unknown transaction type, unexpected
   * fields, or items that are not plain data. Nothing is changed.
   */
  applyHistoryTransaction(args: BoundedSessionTransactionArgs): Promise<void> {
    let read: ReturnType<typeof readTransaction>
    try {
      read = readTransaction(args)
    } catch (error) {
      return Promise.reject(error)
    }
    const { operationId, transaction } = read
    return this.#serial(async () => {
      const applied = this.#operations.get(operationId)
      if (applied !== undefined) {
        if (!plainEqual(applied, transaction)) throw new SessionTransactionError('conflict', operationId)
        return
      }
      if (transaction.type === 'append_items') {
        if (transaction.items.length > 0) await this.#backend.append(transaction.items.map(cloneItem))
      } else {
        const items = await this.#backend.read()
        const start = items.length - transaction.expectedSuffix.length
        let held: unknown
        try {
          held = start < 0 ? undefined : plainCopy(items.slice(start), 'items')
        } catch {
          held = undefined
        }
        if (held === undefined || !plainEqual(held, transaction.expectedSuffix)) {
          throw new SessionTransactionError('suffix-mismatch', operationId)
        }
        await this.#backend.replace([...items.slice(0, start), ...transaction.replacement.map(cloneItem)])
      }
      this.#operations.set(operationId, transaction)
      if (this.#operations.size > this.#maxOperations) {
        this.#operations.delete(this.#operations.keys().next().value as string)
      }
    })
  }
}
