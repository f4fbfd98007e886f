/**
 * The shapes of the claude-mem worker's session layer as it is today (v13), as described in
 * CLIENT.md: only the fields that matter for a session's lifetime, its pause state, its history
 * and its pending work (the worker's `ActiveSession` has about 50).
 *
 * `ActiveSessionOf<H>` is generic over the history type only so that the demo can run the three
 * designs (v8.5.7 and v13 with `ConversationMessage[]`, the port with `RingBufferHistory`)
 * through the same provider and worker code. The worker itself would simply change the field's type.
 */
import type { HistoryView, RingBufferHistory } from 'bounded-session'

/** One turn of the observer's conversation. `framing` marks the init or continuation prompt. */
export interface ConversationMessage {
  role: 'user' | 'assistant'
  content: string
  framing?: boolean
}

/**
 * What the providers read of `conversationHistory`: the array surface that a plain array and a
 * `RingBufferHistory` share, so that provider code takes either (tests pass plain arrays).
 */
export type ConversationHistory = HistoryView<ConversationMessage>

export type ProviderName = 'claude' | 'gemini' | 'openrouter'

/**
 * Why a generator stopped without finishing its work. Time heals a `quota` pause (the provider's
 * retry-after) and an `overflow` pause (two recycles in a row: 10 minutes).
 */
export type PauseReason = 'quota' | 'overflow'

/** The worker's in-memory session, over a history type `H`. */
export interface ActiveSessionOf<H extends ConversationHistory> {
  sessionDbId: number
  contentSessionId: string
  memorySessionId: string | null
  project: string
  userPrompt: string
  abortController: AbortController
  /** Non-null while the observer's generator runs. */
  generatorPromise: Promise<void> | null
  lastPromptNumber: number
  startTime: number
  cumulativeInputTokens: number
  cumulativeOutputTokens: number
  earliestPendingTimestamp: number | null
  conversationHistory: H
  currentProvider: ProviderName | null
  /** Set while the generator is paused; cleared when it starts again. */
  pausedReason: PauseReason | null
  /** When the pause is over (the provider's retry-after, or 10 minutes after two recycles). */
  pausedUntil: number | null
  /** History recycles since the last observation that fitted (the worker pauses after two). */
  consecutiveRecycles: number
  lastGeneratorActivity: number
}

/** The session of the port: its history is a bounded ring buffer. */
export type ActiveSession = ActiveSessionOf<RingBufferHistory<ConversationMessage>>

/** The session of v8.5.7 and v13: its history is an array (growing forever, or recycled). */
export type ArrayActiveSession = ActiveSessionOf<ConversationMessage[]>

/** A tool use reported by the user's coding session, to be turned into an observation. */
export interface ObservationData {
  tool_name: string
  tool_input: unknown
  tool_response: unknown
  prompt_number: number
  cwd?: string
  /** The tool use's id: the same tool use reported twice is queued once. */
  toolUseId?: string
}

/** A message waiting in the session's queue (persisted by the worker). */
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

/** How a generator ended: it ran out of work, it paused, or its session was aborted. */
export type GeneratorExit = 'done' | 'paused' | 'aborted'

/**
 * How a design holds a session's history: the agents append through it, a generator run starts
 * by seeding the framing prompt through it, and it decides what happens before each observation.
 */
export interface HistoryPolicy<S extends ActiveSessionOf<ConversationHistory>> {
  /** Appends the framing (init or continuation) prompt. */
  seed(session: S, framing: ConversationMessage): void
  /** Appends a prompt or a reply. Never throws on the agents' path. */
  append(session: S, message: ConversationMessage): void
  /**
   * Called before each prompt `next` of a generator run (an observation or a summary request)
   * is appended and sent: `'recycled'` when the generation was retired (the history re-seeded;
   * the worker then starts a new SDK query from it), `'pause'` when the session must pause
   * instead (v13: two recycles in a row). v13 checks before observations only.
   */
  beforePrompt(session: S, next: ConversationMessage, kind: 'observation' | 'summary'): 'ok' | 'recycled' | 'pause'
}

/**
 * The session layer the worker's routes and agents talk to. The three designs implement it:
 * `LegacySessionManager` (v8.5.7), `TodaySessionManager` (v13) and `SessionManager` (the port).
 */
export interface SessionLayer<S extends ActiveSessionOf<ConversationHistory>> {
  readonly history: HistoryPolicy<S>
  initializeSession(sessionDbId: number, userPrompt?: string, promptNumber?: number): S | Promise<S>
  getSession(sessionDbId: number): S | undefined
  queueObservation(sessionDbId: number, data: ObservationData): void | Promise<void>
  queueSummarize(sessionDbId: number, lastAssistantMessage?: string): void | Promise<void>
  deleteSession(sessionDbId: number): Promise<void>
  shutdownAll(): Promise<void>
  getActiveSessionCount(): number
  getTotalQueueDepth(): number
  isAnySessionProcessing(): boolean
  getMessageIterator(sessionDbId: number): AsyncIterableIterator<PendingMessage>
  /** Messages waiting for this session (the worker asks its pending-message store). */
  getPendingCount(sessionDbId: number): number
  /** Puts a claimed message back at the head of the queue (its call paused before an answer). */
  requeue(sessionDbId: number, message: PendingMessage): void
  /** The sessions held, to find the paused ones whose pause is over. */
  heldSessions(): Iterable<S>
  /** The generator of `session` has ended; its `generatorPromise` is already null. */
  generatorExited(session: S, exit: GeneratorExit): void
}
