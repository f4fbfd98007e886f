/**
 * The worker's SessionManager, ported to bounded-session. Same method names and meanings as the
 * worker's (v13); what changes:
 * - `sessions` is a `BoundedSessionStore`: bounded by count and idle time, never tearing down a
 *   session that is busy (its generator runs, or work is queued for it);
 * - a generator's exit no longer removes the session: it stays cached (history and prompt cache
 *   included) until it has been idle for the TTL, or the store needs room;
 * - one teardown for every way out (idle, capacity, delete, shutdown), run by the store; it clears
 *   the side maps by id, which is safe because a session re-created under the same id waits for
 *   the old teardown to finish;
 * - `conversationHistory` is a `RingBufferHistory` bounded by the worker's own character budget.
 *
 * - a session re-created under an id whose old session is still being torn down waits for that
 *   teardown (the store's key reservation, `getOrCreateAsync`); `deleteSession` is the store's
 *   `remove`, which resolves once the teardown is over; `shutdownAll` is the store's `close()`,
 *   after which reads keep working while generators finish.
 */
import { BoundedSessionStore, type RemovalReason } from 'bounded-session'
import { type Clock, systemClock, type TimerHandle } from './clock.js'
import type { SessionDatabase } from './database.js'
import { createConversationHistory, ringHistory } from './history.js'
import { settledWithin } from './message-queue.js'
import { createActiveSession, SessionSideMaps, sessionMessages, totalQueueDepth } from './session-common.js'
import type { SessionLayerSettings } from './settings.js'
import type { ActiveSession, HistoryPolicy, Logger, ObservationData, PendingMessage, SessionLayer } from './types.js'
import { silentLogger } from './types.js'

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
  /** How far a history trims when it outgrows its budget (`RingBufferHistory` `trimTo`). @defaultValue 0.5 */
  trimTo?: number
  /**
   * A session busy without a break for longer than this is stranded (its queued work is never
   * resumed: #4109, #4204): being busy no longer protects it, so it expires idle or is evicted,
   * with its teardown as usual (its work stays in the database, for when it is re-created).
   * Longer than any real burst (the traffic's run up to about 4 h). `Infinity`: no limit. @defaultValue 6 h
   */
  maxBusyMs?: number
}

/** {@link SessionManagerOptions.maxBusyMs}'s default. */
export const DEFAULT_MAX_BUSY_MS = 6 * 60 * 60_000

export class SessionManager implements SessionLayer<ActiveSession> {
  /** The sessions, keyed by `sessionDbId`. Iterates like the `Map` it replaces. */
  readonly sessions: BoundedSessionStore<number, ActiveSession>
  readonly history: HistoryPolicy<ActiveSession>
  /** The side state kept by session id (queue emitters, tool-use ids). */
  readonly side = new SessionSideMaps()
  readonly sessionQueues = this.side.sessionQueues
  readonly settings: Readonly<SessionLayerSettings>

  readonly #db: SessionDatabase
  readonly #logger: Logger
  readonly #clock: Clock
  readonly #generatorWaitMs: number
  readonly #iteratorIdleTimeoutMs: number
  readonly #ensureProcessExited: ((session: ActiveSession) => void | Promise<void>) | undefined
  readonly #onSessionDeleted: ((sessionDbId: number, reason: RemovalReason) => void) | undefined
  readonly #trimTo: number | undefined
  #sweepTimer: TimerHandle | undefined

  constructor(db: SessionDatabase, options: SessionManagerOptions = {}) {
    this.#db = db
    this.#logger = options.logger ?? silentLogger
    this.#clock = options.clock ?? systemClock
    this.#generatorWaitMs = options.generatorWaitMs ?? 30_000
    this.#iteratorIdleTimeoutMs = options.iteratorIdleTimeoutMs ?? 180_000
    this.#ensureProcessExited = options.ensureProcessExited
    this.#onSessionDeleted = options.onSessionDeleted
    this.#trimTo = options.trimTo
    this.settings = {
      idleTtlMs: options.idleTtlMs ?? 60 * 60_000,
      maxSessions: options.maxSessions ?? 100,
      budgetChars: options.budgetChars ?? 400_000,
    }
    this.history = ringHistory()
    const sweepIntervalMs = options.sweepIntervalMs ?? 60_000
    const clock = this.#clock
    this.sessions = new BoundedSessionStore<number, ActiveSession>({
      maxSessions: this.settings.maxSessions,
      idleTtlMs: this.settings.idleTtlMs,
      // Truthful: busy while its generator runs or work waits for it (a paused session has its
      // unanswered message queued again, so it is busy until that is done).
      isBusy: (session) => session.generatorPromise !== null || db.getPendingCount(session.sessionDbId) > 0,
      dispose: (session, sessionDbId, reason) => this.#dispose(session, sessionDbId, reason),
      // Infinity: no limit (the store's own default).
      ...((options.maxBusyMs ?? DEFAULT_MAX_BUSY_MS) === Infinity ? {} : { maxBusyMs: options.maxBusyMs ?? DEFAULT_MAX_BUSY_MS }),
      now: () => clock.now(),
      // With the system clock the store runs its own unref'd sweep timer; an injected clock
      // drives the sweep itself, so that virtual time sweeps too.
      sweepIntervalMs: clock === systemClock ? sweepIntervalMs : 0,
    })
    if (clock !== systemClock && sweepIntervalMs > 0) this.#scheduleSweep(sweepIntervalMs)
    this.sessions.on('stranded', (sessionDbId, _session, busyForMs) => {
      this.#logger.warn('SESSION', 'Session stranded: busy for too long, no longer protected from eviction', { sessionDbId, busyForMs })
    })
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
   * The cached session, or a new one re-created from the database (once an earlier teardown of
   * the same id has finished). A new prompt of a cached session updates its prompt and number.
   *
   * @throws Error when the session is not in the database
   */
  async initializeSession(sessionDbId: number, userPrompt?: string, promptNumber?: number): Promise<ActiveSession> {
    let created = false
    const session = await this.sessions.getOrCreateAsync(sessionDbId, (id) => {
      created = true
      const history = createConversationHistory(this.settings.budgetChars, {
        logger: this.#logger,
        sessionDbId: id,
        ...(this.#trimTo === undefined ? {} : { trimTo: this.#trimTo }),
      })
      return createActiveSession(this.#db, id, userPrompt, promptNumber, this.#clock.now(), history)
    })
    if (created) {
      this.side.open(sessionDbId)
      this.#logger.info('SESSION', 'Session initialized', { sessionDbId, promptNumber: session.lastPromptNumber })
    } else {
      if (userPrompt !== undefined) session.userPrompt = userPrompt
      if (promptNumber !== undefined) session.lastPromptNumber = promptNumber
    }
    return session
  }

  /** The live session, refreshing its idle time. */
  getSession(sessionDbId: number): ActiveSession | undefined {
    return this.sessions.get(sessionDbId)
  }

  /** Persists an observation and wakes the session's generator; re-creates an evicted session. */
  async queueObservation(sessionDbId: number, data: ObservationData): Promise<void> {
    const session = this.getSession(sessionDbId) ?? (await this.initializeSession(sessionDbId))
    if (!this.side.accept(sessionDbId, data)) return
    this.#notify(session, this.#db.enqueueObservation(sessionDbId, data, this.#clock.now()))
  }

  /** Persists a summary request and wakes the session's generator; re-creates an evicted session. */
  async queueSummarize(sessionDbId: number, lastAssistantMessage = ''): Promise<void> {
    const session = this.getSession(sessionDbId) ?? (await this.initializeSession(sessionDbId))
    this.#notify(session, this.#db.enqueueSummarize(sessionDbId, lastAssistantMessage, this.#clock.now()))
  }

  #notify(session: ActiveSession, message: PendingMessage): void {
    session.earliestPendingTimestamp ??= message.createdAt
    this.sessionQueues.get(session.sessionDbId)?.emit('message')
  }

  /** Removes a session (busy or not) and resolves once it is torn down. */
  async deleteSession(sessionDbId: number): Promise<void> {
    await this.sessions.remove(sessionDbId)
  }

  /** The whole shutdown: tears every session down (reason close) and waits for each teardown. */
  async shutdownAll(): Promise<void> {
    if (this.#sweepTimer !== undefined) this.#clock.clearTimeout(this.#sweepTimer)
    this.#sweepTimer = undefined
    await this.sessions.close()
  }

  getActiveSessionCount(): number {
    return this.sessions.size
  }

  getTotalQueueDepth(): number {
    return totalQueueDepth(this.#db, this.sessions.keys())
  }

  isAnySessionProcessing(): boolean {
    for (const session of this.heldSessions()) if (session.generatorPromise !== null) return true
    return this.getTotalQueueDepth() > 0
  }

  getPendingCount(sessionDbId: number): number {
    return this.#db.getPendingCount(sessionDbId)
  }

  requeue(sessionDbId: number, message: PendingMessage): void {
    this.#db.requeue(sessionDbId, message)
  }

  heldSessions(): Iterable<ActiveSession> {
    return this.sessions.values()
  }

  // The session stays cached whatever the exit: the store decides when it goes.
  generatorExited(): void {}

  /** The session's queued messages, until it is aborted or has been quiet for the idle timeout. */
  getMessageIterator(sessionDbId: number): AsyncIterableIterator<PendingMessage> {
    const session = this.sessions.peek(sessionDbId)
    const queue = this.sessionQueues.get(sessionDbId)
    if (session === undefined || queue === undefined) throw new Error(`No active session ${sessionDbId}`)
    return sessionMessages(this.#db, session, queue, this.#clock, this.#iteratorIdleTimeoutMs)
  }

  // The store's `dispose`: called once for every session that leaves, for whatever reason.
  async #dispose(session: ActiveSession, sessionDbId: number, reason: RemovalReason): Promise<void> {
    session.abortController.abort()
    const generator = session.generatorPromise
    if (generator !== null && !(await settledWithin(generator, this.#generatorWaitMs, this.#clock))) {
      this.#logger.warn('SESSION', 'Generator did not stop after abort; tearing the session down anyway', {
        sessionDbId,
        waitedMs: this.#generatorWaitMs,
      })
    }
    if (this.#ensureProcessExited !== undefined) await this.#ensureProcessExited(session)
    // By id, and safe: no session can be created under this id until this teardown is over.
    this.side.clear(sessionDbId)
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
