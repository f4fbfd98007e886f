/**
 * Builds a worker over one of the two session layers and replays a traffic stream through it in
 * virtual time. Used by the demo (one layer per child process) and by the long-run test.
 */
import { settle, VirtualClock } from './clock.js'
import { SessionDatabase } from './database.js'
import { LegacySessionManager } from './legacy-session-manager.js'
import { ClaudeSdkProvider, createLocalModel, GeminiProvider, type Model, OpenRouterProvider } from './providers.js'
import { SessionManager } from './session-manager.js'
import type { SessionLayerSettings } from './settings.js'
import { observationFor, type TrafficEvent } from './traffic.js'
import type { ActiveSession, LegacyActiveSession, Logger, ProviderName } from './types.js'
import { ObserverWorker } from './worker.js'

export type Design = 'unbounded' | 'bounded'

export type Stack =
  | { design: 'unbounded'; clock: VirtualClock; db: SessionDatabase; layer: LegacySessionManager; worker: ObserverWorker<LegacyActiveSession> }
  | { design: 'bounded'; clock: VirtualClock; db: SessionDatabase; layer: SessionManager; worker: ObserverWorker<ActiveSession> }

export interface StackOptions {
  settings?: Partial<SessionLayerSettings>
  /** Wraps the model, e.g. to record requests. */
  model?: Model
  /** Share of model calls that fail with an API error, to exercise provider fallback. @defaultValue 0.01 */
  failureRate?: number
  /** The provider each session starts with. @defaultValue by id: claude, gemini, openrouter in turn */
  chooseProvider?: (sessionDbId: number) => ProviderName
  logger?: Logger
}

const PROVIDERS: readonly ProviderName[] = ['claude', 'gemini', 'openrouter']

/** Fails a deterministic share of Claude and Gemini calls, as a rate-limited API would. */
export function flaky(model: Model, failureRate: number): Model {
  let calls = 0
  const every = failureRate > 0 ? Math.round(1 / failureRate) : 0
  return (request) => {
    calls++
    if (every > 0 && request.provider !== 'openrouter' && calls % every === 0) {
      return Promise.reject(new Error(`${request.provider} 429: rate limited`))
    }
    return model(request)
  }
}

export function createStack(design: Design, options: StackOptions = {}): Stack {
  const clock = new VirtualClock(0)
  const db = new SessionDatabase()
  const model = flaky(options.model ?? createLocalModel(), options.failureRate ?? 0.01)
  const providers = {
    claude: new ClaudeSdkProvider(model),
    gemini: new GeminiProvider(model, options.logger),
    openrouter: new OpenRouterProvider(model, options.logger),
  }
  const workerOptions = {
    providers,
    chooseProvider: options.chooseProvider ?? ((id: number) => PROVIDERS[id % PROVIDERS.length] as ProviderName),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  }
  if (design === 'unbounded') {
    const layer = new LegacySessionManager(db, { clock })
    return { design, clock, db, layer, worker: new ObserverWorker(db, layer, workerOptions) }
  }
  const layer = new SessionManager(db, {
    clock,
    ...options.settings,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  })
  return { design, clock, db, layer, worker: new ObserverWorker(db, layer, workerOptions) }
}

export interface ReplayHooks {
  /** Called at every multiple of `sampleEveryMs` of virtual time, and once at the end. */
  onSample?: (virtualTime: number) => void | Promise<void>
  sampleEveryMs?: number
  /** Called after each event. */
  onEvent?: (index: number, event: TrafficEvent) => void | Promise<void>
}

/** Feeds every event to the worker at its virtual time, then runs the clock to `endAt`. */
export async function replay(stack: Stack, events: readonly TrafficEvent[], endAt: number, hooks: ReplayHooks = {}): Promise<void> {
  const { clock, worker } = stack
  const ids = new Map<number, number>()
  const every = hooks.sampleEveryMs ?? Infinity
  let nextSample = every
  const sampleUntil = async (time: number): Promise<void> => {
    while (nextSample <= time) {
      await clock.advanceTo(nextSample)
      await hooks.onSample?.(nextSample)
      nextSample += every
    }
  }
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as TrafficEvent
    await sampleUntil(event.at)
    await clock.advanceTo(event.at)
    if (event.kind === 'prompt') {
      const id = worker.handleSessionInit(
        `claude-session-${event.session}`,
        `project-${event.session % 7}`,
        `Request ${event.promptNumber} of session ${event.session}: fix the failing tests and explain why.`,
        event.promptNumber,
      )
      ids.set(event.session, id)
    } else {
      const id = ids.get(event.session)
      if (id === undefined) throw new Error(`event for session ${event.session} before its first prompt`)
      if (event.kind === 'observation') worker.handleObservation(id, observationFor(event))
      else worker.handleSummarize(id, 'All tests pass now; the fix was in the queue handler.')
    }
    await settle()
    await hooks.onEvent?.(i, event)
  }
  await sampleUntil(endAt)
  await clock.advanceTo(endAt)
  await settle()
  if (nextSample - every < endAt) await hooks.onSample?.(endAt)
}
