/**
 * The worker's SessionManager, rebuilt on bounded-session. Same method names and meanings as the
 * worker's; the differences are the `sessions` store (bounded by count, idle time and bytes) and
 * the bounded `conversationHistory` of each session.
 */
import { EventEmitter } from 'node:events'
import { BoundedSessionStore, type RemovalReason } from 'bounded-session'
import { type Clock, systemClock, type TimerHandle } from './clock.js'
import type { SessionDatabase } from './database.js'
import { createConversationHistory } from './history.js'
import { pendingMessages, settledWithin } from './message-queue.js'
import type { SessionLayerSettings } from './settings.js'
import { type ActiveSession, type Logger, type ObservationData, type PendingMessage, type SessionLayer, silentLogger } from './types.js'

export interface SessionManagerOptions extends Partial<SessionLayerSettings> {
  /** Where the manager reports. @defaultValue drops everything */
  logger?: Logger
  /** Time and timers. @defaultValue the system clock */
  clock?: Clock
  /** How long a teardown waits for an aborted generator to settle. @defaultValue 30_000 */
  generatorWaitMs?: number
  /** How long a generator waits for the next message before it finishes. @defaultValue 180_000 */
  iteratorIdleTimeoutMs?: number
  /** How often expired sessions are swept out. @defaultValue 60_000 */
  sweepIntervalMs?: number
  /** Makes sure the session's model subprocess has exited (the Claude SDK path). @defaultValue none */
  ensureProcessExited?: (session: ActiveSession) => void | Promise<void>
  /** Called after a session was torn down (the worker broadcasts its processing status). */
  onSessionDeleted?: (sessionDbId: number, reason: RemovalReason) => void
}

export class SessionManager implements SessionLayer<ActiveSession> {
  /** The sessions, keyed by `sessionDbId`. Iterates like the `Map` it replaces. */
  readonly sessions: BoundedSessionStore<number, ActiveSession>
  /** Each live session's queue emitter: emits 'message' when work is queued. */
  readonly sessionQueues = new Map<number, EventEmitter>()
  readonly settings: Readonly<SessionLayerSettings>

  readonly #db: SessionDatabase
  readonly #logger: Logger
  readonly #clock: Clock
  readonly #generatorWaitMs: number
  readonly #iteratorIdleTimeoutMs: number
  readonly #ensureProcessExited: ((session: ActiveSession) => void | Promise<void>) | undefined
  readonly #onSessionDeleted: ((sessionDbId: number, reason: RemovalReason) => void) | undefined
  // Each session's own emitter: a session re-created under the same id gets a new one, and the
  // old session's teardown must release its own.
  readonly #queues = new WeakMap<ActiveSession, EventEmitter>()
  readonly #teardowns = new Map<number, Promise<void>>()
  #sweepTimer: TimerHandle | undefined

  constructor(db: SessionDatabase, options: SessionManagerOptions = {}) {
    this.#db = db
    this.#logger = options.logger ?? silentLogger
    this.#clock = options.clock ?? systemClock
    this.#generatorWaitMs = options.generatorWaitMs ?? 30_000
    this.#iteratorIdleTimeoutMs = options.iteratorIdleTimeoutMs ?? 180_000
    this.#ensureProcessExited = options.ensureProcessExited
    this.#onSessionDeleted = options.onSessionDeleted
    this.settings = {
      idleTtlMs: options.idleTtlMs ?? 60 * 60_000,
      maxSessions: options.maxSessions ?? 100,
      maxMessages: options.maxMessages ?? 50,
      maxChars: options.maxChars ?? 400_000,
    }
    const sweepIntervalMs = options.sweepIntervalMs ?? 60_000
    const clock = this.#clock
    this.sessions = new BoundedSessionStore<number, ActiveSession>({
      maxSessions: this.settings.maxSessions,
      idleTtlMs: this.settings.idleTtlMs,
      isBusy: (session) => session.generatorPromise !== null,
      dispose: (session, sessionDbId, reason) => this.#dispose(session, sessionDbId, reason),
      now: () => clock.now(),
      // With the system clock the store runs its own unref'd sweep timer; an injected clock
      // drives the sweep itself, so that virtual time sweeps too.
      sweepIntervalMs: clock === systemClock ? sweepIntervalMs : 0,
    })
    if (clock !== systemClock && sweepIntervalMs > 0) this.#scheduleSweep(sweepIntervalMs)
    this.sessions.on('error', (error, sessionDbId) => {
      this.#logger.error('SESSION', 'Session teardown failed', { sessionDbId, error: String(error) })
    })
    // The store reports an unmet bound on every operation while it lasts: log it once a minute.
    let lastOverflowLog = -Infinity
    this.sessions.on('overflow', (info) => {
      const now = clock.now()
      if (now - lastOverflowLog < 60_000) return
      lastOverflowLog = now
      this.#logger.warn('SESSION', 'Session limit exceeded: every other session is busy', { ...info })
    })
  }

  /**
   * The cached session, or a new one re-created from the database. A new prompt of a cached
   * session updates its prompt and number.
   *
   * @throws Error when the session is not in the database
   */
  initializeSession(sessionDbId: number, userPrompt?: string, promptNumber?: number): ActiveSession {
    let created = false
    const session = this.sessions.getOrCreate(sessionDbId, (id) => {
      created = true
      return this.#createSession(id, userPrompt, promptNumber)
    })
    if (created) {
      const queue = new EventEmitter()
      this.#queues.set(session, queue)
      this.sessionQueues.set(sessionDbId, queue)
      this.#logger.info('SESSION', 'Session initialized', { sessionDbId, promptNumber: session.lastPromptNumber })
    } else {
      if (userPrompt !== undefined) session.userPrompt = userPrompt
      if (promptNumber !== undefined) session.lastPromptNumber = promptNumber
    }
    return session
  }

  #createSession(sessionDbId: number, userPrompt: string | undefined, promptNumber: number | undefined): ActiveSession {
    const row = this.#db.getSessionById(sessionDbId)
    if (row === undefined) throw new Error(`Session ${sessionDbId} not found in database`)
    return {
      sessionDbId,
      contentSessionId: row.contentSessionId,
      memorySessionId: row.memorySessionId,
      project: row.project,
      userPrompt: userPrompt ?? row.userPrompt,
      abortController: new AbortController(),
      generatorPromise: null,
      lastPromptNumber: promptNumber ?? row.promptCounter,
      startTime: this.#clock.now(),
      cumulativeInputTokens: 0,
      cumulativeOutputTokens: 0,
      earliestPendingTimestamp: this.#db.earliestPendingTimestamp(sessionDbId),
      conversationHistory: createConversationHistory(this.settings),
      currentProvider: null,
    }
  }

  /** The live session, refreshing its idle time. */
  getSession(sessionDbId: number): ActiveSession | undefined {
    return this.sessions.get(sessionDbId)
  }

  /** Persists an observation and wakes the session's generator; re-creates an evicted session. */
  queueObservation(sessionDbId: number, data: ObservationData): void {
    const session = this.sessions.get(sessionDbId) ?? this.initializeSession(sessionDbId)
    const message = this.#db.enqueueObservation(sessionDbId, data, this.#clock.now())
    this.#notify(session, message)
  }

  /** Persists a summary request and wakes the session's generator; re-creates an evicted session. */
  queueSummarize(sessionDbId: number, lastAssistantMessage = ''): void {
    const session = this.sessions.get(sessionDbId) ?? this.initializeSession(sessionDbId)
    const message = this.#db.enqueueSummarize(sessionDbId, lastAssistantMessage, this.#clock.now())
    this.#notify(session, message)
  }

  #notify(session: ActiveSession, message: PendingMessage): void {
    session.earliestPendingTimestamp ??= message.createdAt
    this.#queues.get(session)?.emit('message')
  }

  /** Removes a session (busy or not) and resolves once it is torn down. */
  async deleteSession(sessionDbId: number): Promise<void> {
    this.sessions.delete(sessionDbId)
    await this.#teardowns.get(sessionDbId)
  }

  /** Tears every session down (the worker is exiting). The manager is closed afterwards. */
  async shutdownAll(): Promise<void> {
    if (this.#sweepTimer !== undefined) this.#clock.clearTimeout(this.#sweepTimer)
    this.#sweepTimer = undefined
    await this.sessions.close()
  }

  getActiveSessionCount(): number {
    return this.sessions.size
  }

  getTotalQueueDepth(): number {
    let total = 0
    for (const sessionDbId of this.sessions.keys()) total += this.#db.getPendingCount(sessionDbId)
    return total
  }

  isAnySessionProcessing(): boolean {
    for (const session of this.sessions.values()) if (session.generatorPromise !== null) return true
    return this.getTotalQueueDepth() > 0
  }

  getPendingCount(sessionDbId: number): number {
    return this.#db.getPendingCount(sessionDbId)
  }

  /** The session's queued messages, until it is aborted or has been quiet for the idle timeout. */
  getMessageIterator(sessionDbId: number): AsyncIterableIterator<PendingMessage> {
    const session = this.sessions.peek(sessionDbId)
    const queue = session && this.#queues.get(session)
    if (session === undefined || queue === undefined) throw new Error(`No active session ${sessionDbId}`)
    return pendingMessages(
      this.#db,
      sessionDbId,
      queue,
      session.abortController.signal,
      this.#clock,
      this.#iteratorIdleTimeoutMs,
      () => {
        session.earliestPendingTimestamp = this.#db.earliestPendingTimestamp(sessionDbId)
      },
    )
  }

  // The store's `dispose`: called once for every session that leaves, for whatever reason.
  #dispose(session: ActiveSession, sessionDbId: number, reason: RemovalReason): Promise<void> {
    const teardown = this.#teardown(session, sessionDbId, reason).finally(() => {
      if (this.#teardowns.get(sessionDbId) === teardown) this.#teardowns.delete(sessionDbId)
    })
    this.#teardowns.set(sessionDbId, teardown)
    return teardown
  }

  async #teardown(session: ActiveSession, sessionDbId: number, reason: RemovalReason): Promise<void> {
    session.abortController.abort()
    const queue = this.#queues.get(session)
    if (queue !== undefined && this.sessionQueues.get(sessionDbId) === queue) this.sessionQueues.delete(sessionDbId)
    const generator = session.generatorPromise
    if (generator !== null && !(await settledWithin(generator, this.#generatorWaitMs, this.#clock))) {
      this.#logger.warn('SESSION', 'Generator did not stop after abort; tearing the session down anyway', {
        sessionDbId,
        waitedMs: this.#generatorWaitMs,
      })
    }
    if (this.#ensureProcessExited !== undefined) await this.#ensureProcessExited(session)
    queue?.removeAllListeners()
    // Whatever still holds the session object (a generator stuck past the wait) no longer holds its messages.
    session.conversationHistory.clear()
    this.#logger.info('SESSION', 'Session removed', { sessionDbId, reason })
    this.#onSessionDeleted?.(sessionDbId, reason)
  }

  #scheduleSweep(intervalMs: number): void {
    this.#sweepTimer = this.#clock.setTimeout(() => {
      this.sessions.sweep()
      this.#scheduleSweep(intervalMs)
    }, intervalMs)
  }
}
