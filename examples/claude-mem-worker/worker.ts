/**
 * The glue the worker's HTTP routes and agents provide around the session layer: start a
 * session's generator when work arrives, run the observer conversation through a provider, fall
 * back to the next provider on an API error (continuing from the same history), parse replies.
 * It works over either session layer, so the demo runs the same code through both designs.
 */
import type { SessionDatabase } from './database.js'
import { appendMessage } from './history.js'
import {
  buildContinuationPrompt,
  buildInitPrompt,
  buildObservationPrompt,
  buildSummaryPrompt,
  parseObservations,
} from './prompts.js'
import type { Provider } from './providers.js'
import type {
  ActiveSessionOf,
  ConversationHistory,
  Logger,
  ObservationData,
  ProviderName,
  SessionLayer,
} from './types.js'
import { silentLogger } from './types.js'

export interface ObserverWorkerOptions {
  providers: Record<ProviderName, Provider>
  /** The provider a session's generator starts with. @defaultValue always 'claude' */
  chooseProvider?: (sessionDbId: number) => ProviderName
  /** Where to go when a provider fails. @defaultValue claude → gemini → openrouter */
  fallbackOrder?: readonly ProviderName[]
  /** Pushes the Claude reply a second time, as one worker path did; the history must cope. */
  duplicateClaudeReplies?: boolean
  logger?: Logger
}

/** Counters of what the observer did: the same traffic must give the same counts in both designs. */
export interface WorkerStats {
  modelCalls: number
  observations: number
  summaries: number
  proseReplies: number
  fallbacks: number
  failedMessages: number
}

export class ObserverWorker<S extends ActiveSessionOf<ConversationHistory>> {
  readonly stats: WorkerStats = { modelCalls: 0, observations: 0, summaries: 0, proseReplies: 0, fallbacks: 0, failedMessages: 0 }
  readonly #db: SessionDatabase
  readonly #sessions: SessionLayer<S>
  readonly #providers: Record<ProviderName, Provider>
  readonly #choose: (sessionDbId: number) => ProviderName
  readonly #fallbackOrder: readonly ProviderName[]
  readonly #duplicateClaudeReplies: boolean
  readonly #logger: Logger

  constructor(db: SessionDatabase, sessions: SessionLayer<S>, options: ObserverWorkerOptions) {
    this.#db = db
    this.#sessions = sessions
    this.#providers = options.providers
    this.#choose = options.chooseProvider ?? (() => 'claude')
    this.#fallbackOrder = options.fallbackOrder ?? ['claude', 'gemini', 'openrouter']
    this.#duplicateClaudeReplies = options.duplicateClaudeReplies ?? false
    this.#logger = options.logger ?? silentLogger
  }

  /** POST /sessions/init: a user prompt in a Claude Code session. Returns the `sessionDbId`. */
  handleSessionInit(contentSessionId: string, project: string, userPrompt: string, promptNumber: number): number {
    const sessionDbId = this.#db.createSession(contentSessionId, project, userPrompt)
    this.#db.recordPrompt(sessionDbId, userPrompt, promptNumber)
    const session = this.#sessions.initializeSession(sessionDbId, userPrompt, promptNumber)
    this.ensureGeneratorRunning(session)
    return sessionDbId
  }

  /** POST /sessions/:id/observations */
  handleObservation(sessionDbId: number, data: ObservationData): void {
    this.#sessions.queueObservation(sessionDbId, data)
    const session = this.#sessions.getSession(sessionDbId)
    if (session !== undefined) this.ensureGeneratorRunning(session)
  }

  /** POST /sessions/:id/summarize */
  handleSummarize(sessionDbId: number, lastAssistantMessage: string): void {
    this.#sessions.queueSummarize(sessionDbId, lastAssistantMessage)
    const session = this.#sessions.getSession(sessionDbId)
    if (session !== undefined) this.ensureGeneratorRunning(session)
  }

  /** Starts the session's generator unless it runs; restarts it when work arrived as it ended. */
  ensureGeneratorRunning(session: S): void {
    if (session.generatorPromise !== null || session.abortController.signal.aborted) return
    session.currentProvider = this.#choose(session.sessionDbId)
    session.generatorPromise = this.#run(session)
      .catch((error: unknown) => {
        if (!session.abortController.signal.aborted) {
          this.#logger.error('SESSION', 'Generator failed', { sessionDbId: session.sessionDbId, error: String(error) })
        }
      })
      .finally(() => {
        session.generatorPromise = null
        session.currentProvider = null
        const aborted = session.abortController.signal.aborted
        if (!aborted && this.#sessions.getPendingCount(session.sessionDbId) > 0) this.ensureGeneratorRunning(session)
      })
  }

  async #run(session: S): Promise<void> {
    const signal = session.abortController.signal
    const first =
      session.lastPromptNumber <= 1
        ? buildInitPrompt(session.project, session.contentSessionId, session.userPrompt)
        : buildContinuationPrompt(session.userPrompt, session.lastPromptNumber, session.contentSessionId)
    await this.#exchange(session, first)
    if (signal.aborted) return
    for await (const message of this.#sessions.getMessageIterator(session.sessionDbId)) {
      const prompt =
        message.type === 'observation'
          ? buildObservationPrompt(message.data, message.createdAt)
          : buildSummaryPrompt(session.userPrompt, message.lastAssistantMessage)
      await this.#exchange(session, prompt)
      if (signal.aborted) return
    }
  }

  // One prompt and its reply. On an API error the next provider continues from the same history.
  async #exchange(session: S, prompt: string): Promise<void> {
    const history = session.conversationHistory
    appendMessage(history, { role: 'user', content: prompt }, this.#logger, session.sessionDbId)
    let name: ProviderName = session.currentProvider ?? this.#choose(session.sessionDbId)
    for (;;) {
      try {
        this.stats.modelCalls++
        const reply = await this.#providers[name].complete(session)
        if (session.abortController.signal.aborted) return
        session.cumulativeInputTokens += Math.ceil(prompt.length / 4)
        session.cumulativeOutputTokens += Math.ceil(reply.length / 4)
        const parsed = parseObservations(reply)
        this.stats.observations += parsed.observations
        this.stats.summaries += parsed.summaries
        if (parsed.observations + parsed.summaries === 0 && !reply.startsWith('<ack>')) this.stats.proseReplies++
        appendMessage(history, { role: 'assistant', content: reply }, this.#logger, session.sessionDbId)
        if (name === 'claude' && this.#duplicateClaudeReplies) {
          appendMessage(history, { role: 'assistant', content: reply }, this.#logger, session.sessionDbId)
        }
        return
      } catch (error) {
        if (session.abortController.signal.aborted) throw error
        const next = this.#fallbackOrder[this.#fallbackOrder.indexOf(name) + 1]
        if (next === undefined) {
          this.stats.failedMessages++
          this.#logger.error('SESSION', 'Every provider failed; message dropped', {
            sessionDbId: session.sessionDbId,
            error: String(error),
          })
          return
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
}
