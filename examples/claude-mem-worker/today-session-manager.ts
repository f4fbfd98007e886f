/**
 * claude-mem v13 (late 2026) as it ships, kept so that the demo can replay the same traffic
 * through it. Facts from CLIENT.md, "The worker today":
 * - a plain `Map<number, ActiveSession>`, no cap, no TTL;
 * - a session leaves the Map when its generator exits, EXCEPT when the exit is a pause: a paused
 *   session stays until a later event resumes it and its generator exits normally;
 * - the history is an array, recycled as a whole generation at the character budget and
 *   re-seeded with the framing prompt (`generationHistory`);
 * - teardown works BY ID: `deleteSession` aborts, waits for the generator (≤ 30 s) and the model
 *   subprocess, then clears the side maps and the Map entry of that id, whichever session holds
 *   the id by then.
 * Everything else is as in v8.5.7 (`LegacySessionManager`, which this class extends).
 */
import type { Clock } from './clock.js'
import type { SessionDatabase } from './database.js'
import { generationHistory } from './history.js'
import { LegacySessionManager } from './legacy-session-manager.js'
import { settledWithin } from './message-queue.js'
import type { ArrayActiveSession, GeneratorExit, HistoryPolicy, Logger } from './types.js'
import { silentLogger } from './types.js'

export interface TodaySessionManagerOptions {
  /** The character budget of a generation: min(MAX_CONVERSATION_CHARS, context window / 2 × 4). @defaultValue 400_000 */
  budgetChars?: number
  logger?: Logger
  clock?: Clock
  generatorWaitMs?: number
  iteratorIdleTimeoutMs?: number
  /** Makes sure the session's model subprocess has exited (≤ 5 s in the worker). @defaultValue none */
  ensureProcessExited?: (session: ArrayActiveSession) => void | Promise<void>
}

export class TodaySessionManager extends LegacySessionManager {
  override readonly history: HistoryPolicy<ArrayActiveSession>
  readonly #deleting = new Set<number>()
  readonly #logger: Logger
  readonly #ensureProcessExited: ((session: ArrayActiveSession) => void | Promise<void>) | undefined

  constructor(db: SessionDatabase, options: TodaySessionManagerOptions = {}) {
    const { budgetChars, logger, ensureProcessExited, ...rest } = options
    super(db, rest)
    this.history = generationHistory(budgetChars ?? 400_000)
    this.#logger = logger ?? silentLogger
    this.#ensureProcessExited = ensureProcessExited
  }

  /** Aborts the session, waits for its generator and subprocess, then clears everything under its id. */
  override async deleteSession(sessionDbId: number): Promise<void> {
    const session = this.sessions.get(sessionDbId)
    if (session === undefined || this.#deleting.has(sessionDbId)) return
    this.#deleting.add(sessionDbId)
    try {
      session.abortController.abort()
      if (session.generatorPromise !== null && !(await settledWithin(session.generatorPromise, this.generatorWaitMs, this.clock))) {
        this.#logger.warn('SESSION', 'Generator did not exit within 30s after abort, forcing cleanup', { sessionDbId })
      }
      if (this.#ensureProcessExited !== undefined) await this.#ensureProcessExited(session)
      // By id: if the generator's exit already removed this session and a new one was created
      // under the same id meanwhile, these lines free the NEW session's state.
      this.side.clear(sessionDbId)
      this.sessions.delete(sessionDbId)
      this.#logger.info('SESSION', 'Session deleted', { sessionId: sessionDbId })
    } finally {
      this.#deleting.delete(sessionDbId)
    }
  }

  /** Removes a session at once (its generator has exited): side maps and Map entry, by id. */
  removeSessionImmediate(sessionDbId: number): void {
    if (!this.sessions.has(sessionDbId)) return
    this.side.clear(sessionDbId)
    this.sessions.delete(sessionDbId)
    this.#logger.info('SESSION', 'Session removed from active sessions', { sessionId: sessionDbId })
  }

  // A paused session stays; any other exit removes it (an aborted one is being torn down already,
  // but its generator's exit removes it from the Map first).
  override generatorExited(session: ArrayActiveSession, exit: GeneratorExit): void {
    if (exit === 'paused') return
    if (this.sessions.get(session.sessionDbId) === session) this.removeSessionImmediate(session.sessionDbId)
  }
}
