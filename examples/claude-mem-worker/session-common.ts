/**
 * What the three session layers share: building a session from its database row, and the
 * per-id side state that lives beside the sessions Map.
 */
import { EventEmitter } from 'node:events'
import type { Clock } from './clock.js'
import type { SessionDatabase } from './database.js'
import { pendingMessages } from './message-queue.js'
import type { ActiveSessionOf, ConversationHistory, ObservationData, PendingMessage } from './types.js'

/**
 * A session re-created from its database row, with the given empty history.
 *
 * @throws Error when the session is not in the database
 */
export function createActiveSession<H extends ConversationHistory>(
  db: SessionDatabase,
  sessionDbId: number,
  userPrompt: string | undefined,
  promptNumber: number | undefined,
  now: number,
  conversationHistory: H,
): ActiveSessionOf<H> {
  const row = db.getSessionById(sessionDbId)
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
    startTime: now,
    cumulativeInputTokens: 0,
    cumulativeOutputTokens: 0,
    earliestPendingTimestamp: db.earliestPendingTimestamp(sessionDbId),
    conversationHistory,
    currentProvider: null,
    pausedReason: null,
    pausedUntil: null,
    consecutiveRecycles: 0,
    lastGeneratorActivity: now,
  }
}

/**
 * The side state the worker keeps BY SESSION ID beside the sessions Map (v13): each session's
 * queue emitter (wakes its generator) and the tool-use ids already queued (a tool use reported
 * twice is queued once). A teardown clears both by id.
 */
export class SessionSideMaps {
  /** Each live session's queue emitter: emits 'message' when work is queued. */
  readonly sessionQueues = new Map<number, EventEmitter>()
  /** Tool-use ids already queued, per session. */
  readonly seenToolUseIds = new Map<number, Set<string>>()
  /** Sessions set up so far: every creation, first ones and re-creations alike. */
  opened = 0

  /** Sets up the side state of a new session. */
  open(sessionDbId: number): EventEmitter {
    this.opened++
    const queue = new EventEmitter()
    this.sessionQueues.set(sessionDbId, queue)
    this.seenToolUseIds.set(sessionDbId, new Set())
    return queue
  }

  /** Whether to queue this tool use: false when the same tool use was queued before. */
  accept(sessionDbId: number, data: ObservationData): boolean {
    if (data.toolUseId === undefined) return true
    const seen = this.seenToolUseIds.get(sessionDbId)
    if (seen === undefined) return true
    if (seen.has(data.toolUseId)) return false
    seen.add(data.toolUseId)
    return true
  }

  /** Clears the side state of `sessionDbId`, whichever session it belongs to now. */
  clear(sessionDbId: number): void {
    this.sessionQueues.get(sessionDbId)?.removeAllListeners()
    this.sessionQueues.delete(sessionDbId)
    this.seenToolUseIds.delete(sessionDbId)
  }
}

/** Messages waiting for the given sessions. */
export function totalQueueDepth(db: SessionDatabase, sessionDbIds: Iterable<number>): number {
  let total = 0
  for (const sessionDbId of sessionDbIds) total += db.getPendingCount(sessionDbId)
  return total
}

/** The session's queued messages, until it is aborted or has been quiet for `idleTimeoutMs`. */
export function sessionMessages(
  db: SessionDatabase,
  session: ActiveSessionOf<ConversationHistory>,
  queue: EventEmitter,
  clock: Clock,
  idleTimeoutMs: number,
): AsyncIterableIterator<PendingMessage> {
  const sessionDbId = session.sessionDbId
  return pendingMessages(db, sessionDbId, queue, session.abortController.signal, clock, idleTimeoutMs, () => {
    session.earliestPendingTimestamp = db.earliestPendingTimestamp(sessionDbId)
    session.lastGeneratorActivity = clock.now()
  })
}
