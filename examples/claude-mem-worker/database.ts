/**
 * An in-memory stand-in for the worker's SQLite database: the session rows an evicted session is
 * re-created from, and the pending-message queue. In the worker these live on disk; here they
 * are the same for the three designs, and stay small (a processed message is deleted, as the
 * worker does).
 */
import type { ObservationData, PendingMessage } from './types.js'

export interface SessionRow {
  readonly id: number
  readonly contentSessionId: string
  readonly project: string
  userPrompt: string
  memorySessionId: string | null
  promptCounter: number
}

export class SessionDatabase {
  readonly #sessions = new Map<number, SessionRow>()
  readonly #byContentId = new Map<string, number>()
  readonly #pending = new Map<number, PendingMessage[]>()
  #nextSessionId = 1
  #nextMessageId = 1

  /** Finds or creates the row of a Claude Code session; returns its `sessionDbId`. */
  createSession(contentSessionId: string, project: string, userPrompt: string): number {
    const existing = this.#byContentId.get(contentSessionId)
    if (existing !== undefined) return existing
    const id = this.#nextSessionId++
    this.#sessions.set(id, { id, contentSessionId, project, userPrompt, memorySessionId: null, promptCounter: 1 })
    this.#byContentId.set(contentSessionId, id)
    return id
  }

  getSessionById(id: number): SessionRow | undefined {
    return this.#sessions.get(id)
  }

  /** Records a new user prompt of the session (the worker's user_prompts table). */
  recordPrompt(id: number, userPrompt: string, promptNumber: number): void {
    const row = this.#sessions.get(id)
    if (row === undefined) return
    row.userPrompt = userPrompt
    if (promptNumber > row.promptCounter) row.promptCounter = promptNumber
  }

  setMemorySessionId(id: number, memorySessionId: string): void {
    const row = this.#sessions.get(id)
    if (row !== undefined) row.memorySessionId = memorySessionId
  }

  enqueueObservation(sessionDbId: number, data: ObservationData, createdAt: number): PendingMessage {
    return this.#enqueue(sessionDbId, { type: 'observation', id: this.#nextMessageId++, createdAt, data })
  }

  enqueueSummarize(sessionDbId: number, lastAssistantMessage: string, createdAt: number): PendingMessage {
    return this.#enqueue(sessionDbId, { type: 'summarize', id: this.#nextMessageId++, createdAt, lastAssistantMessage })
  }

  #enqueue(sessionDbId: number, message: PendingMessage): PendingMessage {
    let queue = this.#pending.get(sessionDbId)
    if (queue === undefined) this.#pending.set(sessionDbId, (queue = []))
    queue.push(message)
    return message
  }

  /** Takes the oldest pending message of a session (claimed and deleted in one step). */
  claimNext(sessionDbId: number): PendingMessage | undefined {
    const queue = this.#pending.get(sessionDbId)
    if (queue === undefined) return undefined
    const message = queue.shift()
    if (queue.length === 0) this.#pending.delete(sessionDbId)
    return message
  }

  /** Puts a claimed message back at the head of its session's queue (it was never answered). */
  requeue(sessionDbId: number, message: PendingMessage): void {
    let queue = this.#pending.get(sessionDbId)
    if (queue === undefined) this.#pending.set(sessionDbId, (queue = []))
    queue.unshift(message)
  }

  getPendingCount(sessionDbId: number): number {
    return this.#pending.get(sessionDbId)?.length ?? 0
  }

  earliestPendingTimestamp(sessionDbId: number): number | null {
    return this.#pending.get(sessionDbId)?.[0]?.createdAt ?? null
  }

  get sessionCount(): number {
    return this.#sessions.size
  }
}
