/**
 * claude-mem v8.5.7 (as in the issue #532 analysis), kept only so that the demo can replay the
 * same traffic through it: a `Map` of sessions that are never removed unless someone calls
 * `deleteSession`, each with a `conversationHistory` array that grows forever.
 *
 * It shares the worker glue (message queue with its idle timeout, quota pauses and resumes) with
 * the other two designs, so that the three differ only in how they hold sessions and histories.
 */
import type { EventEmitter } from 'node:events'
import { type Clock, systemClock } from './clock.js'
import type { SessionDatabase } from './database.js'
import { growingHistory } from './history.js'
import { settledWithin } from './message-queue.js'
import { createActiveSession, SessionSideMaps, sessionMessages, totalQueueDepth } from './session-common.js'
import type { ArrayActiveSession, GeneratorExit, HistoryPolicy, ObservationData, PendingMessage, SessionLayer } from './types.js'

export interface LegacySessionManagerOptions {
  clock?: Clock
  generatorWaitMs?: number
  iteratorIdleTimeoutMs?: number
}

// `TodaySessionManager` (v13) grew out of this class: it extends it with what changed since.

export class LegacySessionManager implements SessionLayer<ArrayActiveSession> {
  readonly sessions = new Map<number, ArrayActiveSession>()
  readonly history: HistoryPolicy<ArrayActiveSession> = growingHistory()
  /** The side state kept by session id (queue emitters, tool-use ids). */
  readonly side = new SessionSideMaps()
  readonly sessionQueues: Map<number, EventEmitter> = this.side.sessionQueues
  protected readonly db: SessionDatabase
  protected readonly clock: Clock
  protected readonly generatorWaitMs: number
  readonly #iteratorIdleTimeoutMs: number

  constructor(db: SessionDatabase, options: LegacySessionManagerOptions = {}) {
    this.db = db
    this.clock = options.clock ?? systemClock
    this.generatorWaitMs = options.generatorWaitMs ?? 30_000
    this.#iteratorIdleTimeoutMs = options.iteratorIdleTimeoutMs ?? 180_000
  }

  initializeSession(sessionDbId: number, userPrompt?: string, promptNumber?: number): ArrayActiveSession {
    let session = this.sessions.get(sessionDbId)
    if (session !== undefined) {
      if (userPrompt !== undefined) session.userPrompt = userPrompt
      if (promptNumber !== undefined) session.lastPromptNumber = promptNumber
      return session
    }
    session = createActiveSession(this.db, sessionDbId, userPrompt, promptNumber, this.clock.now(), [])
    this.sessions.set(sessionDbId, session)
    this.side.open(sessionDbId)
    return session
  }

  getSession(sessionDbId: number): ArrayActiveSession | undefined {
    return this.sessions.get(sessionDbId)
  }

  queueObservation(sessionDbId: number, data: ObservationData): void {
    const session = this.sessions.get(sessionDbId) ?? this.initializeSession(sessionDbId)
    if (!this.side.accept(sessionDbId, data)) return
    this.#notify(session, this.db.enqueueObservation(sessionDbId, data, this.clock.now()))
  }

  queueSummarize(sessionDbId: number, lastAssistantMessage = ''): void {
    const session = this.sessions.get(sessionDbId) ?? this.initializeSession(sessionDbId)
    this.#notify(session, this.db.enqueueSummarize(sessionDbId, lastAssistantMessage, this.clock.now()))
  }

  #notify(session: ArrayActiveSession, message: PendingMessage): void {
    session.earliestPendingTimestamp ??= message.createdAt
    this.sessionQueues.get(session.sessionDbId)?.emit('message')
  }

  async deleteSession(sessionDbId: number): Promise<void> {
    const session = this.sessions.get(sessionDbId)
    if (session === undefined) return
    session.abortController.abort()
    if (session.generatorPromise !== null) await settledWithin(session.generatorPromise, this.generatorWaitMs, this.clock)
    this.sessions.delete(sessionDbId)
    this.side.clear(sessionDbId)
  }

  async shutdownAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.deleteSession(id)))
  }

  getActiveSessionCount(): number {
    return this.sessions.size
  }

  getTotalQueueDepth(): number {
    return totalQueueDepth(this.db, this.sessions.keys())
  }

  isAnySessionProcessing(): boolean {
    for (const session of this.sessions.values()) if (session.generatorPromise !== null) return true
    return this.getTotalQueueDepth() > 0
  }

  getPendingCount(sessionDbId: number): number {
    return this.db.getPendingCount(sessionDbId)
  }

  requeue(sessionDbId: number, message: PendingMessage): void {
    this.db.requeue(sessionDbId, message)
  }

  heldSessions(): Iterable<ArrayActiveSession> {
    return this.sessions.values()
  }

  // v8.5.7: "We do NOT delete the session here anymore"; it stays whatever the exit.
  generatorExited(_session: ArrayActiveSession, _exit: GeneratorExit): void {}

  getMessageIterator(sessionDbId: number): AsyncIterableIterator<PendingMessage> {
    const session = this.sessions.get(sessionDbId)
    const queue = this.sessionQueues.get(sessionDbId)
    if (session === undefined || queue === undefined) throw new Error(`No active session ${sessionDbId}`)
    return sessionMessages(this.db, session, queue, this.clock, this.#iteratorIdleTimeoutMs)
  }
}
