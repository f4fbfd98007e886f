/**
 * Builds a worker over one of the three session layers and replays a traffic stream through it
 * in virtual time, metering what each model call would bill with prompt caching. Used by the
 * demo (one design per child process), by `npm run bench` and by the long-run test.
 */
import { settle, VirtualClock } from './clock.js'
import { SessionDatabase } from './database.js'
import { LegacySessionManager } from './legacy-session-manager.js'
import { type CachePricing, PRICE_TABLES, PromptCacheMeters } from './prompt-cache.js'
import {
  ClaudeSdkProvider,
  createLocalModel,
  GeminiProvider,
  type Model,
  OpenRouterProvider,
  ProviderRequestError,
} from './providers.js'
import { SessionManager } from './session-manager.js'
import type { SessionLayerSettings } from './settings.js'
import { TodaySessionManager } from './today-session-manager.js'
import { observationFor, type TrafficEvent } from './traffic.js'
import type { ActiveSession, ArrayActiveSession, Logger, ProviderName } from './types.js'
import { ObserverWorker } from './worker.js'

/**
 * The three designs:
 * - `'unbounded'`: claude-mem v8.5.7 (the issue #532 leak): a Map never emptied, arrays that
 *   grow, an SDK session resumed across generator runs;
 * - `'today'`: claude-mem v13 as it ships after v13.15.3: the session layer of v13.15.3
 *   (sessions leave the Map on generator exit except paused ones; a fresh SDK query per run),
 *   plus the generation recycle of the later 13.x releases (over the character budget before an
 *   observation, the history goes back to the framing prompt and a new SDK query starts);
 * - `'bounded'`: the port to this package (session-manager.ts, history.ts).
 */
export type Design = 'unbounded' | 'today' | 'bounded'

interface StackParts {
  clock: VirtualClock
  db: SessionDatabase
  /** What every answered call was sent, billed under every price table (the first: Anthropic 5 min). */
  meter: PromptCacheMeters
}

export type Stack =
  | (StackParts & { design: 'unbounded'; layer: LegacySessionManager; worker: ObserverWorker<ArrayActiveSession> })
  | (StackParts & { design: 'today'; layer: TodaySessionManager; worker: ObserverWorker<ArrayActiveSession> })
  | (StackParts & { design: 'bounded'; layer: SessionManager; worker: ObserverWorker<ActiveSession> })

export interface StackOptions {
  settings?: Partial<SessionLayerSettings>
  /** Wraps the model, e.g. to record requests. */
  model?: Model
  /** Share of model calls that fail with an API error, to exercise provider fallback. @defaultValue 0.01 */
  failureRate?: number
  /** The provider each session starts with. @defaultValue by id: claude, gemini, openrouter in turn */
  chooseProvider?: (sessionDbId: number) => ProviderName
  logger?: Logger
  /** The port's `trimTo`. @defaultValue 0.5 */
  trimTo?: number
  /** How often the worker resumes paused sessions whose pause is over; 0: never (#4109). @defaultValue 60_000 */
  resumeSweepMs?: number
  /** The port's `maxBusyMs`. @defaultValue the port's, 6 h */
  maxBusyMs?: number
  /** The price tables the calls are billed under. @defaultValue every table, {@link PRICE_TABLES} */
  priceTables?: readonly CachePricing[]
}

const PROVIDERS: readonly ProviderName[] = ['claude', 'gemini', 'openrouter']

/** Fails a deterministic share of Claude and Gemini calls, as an overloaded API would. */
export function flaky(model: Model, failureRate: number): Model {
  let calls = 0
  const every = failureRate > 0 ? Math.round(1 / failureRate) : 0
  return (request) => {
    calls++
    if (every > 0 && request.provider !== 'openrouter' && calls % every === 0) {
      return Promise.reject(new ProviderRequestError(request.provider, 529, 'overloaded'))
    }
    return model(request)
  }
}

/** Refuses every call during a quota outage, with the time left as its retry time. */
function withQuota(model: Model, clock: VirtualClock, outages: readonly { at: number; until: number }[]): Model {
  return (request) => {
    const now = clock.now()
    const outage = outages.find((o) => o.at <= now && now < o.until)
    if (outage !== undefined) return Promise.reject(new ProviderRequestError(request.provider, 429, 'quota exceeded', outage.until - now))
    return model(request)
  }
}

/** A worker over the given design, on a virtual clock, with its calls metered. */
export function createStack(design: Design, options: StackOptions = {}, outages: readonly { at: number; until: number }[] = []): Stack {
  const clock = new VirtualClock(0)
  const db = new SessionDatabase()
  const meter = new PromptCacheMeters(options.priceTables ?? PRICE_TABLES)
  const model = withQuota(flaky(options.model ?? createLocalModel(), options.failureRate ?? 0.01), clock, outages)
  const providers = {
    // v8.5.7 resumed the SDK session on every generator run; v13 starts a fresh one.
    claude: new ClaudeSdkProvider(model, { resume: design === 'unbounded' }),
    gemini: new GeminiProvider(model, options.logger),
    openrouter: new OpenRouterProvider(model, options.logger),
  }
  const workerOptions = {
    providers,
    clock,
    chooseProvider: options.chooseProvider ?? ((id: number) => PROVIDERS[id % PROVIDERS.length] as ProviderName),
    onModelCall: (session: { sessionDbId: number }, sent: Iterable<{ role: string; content: string }>) => {
      meter.record(session.sessionDbId, sent, clock.now())
    },
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.resumeSweepMs === undefined ? {} : { resumeSweepMs: options.resumeSweepMs }),
  }
  const logger = options.logger === undefined ? {} : { logger: options.logger }
  switch (design) {
    case 'unbounded': {
      const layer = new LegacySessionManager(db, { clock })
      return { design, clock, db, meter, layer, worker: new ObserverWorker(db, layer, workerOptions) }
    }
    case 'today': {
      const budget = options.settings?.budgetChars
      const layer = new TodaySessionManager(db, { clock, ...logger, ...(budget === undefined ? {} : { budgetChars: budget }) })
      return { design, clock, db, meter, layer, worker: new ObserverWorker(db, layer, workerOptions) }
    }
    case 'bounded': {
      const trimTo = options.trimTo === undefined ? {} : { trimTo: options.trimTo }
      const maxBusyMs = options.maxBusyMs === undefined ? {} : { maxBusyMs: options.maxBusyMs }
      const layer = new SessionManager(db, { clock, ...options.settings, ...logger, ...trimTo, ...maxBusyMs })
      return { design, clock, db, meter, layer, worker: new ObserverWorker(db, layer, workerOptions) }
    }
  }
}

export interface ReplayHooks {
  /** Called at every multiple of `sampleEveryMs` of virtual time, and once at the end. */
  onSample?: (virtualTime: number) => void | Promise<void>
  sampleEveryMs?: number
  /** Called after each event. */
  onEvent?: (index: number, event: TrafficEvent) => void | Promise<void>
}

/** The quota outages of a stream, for `createStack`. */
export function outagesOf(events: readonly TrafficEvent[]): { at: number; until: number }[] {
  return events.flatMap((e) => (e.kind === 'quota' ? [{ at: e.at, until: e.until }] : []))
}

/** Feeds every event to the worker at its virtual time, then runs the clock to `endAt`. */
export async function replay(stack: Stack, events: readonly TrafficEvent[], endAt: number, hooks: ReplayHooks = {}): Promise<void> {
  const { clock, db, worker } = stack
  const ids = new Map<number, number>()
  const every = hooks.sampleEveryMs ?? Infinity
  let nextSample = every
  // A route may wait (for an old teardown of the same id) while virtual time moves on: the
  // replay does not await it, but it must end well.
  const inFlight = new Set<Promise<unknown>>()
  let failure: unknown
  const track = (promise: Promise<unknown>): void => {
    inFlight.add(promise)
    promise.then(
      () => inFlight.delete(promise),
      (error: unknown) => {
        inFlight.delete(promise)
        failure ??= error
      },
    )
  }
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
      const contentSessionId = `claude-session-${event.session}`
      const project = `project-${event.session % 7}`
      const userPrompt = `Request ${event.promptNumber} of session ${event.session}: fix the failing tests and explain why.`
      // The row exists before the route runs (the route finds it again), so later events know the id.
      ids.set(event.session, db.createSession(contentSessionId, project, userPrompt))
      track(worker.handleSessionInit(contentSessionId, project, userPrompt, event.promptNumber))
    } else if (event.kind !== 'quota') {
      const id = ids.get(event.session)
      if (id === undefined) throw new Error(`event for session ${event.session} before its first prompt`)
      if (event.kind === 'observation') track(worker.handleObservation(id, observationFor(event)))
      else track(worker.handleSummarize(id, 'All tests pass now; the fix was in the queue handler.'))
    }
    await settle()
    if (failure !== undefined) throw failure
    await hooks.onEvent?.(i, event)
  }
  await sampleUntil(endAt)
  await clock.advanceTo(endAt)
  await Promise.all(inFlight)
  await settle()
  if (failure !== undefined) throw failure
  if (nextSample - every < endAt) await hooks.onSample?.(endAt)
}
