/**
 * The three observer providers, shaped like the worker's agents, over a deterministic local
 * "model" (no network):
 * - Claude SDK: the SDK subprocess keeps its own conversation (one per `query()`), so the
 *   provider hands over the newest prompt only, and `conversationHistory` merely mirrors what the
 *   SDK holds. This provider keeps that SDK conversation itself, so that the demo bills what the
 *   SDK really sends: every earlier prompt and reply of the same query, plus the new prompt.
 *   claude-mem v13.15.3 starts a fresh SDK process, without `resume`, for every generator run
 *   (`src/services/worker/ClaudeProvider.ts`: "Each query() starts a fresh SDK process",
 *   `shouldResume = false`); v8.5.7 resumed the previous one (`src/services/worker/SDKAgent.ts`:
 *   `resume: session.memorySessionId`), so its SDK conversation spans every run of a session.
 * - Gemini and OpenRouter: stateless HTTP APIs, so every call sends the WHOLE history (`.map` to
 *   the API's format, `.reduce` to count characters, `.length` in logs, `for…of`).
 *   Gemini refuses a conversation whose first message is not a user turn, as the real API does.
 */
import { INSTRUCTIONS_TAG } from './prompts.js'
import type { ActiveSessionOf, ConversationHistory, ConversationMessage, Logger, ProviderName } from './types.js'
import { silentLogger } from './types.js'

/** A message as the model receives it, in the provider's own role names. */
export interface ModelMessage {
  role: string
  text: string
}

export interface ModelRequest {
  provider: ProviderName
  /** Not sent to any API; lets a test or a log tell sessions apart. */
  sessionDbId: number
  messages: readonly ModelMessage[]
  signal: AbortSignal
}

/** A chat model: resolves with the reply text. */
export type Model = (request: ModelRequest) => Promise<string>

/** What the provider's API answered when it refused a request. */
export class ProviderRequestError extends Error {
  readonly provider: ProviderName
  readonly status: number
  /** How long the provider asks to wait (a quota or rate limit: HTTP 429 with retry-after). */
  readonly retryAfterMs: number | undefined
  constructor(provider: ProviderName, status: number, message: string, retryAfterMs?: number) {
    super(`${provider} ${status}: ${message}`)
    this.name = 'ProviderRequestError'
    this.provider = provider
    this.status = status
    this.retryAfterMs = retryAfterMs
  }
}

/** A quota refusal: the worker pauses the session until the retry time instead of switching provider. */
export function isQuotaError(error: unknown): error is ProviderRequestError & { retryAfterMs: number } {
  return error instanceof ProviderRequestError && error.status === 429 && error.retryAfterMs !== undefined
}

/** Why a provider's conversation starts over (see {@link Provider.newGeneration}). */
export type GenerationStart = 'run' | 'retire'

/** A provider turns the session's conversation into one model call and returns the reply. */
export interface Provider {
  readonly name: ProviderName
  complete(session: ActiveSessionOf<ConversationHistory>): Promise<string>
  /** What the provider sent on its last answered call for this session, oldest message first. */
  sent(session: ActiveSessionOf<ConversationHistory>): Iterable<ConversationMessage>
  /**
   * A generator run starts (`'run'`), or the host retires the current generation and starts the
   * next one from the history as it now is (`'retire'`). Stateless providers hold nothing.
   */
  newGeneration(session: ActiveSessionOf<ConversationHistory>, why: GenerationStart): void
}

type Session = ActiveSessionOf<ConversationHistory>

interface SdkConversation {
  /** What the SDK sends to the API on its next call, before the new prompt. */
  messages: ConversationMessage[]
  /** The reply to the last call: part of the conversation from the next call on. */
  reply: ConversationMessage | undefined
}

export interface ClaudeSdkProviderOptions {
  /**
   * Whether a new generator run resumes the previous SDK session (v8.5.7) instead of starting a
   * fresh one (v13). @defaultValue false
   */
  resume?: boolean
}

export class ClaudeSdkProvider implements Provider {
  readonly name = 'claude'
  /** Generations retired by the host (`newGeneration(session, 'retire')`): SDK queries aborted. */
  retired = 0
  readonly #model: Model
  readonly #resume: boolean
  readonly #conversations = new WeakMap<Session, SdkConversation>()
  constructor(model: Model, options: ClaudeSdkProviderOptions = {}) {
    this.#model = model
    this.#resume = options.resume ?? false
  }

  async complete(session: Session): Promise<string> {
    let sdk = this.#conversations.get(session)
    if (sdk === undefined) this.#conversations.set(session, (sdk = { messages: [], reply: undefined }))
    // The SDK resumes its own conversation: only the newest prompt crosses over.
    const newest = session.conversationHistory.at(-1)
    const messages = newest === undefined ? [] : [{ role: 'user', text: newest.content }]
    const reply = await this.#model({ provider: 'claude', sessionDbId: session.sessionDbId, messages, signal: session.abortController.signal })
    // Answered: the SDK's conversation now holds the previous reply, the prompt, and (for the next call) this reply.
    if (sdk.reply !== undefined) sdk.messages.push(sdk.reply)
    if (newest !== undefined) sdk.messages.push(newest)
    sdk.reply = { role: 'assistant', content: reply }
    return reply
  }

  /** The SDK's own conversation as its last call sent it. */
  sent(session: Session): readonly ConversationMessage[] {
    return this.#conversations.get(session)?.messages ?? []
  }

  newGeneration(session: Session, why: GenerationStart): void {
    if (why === 'run' && this.#resume) return
    if (why === 'retire') this.retired++
    // A fresh query: it starts from the seed the history holds now (nothing, for a new run: the
    // run's first call sends the framing prompt).
    const seed = why === 'retire' ? [...session.conversationHistory] : []
    this.#conversations.set(session, { messages: seed, reply: undefined })
  }
}

export class GeminiProvider implements Provider {
  readonly name = 'gemini'
  readonly #model: Model
  readonly #logger: Logger
  constructor(model: Model, logger: Logger = silentLogger) {
    this.#model = model
    this.#logger = logger
  }

  complete(session: Session): Promise<string> {
    const history = session.conversationHistory
    const contents = history.map((message) => ({
      role: message.role === 'assistant' ? 'model' : 'user',
      parts: [{ text: message.content }],
    }))
    const first = contents[0]
    if (first === undefined || first.role !== 'user') {
      return Promise.reject(
        new ProviderRequestError('gemini', 400, 'Please ensure that multiturn requests start with a user turn.'),
      )
    }
    const totalChars = history.reduce((sum, message) => sum + message.content.length, 0)
    this.#logger.debug('SDK', 'Querying Gemini', { sessionDbId: session.sessionDbId, messages: history.length, totalChars })
    const messages = contents.map((content) => ({ role: content.role, text: content.parts[0]?.text ?? '' }))
    return this.#model({ provider: 'gemini', sessionDbId: session.sessionDbId, messages, signal: session.abortController.signal })
  }

  /** The whole history: what every call sends. */
  sent(session: Session): ConversationHistory {
    return session.conversationHistory
  }

  newGeneration(): void {}
}

export class OpenRouterProvider implements Provider {
  readonly name = 'openrouter'
  readonly #model: Model
  readonly #logger: Logger
  constructor(model: Model, logger: Logger = silentLogger) {
    this.#model = model
    this.#logger = logger
  }

  complete(session: Session): Promise<string> {
    const history = session.conversationHistory
    const messages: ModelMessage[] = []
    for (const message of history) messages.push({ role: message.role, text: message.content })
    const totalChars = history.reduce((sum, message) => sum + message.content.length, 0)
    this.#logger.debug('SDK', 'Querying OpenRouter', {
      sessionDbId: session.sessionDbId,
      messages: history.length,
      estimatedTokens: Math.ceil(totalChars / 4),
    })
    return this.#model({ provider: 'openrouter', sessionDbId: session.sessionDbId, messages, signal: session.abortController.signal })
  }

  /** The whole history: what every call sends. */
  sent(session: Session): ConversationHistory {
    return session.conversationHistory
  }

  newGeneration(): void {}
}

const CORPUS = `the handler now validates the session id before touching the queue so a stale request
cannot resurrect a deleted session; the migration adds an index on created_at which turns the
pending message scan from a table walk into a range read; retries use exponential backoff capped
at thirty seconds and the circuit opens after five failures in a minute; the parser accepts
self-closing tags and ignores unknown elements instead of failing the whole batch; the test
suite now injects the clock so expiry is checked without sleeping; the build emits both module
formats and the types resolve under node16 and bundler resolution; a regression in the cache key
made every read miss after a restart and is fixed by including the schema version; logging moved
to structured context objects so the dashboard can group by session and project; the config
loader falls back to defaults for malformed values and reports each one once at startup; `

const TYPES = ['decision', 'bugfix', 'feature', 'refactor', 'discovery', 'change'] as const

function hashOf(text: string): number {
  // FNV-1a over a sample of the text: cheap, and different for different prompts.
  let h = 0x811c9dc5 ^ text.length
  const step = Math.max(1, Math.floor(text.length / 64))
  for (let i = 0; i < text.length; i += step) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

// A fresh string of about `chars` characters: JSON.stringify copies, so no two replies share memory.
function narrative(seed: number, chars: number): string {
  let out = ''
  let offset = seed % CORPUS.length
  while (out.length < chars) {
    const take = Math.min(chars - out.length, CORPUS.length - offset)
    out += JSON.stringify(CORPUS.slice(offset, offset + take)).slice(1, -1)
    offset = 0
  }
  return out
}

export interface LocalModelOptions {
  /** Characters of narrative in each reply. @defaultValue 800 (replies of about 1 KB) */
  replyChars?: number
}

/**
 * A deterministic stand-in for an LLM. It answers in the observer's XML only when it can see the
 * schema: the Claude SDK keeps it in its own context; for Gemini and OpenRouter it must be in
 * the messages sent. Without it, it answers in prose, which the worker's parser rejects.
 */
export function createLocalModel(options: LocalModelOptions = {}): Model {
  const replyChars = options.replyChars ?? 800
  return (request) => {
    const last = request.messages[request.messages.length - 1]
    const prompt = last?.text ?? ''
    const seesSchema =
      request.provider === 'claude' || request.messages.some((message) => message.text.startsWith(INSTRUCTIONS_TAG))
    const h = hashOf(prompt)
    if (!seesSchema) return Promise.resolve(`Looks like the tool ran fine. ${narrative(h, 60)}`)
    if (prompt.startsWith('<summary_request')) {
      return Promise.resolve(
        `<summary><request>session ${h % 1000}</request><investigated>${narrative(h, replyChars / 4)}</investigated>` +
          `<learned>${narrative(h + 7, replyChars / 4)}</learned><completed>yes</completed>` +
          `<next_steps>${narrative(h + 13, replyChars / 4)}</next_steps></summary>`,
      )
    }
    if (prompt.startsWith(INSTRUCTIONS_TAG)) return Promise.resolve('<ack>observing</ack>')
    return Promise.resolve(
      `<observation><type>${TYPES[h % TYPES.length]}</type><title>change ${h.toString(36)}</title>` +
        `<subtitle>${narrative(h >>> 3, 80)}</subtitle><facts><fact>${narrative(h >>> 5, 120)}</fact></facts>` +
        `<narrative>${narrative(h, replyChars)}</narrative><concepts><concept>how-it-works</concept></concepts>` +
        `<files_read><file>src/file-${h % 97}.ts</file></files_read><files_modified></files_modified></observation>`,
    )
  }
}
