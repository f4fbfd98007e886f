/**
 * The ORIGINAL design (claude-mem v8.5.7, as in the issue #532 analysis), kept only so that the
 * demo can replay the same traffic through it: a `Map` of sessions that are never removed unless
 * someone calls `deleteSession`, each with a `conversationHistory` array that grows forever.
 *
 * It shares the message queue with `SessionManager` (including the idle timeout that v8.5.7 did
 * not have), so the two designs differ only in how they hold sessions and histories.
 */
import { EventEmitter } from 'node:events'
import { type Clock, systemClock } from './clock.js'
import type { SessionDatabase } from './database.js'
import { pendingMessages, settledWithin } from './message-queue.js'
import { type LegacyActiveSession, type ObservationData, type PendingMessage, type SessionLayer } from './types.js'

export interface LegacySessionManagerOptions {
  clock?: Clock
  generatorWaitMs?: number
  iteratorIdleTimeoutMs?: number
}

export class LegacySessionManager implements SessionLayer<LegacyActiveSession> {
  readonly sessions = new Map<number, LegacyActiveSession>()
  readonly sessionQueues = new Map<number, EventEmitter>()
  readonly #db: SessionDatabase
  readonly #clock: Clock
  readonly #generatorWaitMs: number
  readonly #iteratorIdleTimeoutMs: number

  constructor(db: SessionDatabase, options: LegacySessionManagerOptions = {}) {
    this.#db = db
    this.#clock = options.clock ?? systemClock
    this.#generatorWaitMs = options.generatorWaitMs ?? 30_000
    this.#iteratorIdleTimeoutMs = options.iteratorIdleTimeoutMs ?? 180_000
  }

  initializeSession(sessionDbId: number, userPrompt?: string, promptNumber?: number): LegacyActiveSession {
    let session = this.sessions.get(sessionDbId)
    if (session !== undefined) {
      if (userPrompt !== undefined) session.userPrompt = userPrompt
      if (promptNumber !== undefined) session.lastPromptNumber = promptNumber
      return session
    }
    const row = this.#db.getSessionById(sessionDbId)
    if (row === undefined) throw new Error(`Session ${sessionDbId} not found in database`)
    session = {
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
      conversationHistory: [],
      currentProvider: null,
    }
    this.sessions.set(sessionDbId, session)
    this.sessionQueues.set(sessionDbId, new EventEmitter())
    return session
  }

  getSession(sessionDbId: number): LegacyActiveSession | undefined {
    return this.sessions.get(sessionDbId)
  }

  queueObservation(sessionDbId: number, data: ObservationData): void {
    const session = this.sessions.get(sessionDbId) ?? this.initializeSession(sessionDbId)
    const message = this.#db.enqueueObservation(sessionDbId, data, this.#clock.now())
    session.earliestPendingTimestamp ??= message.createdAt
    this.sessionQueues.get(sessionDbId)?.emit('message')
  }

  queueSummarize(sessionDbId: number, lastAssistantMessage = ''): void {
    const session = this.sessions.get(sessionDbId) ?? this.initializeSession(sessionDbId)
    const message = this.#db.enqueueSummarize(sessionDbId, lastAssistantMessage, this.#clock.now())
    session.earliestPendingTimestamp ??= message.createdAt
    this.sessionQueues.get(sessionDbId)?.emit('message')
  }

  async deleteSession(sessionDbId: number): Promise<void> {
    const session = this.sessions.get(sessionDbId)
    if (session === undefined) return
    session.abortController.abort()
    if (session.generatorPromise !== null) await settledWithin(session.generatorPromise, this.#generatorWaitMs, this.#clock)
    this.sessions.delete(sessionDbId)
    this.sessionQueues.delete(sessionDbId)
  }

  async shutdownAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.deleteSession(id)))
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

  getMessageIterator(sessionDbId: number): AsyncIterableIterator<PendingMessage> {
    const session = this.sessions.get(sessionDbId)
    const queue = this.sessionQueues.get(sessionDbId)
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
}
