/**
 * The shapes of the claude-mem worker's session layer (v8.5.7), as described in CLIENT.md.
 *
 * `ActiveSessionOf<H>` is generic over the history type only so that the demo can run the
 * original design (`ConversationMessage[]`) and the bounded one (`RingBufferHistory`) through
 * the same provider and worker code. The worker itself would simply change the field's type.
 */
import type { RingBufferHistory } from 'bounded-session'

/** One turn of the observer's conversation. */
export interface ConversationMessage {
  role: 'user' | 'assistant'
  content: string
}

/**
 * What the providers use of `conversationHistory`: the members of an array that the worker's
 * agents call. A plain array and a `RingBufferHistory` both satisfy it.
 */
export interface ConversationHistory extends Iterable<ConversationMessage> {
  readonly length: number
  push(...messages: ConversationMessage[]): number
  map<U>(fn: (message: ConversationMessage, index: number) => U): U[]
  reduce<U>(fn: (accumulator: U, message: ConversationMessage, index: number) => U, initial: U): U
  at(index: number): ConversationMessage | undefined
}

export type ProviderName = 'claude' | 'gemini' | 'openrouter'

/** The worker's in-memory session (the v8.5.7 fields), over a history type `H`. */
export interface ActiveSessionOf<H extends ConversationHistory> {
  sessionDbId: number
  contentSessionId: string
  memorySessionId: string | null
  project: string
  userPrompt: string
  abortController: AbortController
  generatorPromise: Promise<void> | null
  lastPromptNumber: number
  startTime: number
  cumulativeInputTokens: number
  cumulativeOutputTokens: number
  earliestPendingTimestamp: number | null
  conversationHistory: H
  currentProvider: ProviderName | null
}

/** The session after adoption: its history is a bounded ring buffer. */
export type ActiveSession = ActiveSessionOf<RingBufferHistory<ConversationMessage>>

/** The session before adoption: its history is an array that grows forever. */
export type LegacyActiveSession = ActiveSessionOf<ConversationMessage[]>

/** A tool use reported by the user's coding session, to be turned into an observation. */
export interface ObservationData {
  tool_name: string
  tool_input: unknown
  tool_response: unknown
  prompt_number: number
  cwd?: string
}

/** A message waiting in the session's queue (persisted in SQLite by the worker). */
export type PendingMessage =
  | { type: 'observation'; id: number; createdAt: number; data: ObservationData }
  | { type: 'summarize'; id: number; createdAt: number; lastAssistantMessage: string }

/** The worker's logger: `logger.info('SESSION', 'message', { context })`. */
export interface Logger {
  debug(component: string, message: string, context?: Record<string, unknown>): void
  info(component: string, message: string, context?: Record<string, unknown>): void
  warn(component: string, message: string, context?: Record<string, unknown>): void
  error(component: string, message: string, context?: Record<string, unknown>): void
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
}

/**
 * The session layer the worker's routes and agents talk to. Both `SessionManager` (bounded)
 * and `LegacySessionManager` (the original design) implement it.
 */
export interface SessionLayer<S extends ActiveSessionOf<ConversationHistory>> {
  initializeSession(sessionDbId: number, userPrompt?: string, promptNumber?: number): S
  getSession(sessionDbId: number): S | undefined
  queueObservation(sessionDbId: number, data: ObservationData): void
  queueSummarize(sessionDbId: number, lastAssistantMessage?: string): void
  deleteSession(sessionDbId: number): Promise<void>
  shutdownAll(): Promise<void>
  getActiveSessionCount(): number
  getTotalQueueDepth(): number
  isAnySessionProcessing(): boolean
  getMessageIterator(sessionDbId: number): AsyncIterableIterator<PendingMessage>
  /** Messages waiting for this session in the database (the worker asks its PendingMessageStore). */
  getPendingCount(sessionDbId: number): number
}
