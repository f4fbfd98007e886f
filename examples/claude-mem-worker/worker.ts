/**
 * The glue the worker's HTTP routes and agents provide around the session layer: start a
 * session's generator when work arrives, run the observer conversation through a provider, fall
 * back to the next provider on an API error (continuing from the same history), pause a session
 * on a quota refusal and resume it once the quota allows, parse replies. It works over any of the
 * three session layers, so the demo runs the same code through each design.
 */
import { type Clock, systemClock, type TimerHandle } from './clock.js'
import type { SessionDatabase } from './database.js'
import { buildObservationPrompt, buildSummaryPrompt, framingPrompt, parseObservations } from './prompts.js'
import { type GenerationStart, isQuotaError, type Provider } from './providers.js'
import type {
  ActiveSessionOf,
  ConversationHistory,
  ConversationMessage,
  GeneratorExit,
  Logger,
  ObservationData,
  PauseReason,
  ProviderName,
  SessionLayer,
} from './types.js'
import { silentLogger } from './types.js'

/** How long a session pauses after two history recycles in a row (v13). */
export const OVERFLOW_PAUSE_MS = 10 * 60_000

export interface ObserverWorkerOptions<S> {
  providers: Record<ProviderName, Provider>
  /** The provider a session's generator starts with. @defaultValue always 'claude' */
  chooseProvider?: (sessionDbId: number) => ProviderName
  /** Where to go when a provider fails. @defaultValue claude → gemini → openrouter */
  fallbackOrder?: readonly ProviderName[]
  /** Pushes the Claude reply a second time, as one worker path did; the history must cope. */
  duplicateClaudeReplies?: boolean
  logger?: Logger
  /** Time and timers (pauses, the resume sweep). @defaultValue the system clock */
  clock?: Clock
  /** How often paused sessions whose pause is over are resumed. 0: never. @defaultValue 60_000 */
  resumeSweepMs?: number
  /**
   * Called after each answered model call, before the reply is appended, with what the provider
   * actually sent: the whole history on the stateless paths, the SDK's own conversation on the
   * Claude path.
   */
  onModelCall?: (session: S, sent: Iterable<ConversationMessage>, provider: ProviderName) => void
}

/** Counters of what the observer did. */
export interface WorkerStats {
  modelCalls: number
  observations: number
  summaries: number
  proseReplies: number
  fallbacks: number
  failedMessages: number
  /** Generators that stopped on a quota refusal or after two recycles in a row. */
  pauses: number
  /** Generations retired at the budget and re-seeded (v13's recycle; the port's Claude path). */
  recycles: number
}

type Answer = 'answered' | 'paused' | 'dropped' | 'aborted'

export class ObserverWorker<S extends ActiveSessionOf<ConversationHistory>> {
  readonly stats: WorkerStats = {
    modelCalls: 0,
    observations: 0,
    summaries: 0,
    proseReplies: 0,
    fallbacks: 0,
    failedMessages: 0,
    pauses: 0,
    recycles: 0,
  }
  readonly #db: SessionDatabase
  readonly #sessions: SessionLayer<S>
  readonly #providers: Record<ProviderName, Provider>
  readonly #choose: (sessionDbId: number) => ProviderName
  readonly #fallbackOrder: readonly ProviderName[]
  readonly #duplicateClaudeReplies: boolean
  readonly #logger: Logger
  readonly #clock: Clock
  readonly #onModelCall: ((session: S, sent: Iterable<ConversationMessage>, provider: ProviderName) => void) | undefined
  #resumeTimer: TimerHandle | undefined

  constructor(db: SessionDatabase, sessions: SessionLayer<S>, options: ObserverWorkerOptions<S>) {
    this.#db = db
    this.#sessions = sessions
    this.#providers = options.providers
    this.#choose = options.chooseProvider ?? (() => 'claude')
    this.#fallbackOrder = options.fallbackOrder ?? ['claude', 'gemini', 'openrouter']
    this.#duplicateClaudeReplies = options.duplicateClaudeReplies ?? false
    this.#logger = options.logger ?? silentLogger
    this.#clock = options.clock ?? systemClock
    this.#onModelCall = options.onModelCall
    const sweepMs = options.resumeSweepMs ?? 60_000
    if (sweepMs > 0) this.#scheduleResumeSweep(sweepMs)
  }

  /** POST /sessions/init: a user prompt in a Claude Code session. Resolves with the `sessionDbId`. */
  async handleSessionInit(contentSessionId: string, project: string, userPrompt: string, promptNumber: number): Promise<number> {
    const sessionDbId = this.#db.createSession(contentSessionId, project, userPrompt)
    this.#db.recordPrompt(sessionDbId, userPrompt, promptNumber)
    const session = await this.#sessions.initializeSession(sessionDbId, userPrompt, promptNumber)
    this.ensureGeneratorRunning(session)
    return sessionDbId
  }

  /** POST /sessions/:id/observations */
  async handleObservation(sessionDbId: number, data: ObservationData): Promise<void> {
    await this.#sessions.queueObservation(sessionDbId, data)
    const session = this.#sessions.getSession(sessionDbId)
    if (session !== undefined) this.ensureGeneratorRunning(session)
  }

  /** POST /sessions/:id/summarize */
  async handleSummarize(sessionDbId: number, lastAssistantMessage: string): Promise<void> {
    await this.#sessions.queueSummarize(sessionDbId, lastAssistantMessage)
    const session = this.#sessions.getSession(sessionDbId)
    if (session !== undefined) this.ensureGeneratorRunning(session)
  }

  /** Stops the resume sweep (the worker is exiting). */
  stop(): void {
    if (this.#resumeTimer !== undefined) this.#clock.clearTimeout(this.#resumeTimer)
    this.#resumeTimer = undefined
  }

  /**
   * Starts the session's generator unless it runs, its session was aborted, or it is paused
   * until later; restarts it when work arrived as it ended.
   */
  ensureGeneratorRunning(session: S): void {
    if (session.generatorPromise !== null || session.abortController.signal.aborted) return
    if (session.pausedUntil !== null) {
      if (session.pausedUntil > this.#clock.now()) return
      session.pausedUntil = null
      session.pausedReason = null
      session.consecutiveRecycles = 0
    }
    session.currentProvider = this.#choose(session.sessionDbId)
    let exit: GeneratorExit = 'aborted'
    session.generatorPromise = this.#run(session)
      .then(
        (how) => {
          exit = how
        },
        (error: unknown) => {
          if (!session.abortController.signal.aborted) {
            exit = 'done'
            this.#logger.error('SESSION', 'Generator failed', { sessionDbId: session.sessionDbId, error: String(error) })
          }
        },
      )
      .finally(() => {
        session.generatorPromise = null
        session.currentProvider = null
        if (exit === 'done' && this.#sessions.getPendingCount(session.sessionDbId) > 0) {
          this.ensureGeneratorRunning(session)
          return
        }
        this.#sessions.generatorExited(session, exit)
      })
  }

  async #run(session: S): Promise<GeneratorExit> {
    const signal = session.abortController.signal
    const policy = this.#sessions.history
    const framing = framingPrompt(session)
    this.#newGeneration(session, 'run')
    policy.seed(session, framing)
    const first = await this.#ask(session, framing.content)
    if (first === 'paused' || first === 'aborted') return first
    for await (const message of this.#sessions.getMessageIterator(session.sessionDbId)) {
      const next: ConversationMessage = {
        role: 'user',
        content:
          message.type === 'observation'
            ? buildObservationPrompt(message.data, message.createdAt)
            : buildSummaryPrompt(session.userPrompt, message.lastAssistantMessage),
      }
      const before = policy.beforePrompt(session, next, message.type === 'observation' ? 'observation' : 'summary')
      if (before !== 'ok') this.stats.recycles++
      if (before === 'pause') {
        this.#sessions.requeue(session.sessionDbId, message)
        this.#pause(session, 'overflow', OVERFLOW_PAUSE_MS)
        return 'paused'
      }
      // Retired: the SDK query is aborted and a new one starts from the re-seeded history.
      if (before === 'recycled') this.#newGeneration(session, 'retire')
      policy.append(session, next)
      const answer = await this.#ask(session, next.content)
      if (answer === 'paused') {
        // Never answered: back to the head of the queue, for when the session resumes.
        this.#sessions.requeue(session.sessionDbId, message)
        return 'paused'
      }
      if (answer === 'aborted') return 'aborted'
    }
    return signal.aborted ? 'aborted' : 'done'
  }

  #newGeneration(session: S, why: GenerationStart): void {
    for (const provider of Object.values(this.#providers)) provider.newGeneration(session, why)
  }

  #pause(session: S, reason: PauseReason, ms: number): void {
    this.stats.pauses++
    session.pausedReason = reason
    session.pausedUntil = this.#clock.now() + ms
    this.#logger.warn('SESSION', 'Generator paused', { sessionDbId: session.sessionDbId, reason, ms })
  }

  // One model call for the prompt just appended. On an API error the next provider continues
  // from the same history; a quota refusal pauses the session instead.
  async #ask(session: S, prompt: string): Promise<Answer> {
    const policy = this.#sessions.history
    let name: ProviderName = session.currentProvider ?? this.#choose(session.sessionDbId)
    for (;;) {
      try {
        this.stats.modelCalls++
        const provider = this.#providers[name]
        const reply = await provider.complete(session)
        if (session.abortController.signal.aborted) return 'aborted'
        this.#onModelCall?.(session, provider.sent(session), name)
        session.cumulativeInputTokens += Math.ceil(prompt.length / 4)
        session.cumulativeOutputTokens += Math.ceil(reply.length / 4)
        const parsed = parseObservations(reply)
        this.stats.observations += parsed.observations
        this.stats.summaries += parsed.summaries
        if (parsed.observations + parsed.summaries === 0 && !reply.startsWith('<ack>')) this.stats.proseReplies++
        policy.append(session, { role: 'assistant', content: reply })
        if (name === 'claude' && this.#duplicateClaudeReplies) policy.append(session, { role: 'assistant', content: reply })
        return 'answered'
      } catch (error) {
        if (session.abortController.signal.aborted) return 'aborted'
        if (isQuotaError(error)) {
          this.#pause(session, 'quota', error.retryAfterMs)
          return 'paused'
        }
        const next = this.#fallbackOrder[this.#fallbackOrder.indexOf(name) + 1]
        if (next === undefined) {
          this.stats.failedMessages++
          this.#logger.error('SESSION', 'Every provider failed; message dropped', {
            sessionDbId: session.sessionDbId,
            error: String(error),
          })
          return 'dropped'
        }
        this.stats.fallbacks++
        this.#logger.warn('SESSION', 'Provider failed, falling back', {
          sessionDbId: session.sessionDbId,
          from: name,
          to: next,
          error: String(error),
        })
        name = next
        session.currentProvider = next
      }
    }
  }

  // One timer for the whole worker (not one per session): resumes the paused sessions whose
  // pause is over and that have work waiting.
  #scheduleResumeSweep(ms: number): void {
    this.#resumeTimer = this.#clock.setTimeout(() => {
      const now = this.#clock.now()
      for (const session of [...this.#sessions.heldSessions()]) {
        if (session.pausedUntil !== null && session.pausedUntil <= now && this.#sessions.getPendingCount(session.sessionDbId) > 0) {
          this.ensureGeneratorRunning(session)
        }
      }
      this.#scheduleResumeSweep(ms)
    }, ms)
  }
}
