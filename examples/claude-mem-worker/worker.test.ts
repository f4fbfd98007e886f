import { RingBufferHistory } from 'bounded-session'
import { describe, expect, it } from 'vitest'
import { settle, VirtualClock } from './clock.js'
import { SessionDatabase } from './database.js'
import { createConversationHistory, generationHistory, REPLY_RESERVE_CHARS, ringHistory } from './history.js'
import { buildInitPrompt, buildObservationPrompt, framingPrompt, INSTRUCTIONS_TAG, isFramingPrompt } from './prompts.js'
import {
  ClaudeSdkProvider,
  createLocalModel,
  GeminiProvider,
  type Model,
  type ModelMessage,
  type ModelRequest,
  OpenRouterProvider,
  ProviderRequestError,
} from './providers.js'
import { ANTHROPIC_5M } from './prompt-cache.js'
import { createStack, outagesOf, replay } from './replay.js'
import { SessionManager, type SessionManagerOptions } from './session-manager.js'
import { MIN_CONVERSATION_CHARS, resolveSessionSettings } from './settings.js'
import { observationFor, strandedTraffic } from './traffic.js'
import { TodaySessionManager } from './today-session-manager.js'
import type { ActiveSession, ArrayActiveSession, ConversationMessage, Logger, ObservationData, ProviderName } from './types.js'
import { ObserverWorker } from './worker.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error'
  component: string
  message: string
  context: Record<string, unknown> | undefined
}

function recordingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = []
  const at =
    (level: LogEntry['level']) =>
    (component: string, message: string, context?: Record<string, unknown>): void => {
      entries.push({ level, component, message, context })
    }
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, entries }
}

interface SetupOptions {
  manager?: SessionManagerOptions
  model?: Model
  chooseProvider?: (sessionDbId: number) => ProviderName
  duplicateClaudeReplies?: boolean
  /** Sees what each answered call sent (the SDK's own conversation on the Claude path). */
  onModelCall?: (sessionDbId: number, sent: readonly ConversationMessage[], provider: ProviderName) => void
  /** v13's generation budget (setupToday). */
  budgetChars?: number
}

function harness(options: SetupOptions) {
  const clock = new VirtualClock(0)
  const db = new SessionDatabase()
  const { logger, entries } = recordingLogger()
  const requests: ModelRequest[] = []
  const inner = options.model ?? createLocalModel()
  const model: Model = (request) => {
    requests.push(request)
    return inner(request)
  }
  const workerOptions = {
    providers: {
      claude: new ClaudeSdkProvider(model),
      gemini: new GeminiProvider(model, logger),
      openrouter: new OpenRouterProvider(model, logger),
    },
    chooseProvider: options.chooseProvider ?? (() => 'claude' as const),
    duplicateClaudeReplies: options.duplicateClaudeReplies ?? false,
    logger,
    clock,
    onModelCall: (session: { sessionDbId: number }, sent: Iterable<ConversationMessage>, provider: ProviderName) => {
      options.onModelCall?.(session.sessionDbId, [...sent], provider)
    },
  }
  return { clock, db, logger, entries, requests, workerOptions }
}

function setup(options: SetupOptions = {}) {
  const h = harness(options)
  const manager = new SessionManager(h.db, { clock: h.clock, logger: h.logger, ...options.manager })
  const worker = new ObserverWorker(h.db, manager, h.workerOptions)
  const start = (name: string, promptNumber = 1): Promise<number> =>
    worker.handleSessionInit(`claude-${name}`, 'project', `request ${promptNumber} of ${name}`, promptNumber)
  return { ...h, manager, worker, start }
}

/** The same worker over claude-mem v13's session layer, as it ships. */
function setupToday(options: SetupOptions & { ensureProcessExited?: (session: ArrayActiveSession) => Promise<void> } = {}) {
  const h = harness(options)
  const manager = new TodaySessionManager(h.db, {
    clock: h.clock,
    logger: h.logger,
    ...(options.budgetChars === undefined ? {} : { budgetChars: options.budgetChars }),
    ...(options.ensureProcessExited === undefined ? {} : { ensureProcessExited: options.ensureProcessExited }),
  })
  const worker = new ObserverWorker(h.db, manager, h.workerOptions)
  const start = (name: string, promptNumber = 1): Promise<number> =>
    worker.handleSessionInit(`claude-${name}`, 'project', `request ${promptNumber} of ${name}`, promptNumber)
  return { ...h, manager, worker, start }
}

let toolSeed = 0
function toolUse(chars = 3_000): ObservationData {
  return observationFor({ kind: 'observation', at: 0, session: 1, promptNumber: 1, chars, seed: ++toolSeed })
}

/** A model call that stays pending until the test releases it (or, if `honourAbort`, the session aborts). */
function gate(honourAbort: boolean) {
  const waiting: (() => void)[] = []
  const local = createLocalModel()
  const model: Model = (request) =>
    new Promise<string>((resolve, reject) => {
      waiting.push(() => resolve(local(request)))
      if (honourAbort) request.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })
    })
  return {
    model,
    get pending() {
      return waiting.length
    },
    releaseAll() {
      for (const release of waiting.splice(0)) release()
    },
  }
}

// The prompt a policy is asked about (v13's policy looks at the history only).
const OBSERVATION: ConversationMessage = { role: 'user', content: '<observed_from_primary_session>' }

const chars = (messages: readonly ModelMessage[]): number => messages.reduce((sum, m) => sum + m.text.length, 0)

describe('claude-mem worker on bounded-session: teardown', () => {
  it('tears an idle session down after the TTL: controller aborted, generator settled, listeners gone', async () => {
    const s = setup()
    const id = await s.start('idle')
    await s.worker.handleObservation(id, toolUse())
    await settle()
    const session = s.manager.getSession(id)
    if (session === undefined) throw new Error('no session')
    const generator = session.generatorPromise
    expect(generator).not.toBeNull()
    const queue = s.manager.sessionQueues.get(id)
    if (queue === undefined) throw new Error('no queue')
    // Other worker code listens on the session's queue too (status broadcasts).
    queue.on('message', () => {})
    expect(session.conversationHistory.length).toBe(4) // init prompt + ack, observation + reply

    await s.clock.advance(3 * MINUTE) // the iterator's idle timeout: the generator finishes
    expect(session.generatorPromise).toBeNull()
    await s.clock.advance(56 * MINUTE) // 59 minutes after the last read: still alive
    expect(s.manager.sessions.peek(id)).toBe(session)
    expect(session.abortController.signal.aborted).toBe(false)

    await s.clock.advance(2 * MINUTE) // past the 60-minute TTL; the sweep runs every minute
    expect(session.abortController.signal.aborted).toBe(true)
    await expect(generator).resolves.toBeUndefined()
    expect(queue.listenerCount('message')).toBe(0)
    expect(s.manager.sessionQueues.has(id)).toBe(false)
    expect(session.conversationHistory.length).toBe(0)
    expect(s.manager.getSession(id)).toBeUndefined()
    expect(s.manager.getActiveSessionCount()).toBe(0)
    expect(s.manager.sessions.stats().removed.idle).toBe(1)
    expect(s.entries).toContainEqual(
      expect.objectContaining({ level: 'info', message: 'Session removed', context: { sessionDbId: id, reason: 'idle' } }),
    )
  })

  it('deleteSession aborts a running generator and resolves once it has settled', async () => {
    const g = gate(true)
    const s = setup({ model: g.model })
    const id = await s.start('running')
    await settle()
    const session = s.manager.getSession(id)
    if (session === undefined) throw new Error('no session')
    expect(g.pending).toBe(1)
    const generator = session.generatorPromise
    if (generator === null) throw new Error('no generator')
    let generatorDone = false
    void generator.then(() => (generatorDone = true))

    await s.manager.deleteSession(id)
    expect(session.abortController.signal.aborted).toBe(true)
    expect(generatorDone).toBe(true)
    expect(session.generatorPromise).toBeNull()
    expect(s.manager.getSession(id)).toBeUndefined()
    expect(s.manager.sessions.stats().removed.delete).toBe(1)
  })

  it('waits at most 30 s (virtual) for a generator that ignores the abort, then tears down anyway', async () => {
    const g = gate(false)
    const s = setup({ model: g.model })
    const id = await s.start('stuck')
    await s.worker.handleObservation(id, toolUse())
    await settle()
    const session = s.manager.getSession(id)
    if (session === undefined) throw new Error('no session')
    const queue = s.manager.sessionQueues.get(id)
    queue?.on('message', () => {})

    let deleted = false
    const deletion = s.manager.deleteSession(id).then(() => (deleted = true))
    await s.clock.advance(29_999)
    expect(deleted).toBe(false)
    expect(s.manager.getSession(id)).toBeUndefined() // out of the store at once; only the teardown waits
    await s.clock.advance(1)
    await deletion
    expect(deleted).toBe(true)
    expect(session.generatorPromise).not.toBeNull() // still stuck: it never honoured the abort
    expect(queue?.listenerCount('message')).toBe(0)
    expect(session.conversationHistory.length).toBe(0) // the stuck generator no longer pins the messages
    expect(s.entries.some((e) => e.level === 'warn' && e.message.startsWith('Generator did not stop'))).toBe(true)
  })

  it('shutdownAll tears every session down (reason close) and waits for the generators', async () => {
    const g = gate(true)
    const s = setup({ model: g.model })
    const ids = await Promise.all(['a', 'b', 'c'].map((name) => s.start(name)))
    await settle()
    const sessions = ids.map((id) => s.manager.sessions.peek(id))
    expect(s.manager.isAnySessionProcessing()).toBe(true)
    await s.manager.shutdownAll()
    for (const session of sessions) {
      expect(session?.abortController.signal.aborted).toBe(true)
      expect(session?.generatorPromise).toBeNull()
    }
    expect(s.manager.sessions.stats().removed.close).toBe(3)
    expect(s.manager.sessionQueues.size).toBe(0)
  })
})

describe('claude-mem worker on bounded-session: busy sessions', () => {
  it('never tears a busy session down, by TTL or by capacity; it goes once idle', async () => {
    const g = gate(false)
    const local = createLocalModel()
    // Session 1 ("busy") talks to Claude, whose calls hang; the others answer at once.
    const model: Model = (request) => (request.sessionDbId === 1 ? g.model(request) : local(request))
    const s = setup({ model, manager: { maxSessions: 2 } })
    const evictions: [number, string][] = []
    const overflows: unknown[] = []
    s.manager.sessions.on('remove', (id, _session, reason) => evictions.push([id, reason]))
    s.manager.sessions.on('overflow', (info) => overflows.push(info))

    const busyId = await s.start('busy')
    expect(busyId).toBe(1)
    await settle()
    const busy = s.manager.sessions.peek(busyId)
    expect(busy?.generatorPromise).not.toBeNull()

    await s.clock.advance(5 * HOUR) // five TTLs and 300 sweeps
    expect(s.manager.sessions.peek(busyId)).toBe(busy)

    const b = await s.start('b')
    await s.clock.advance(4 * MINUTE) // b's generator ends: b is idle
    const c = await s.start('c') // over capacity: b goes, not the busy one
    await s.clock.advance(4 * MINUTE)
    const d = await s.start('d') // c goes
    const e = await s.start('e') // d's generator still runs: every other session is busy, so the store overflows
    await settle()
    expect(evictions).toEqual([
      [b, 'capacity'],
      [c, 'capacity'],
    ])
    expect(overflows.length).toBeGreaterThan(0)
    expect(s.manager.sessions.peek(busyId)).toBe(busy)
    expect(busy?.abortController.signal.aborted).toBe(false)
    expect([...s.manager.sessions.keys()].sort()).toEqual([busyId, d, e].sort())

    // Once its work is done and its generator has finished, the store is back within its bound
    // at the next sweep, and the session goes once it has been idle for the TTL (being found
    // busy counted as activity: its idle time starts when its work ended).
    g.releaseAll()
    await s.clock.advance(4 * MINUTE)
    expect(busy?.generatorPromise).toBeNull()
    await s.clock.advance(MINUTE)
    expect(s.manager.getActiveSessionCount()).toBeLessThanOrEqual(2)
    await s.clock.advance(60 * MINUTE)
    expect(evictions).toContainEqual([busyId, 'idle'])
    expect(busy?.abortController.signal.aborted).toBe(true)
  })
})

describe('claude-mem worker on bounded-session: eviction and re-creation', () => {
  it('re-creates an evicted session from the database when new work arrives', async () => {
    const s = setup()
    const id = await s.start('returning')
    await s.worker.handleObservation(id, toolUse())
    await s.clock.advance(65 * MINUTE)
    const evicted = s.manager.sessions.peek(id)
    expect(evicted).toBeUndefined()
    expect(s.manager.getActiveSessionCount()).toBe(0)

    await s.worker.handleObservation(id, toolUse())
    await settle()
    const again = s.manager.getSession(id)
    if (again === undefined) throw new Error('not re-created')
    expect(again.contentSessionId).toBe('claude-returning')
    expect(again.abortController.signal.aborted).toBe(false)
    expect(s.manager.sessionQueues.has(id)).toBe(true)
    // A fresh history that starts with the instructions again, then the new observation.
    expect(again.conversationHistory.length).toBe(4)
    expect(isFramingPrompt(again.conversationHistory.at(0) as ConversationMessage)).toBe(true)
    expect(again.conversationHistory.at(2)?.content).toContain('<observed_from_primary_session>')
    expect(s.manager.getTotalQueueDepth()).toBe(0)
    expect(s.worker.stats.observations).toBe(2)

    // A later prompt of the same session resumes with a continuation prompt.
    await s.clock.advance(2 * HOUR)
    s.start('returning', 2)
    await settle()
    const resumed = s.manager.getSession(id)
    expect(resumed?.lastPromptNumber).toBe(2)
    expect(resumed?.conversationHistory.at(0)?.content).toContain('kind="continuation"')
    expect(s.manager.sessions.stats().removed.idle).toBe(2)
  })

  it('iterates like the Map it replaces, and reports queue depth and processing', async () => {
    const g = gate(true)
    const s = setup({ model: g.model })
    const a = await s.start('a')
    const b = await s.start('b')
    await s.worker.handleObservation(a, toolUse())
    await s.worker.handleObservation(a, toolUse())
    await settle()
    const ids: number[] = []
    for (const [id, session] of s.manager.sessions) {
      expect(session.sessionDbId).toBe(id)
      ids.push(id)
    }
    expect(ids.sort()).toEqual([a, b])
    expect(s.manager.getActiveSessionCount()).toBe(2)
    expect(s.manager.getTotalQueueDepth()).toBe(2) // both still waiting: the init prompt's call hangs
    expect(s.manager.isAnySessionProcessing()).toBe(true)
    g.releaseAll()
    await settle()
    g.releaseAll()
    await settle()
    g.releaseAll()
    await settle()
    expect(s.manager.getTotalQueueDepth()).toBe(0)
    await s.clock.advance(4 * MINUTE)
    expect(s.manager.isAnySessionProcessing()).toBe(false)
  })
})

describe('claude-mem worker on bounded-session: what the model is sent', () => {
  it('every call starts on a user turn, carries the newest framing prompt and fits the budget, across provider switches', async () => {
    const budgetChars = 48_000
    const local = createLocalModel()
    let calls = 0
    // Overloads: every 7th Claude call and every 5th Gemini call fail, so sessions switch providers.
    const model: Model = (request) => {
      calls++
      if (request.provider === 'claude' && calls % 7 === 0) return Promise.reject(new ProviderRequestError('claude', 529, 'overloaded'))
      if (request.provider === 'gemini' && calls % 5 === 0) return Promise.reject(new ProviderRequestError('gemini', 503, 'unavailable'))
      return local(request)
    }
    const providersOf = new Map<number, Set<ProviderName>>()
    const newestFraming = new Map<number, string>()
    const checked = { gemini: 0, openrouter: 0 }
    const s = setup({
      model: (request) => {
        const newest = request.messages.at(-1)
        if (newest !== undefined && newest.text.startsWith(INSTRUCTIONS_TAG)) newestFraming.set(request.sessionDbId, newest.text)
        let set = providersOf.get(request.sessionDbId)
        if (set === undefined) providersOf.set(request.sessionDbId, (set = new Set()))
        set.add(request.provider)
        if (request.provider !== 'claude') {
          checked[request.provider]++
          const [first] = request.messages
          expect(first?.role).toBe('user')
          expect(chars(request.messages)).toBeLessThanOrEqual(budgetChars)
          // The newest framing prompt is always there; anything before it is older whole turns.
          expect(request.messages.some((m) => m.text === newestFraming.get(request.sessionDbId))).toBe(true)
        }
        return model(request)
      },
      chooseProvider: (id) => (['claude', 'gemini', 'openrouter'] as const)[id % 3] as ProviderName,
      duplicateClaudeReplies: true,
      manager: { budgetChars },
    })
    const names = ['a', 'b', 'c', 'd', 'e', 'f']
    const ids = await Promise.all(names.map((name) => s.start(name)))
    for (let round = 0; round < 40; round++) {
      for (const id of ids) await s.worker.handleObservation(id, toolUse(2_048 + ((round * 7919 + id * 104_729) % 30_720)))
      await settle()
      if (round % 10 === 9) await s.clock.advance(4 * MINUTE) // generators end; the next burst restarts them
      if (round === 20) for (const name of names) await s.worker.handleSessionInit(`claude-${name}`, 'project', 'next request', 2)
      if (round % 13 === 12) for (const id of ids) await s.worker.handleSummarize(id, 'done')
    }
    await settle()
    expect(checked.gemini).toBeGreaterThan(40)
    expect(checked.openrouter).toBeGreaterThan(40)
    expect(s.worker.stats.fallbacks).toBeGreaterThan(10)
    expect([...providersOf.values()].filter((set) => set.size >= 2).length).toBeGreaterThanOrEqual(4)
    expect(s.worker.stats.proseReplies).toBe(0) // the schema was always in view
    expect(s.worker.stats.failedMessages).toBe(0)
    for (const id of ids) expect(s.manager.sessions.peek(id)?.conversationHistory.bytes).toBeLessThanOrEqual(budgetChars)
  })

  it('trims in big steps: between two trims every call sends the previous call as its prefix', async () => {
    const sent: ModelRequest[] = []
    const s = setup({
      model: (request) => {
        sent.push(request)
        return createLocalModel()(request)
      },
      chooseProvider: () => 'gemini',
      manager: { budgetChars: 60_000 },
    })
    const id = await s.start('single-run')
    for (let i = 0; i < 80; i++) await s.worker.handleObservation(id, toolUse(500 + ((i * 5_333) % 3_000)))
    await settle()
    expect(sent.length).toBe(81)
    let extended = 0
    let trims = 0
    for (const [i, request] of sent.entries()) {
      // Within one generator run the first message sent is always the init prompt.
      expect(request.messages[0]?.text.startsWith(`${INSTRUCTIONS_TAG} kind="init"`)).toBe(true)
      expect(chars(request.messages)).toBeLessThanOrEqual(60_000)
      const previous = sent[i - 1]?.messages
      if (previous === undefined) continue
      if (previous.every((m, j) => request.messages[j]?.text === m.text)) extended++
      else {
        trims++
        // A trim goes down to half the budget (trimTo 0.5), not just under it.
        expect(chars(request.messages.slice(0, -1))).toBeLessThanOrEqual(30_000)
      }
    }
    expect(trims).toBeGreaterThan(3)
    expect(extended).toBeGreaterThan(4 * trims)
  })

  it('control: trimming the array as the analysis proposed (splice to the newest 50) loses the init prompt, and Gemini rejects it', async () => {
    const abortController = new AbortController()
    const session = (conversationHistory: ConversationMessage[] | RingBufferHistory<ConversationMessage>) => ({
      sessionDbId: 1,
      contentSessionId: 'c',
      memorySessionId: null,
      project: 'p',
      userPrompt: 'u',
      abortController,
      generatorPromise: null,
      lastPromptNumber: 1,
      startTime: 0,
      cumulativeInputTokens: 0,
      cumulativeOutputTokens: 0,
      earliestPendingTimestamp: null,
      conversationHistory,
      currentProvider: null,
      pausedReason: null,
      pausedUntil: null,
      consecutiveRecycles: 0,
      lastGeneratorActivity: 0,
    })
    // The analysis's trimConversationHistory(), called after every push as it proposed.
    const trimmed: ConversationMessage[] = []
    const trim = (): void => {
      if (trimmed.length > 50) trimmed.splice(0, trimmed.length - 50)
    }
    const bounded = createConversationHistory(40_000)
    const gemini = new GeminiProvider(createLocalModel())
    const openrouter = new OpenRouterProvider(createLocalModel())
    const init: ConversationMessage = { role: 'user', content: buildInitPrompt('p', 'c', 'u'), framing: true }
    trimmed.push(init)
    bounded.pushPinned(init)
    let rejected = 0
    let prose = 0
    for (let i = 0; i < 80; i++) {
      const prompt: ConversationMessage = { role: 'user', content: buildObservationPrompt(toolUse(300), 0) }
      trimmed.push(prompt)
      trim()
      bounded.push(prompt)
      // The call happens with the prompt last: the naive array then starts on a reply, without the init prompt.
      await gemini.complete(session(trimmed)).catch((error: unknown) => {
        expect(error).toBeInstanceOf(ProviderRequestError)
        rejected++
      })
      if (!(await openrouter.complete(session(trimmed))).includes('<observation>')) prose++
      const viaBounded = await gemini.complete(session(bounded))
      expect(viaBounded).toContain('<observation>')
      expect(isFramingPrompt(bounded.at(0) as ConversationMessage)).toBe(true)
      const reply: ConversationMessage = { role: 'assistant', content: `<observation><title>${i}</title></observation>` }
      trimmed.push(reply)
      trim()
      bounded.push(reply)
    }
    expect(rejected).toBeGreaterThan(10)
    expect(prose).toBe(rejected)
    expect(bounded.evictedCount).toBeGreaterThan(0)
  })

  it('a tool output larger than the whole budget is shrunk to fit, reported, and never crashes the agent', async () => {
    const s = setup({ chooseProvider: () => 'openrouter', manager: { budgetChars: 50_000 } })
    const id = await s.start('huge')
    await s.worker.handleObservation(id, toolUse(200_000))
    await settle()
    const history = s.manager.sessions.peek(id)?.conversationHistory
    expect(history?.bytes).toBeLessThanOrEqual(50_000)
    expect(isFramingPrompt(history?.at(0) as ConversationMessage)).toBe(true)
    // The model saw it shortened, with the cut marked.
    const sent = s.requests.flatMap((r) => r.messages).find((m) => m.text.includes('<observed_from_primary_session>'))
    expect(sent?.text).toMatch(/…\[\d+ characters elided\]…/)
    expect(sent?.text.length).toBeLessThanOrEqual(50_000)
    expect(s.entries.some((e) => e.level === 'warn' && e.message.includes('truncated'))).toBe(true)
    expect(s.worker.stats.observations).toBe(1)
  })

  it('tolerates the same assistant reply pushed twice', () => {
    const policy = ringHistory()
    const session = { conversationHistory: createConversationHistory(40_000) } as ActiveSession
    policy.seed(session, framingPrompt({ project: 'p', contentSessionId: 'c', userPrompt: 'u', lastPromptNumber: 1 }))
    for (let i = 0; i < 40; i++) {
      policy.append(session, { role: 'user', content: `obs ${i} ${'x'.repeat(3_000)}` })
      const reply = { role: 'assistant' as const, content: `reply ${i}` }
      policy.append(session, reply)
      policy.append(session, reply)
      const history = session.conversationHistory
      expect(history.at(0)?.role).toBe('user')
      expect(history.at(1)?.role).toBe('user') // after the framing prompt, a whole turn
      expect(history.bytes).toBeLessThanOrEqual(40_000)
    }
    expect(isFramingPrompt(session.conversationHistory.at(0) as ConversationMessage)).toBe(true)
  })
})

describe('claude-mem worker on bounded-session: the Claude path retires generations', () => {
  const sizeOf = (sent: readonly ConversationMessage[]): number => sent.reduce((sum, m) => sum + m.content.length, 0)

  it('the SDK\'s own conversation never exceeds the budget: before an observation that would not fit, the generation is retired and the next SDK query starts from the framing prompt', async () => {
    const budgetChars = 48_000
    const calls: { sent: readonly ConversationMessage[]; history: ConversationMessage[] }[] = []
    let manager: SessionManager | undefined
    const s = setup({
      manager: { budgetChars },
      onModelCall(id, sent, provider) {
        expect(provider).toBe('claude')
        calls.push({ sent, history: [...(manager?.sessions.peek(id)?.conversationHistory ?? [])] })
      },
    })
    manager = s.manager
    const id = await s.start('claude-path')
    for (let i = 0; i < 60; i++) await s.worker.handleObservation(id, toolUse(2_048 + ((i * 7_919) % 6_000)))
    await settle()
    const claude = s.workerOptions.providers.claude
    expect(calls.length).toBe(61)
    expect(claude.retired).toBeGreaterThan(3)
    expect(s.worker.stats.recycles).toBe(claude.retired)
    let retires = 0
    for (const [i, call] of calls.entries()) {
      // What the SDK sent always fits, and the history meters exactly that.
      expect(sizeOf(call.sent)).toBeLessThanOrEqual(budgetChars)
      expect(call.history).toEqual(call.sent)
      expect(call.sent[0]?.framing).toBe(true)
      const previous = calls[i - 1]?.sent
      if (previous === undefined || call.sent.length > previous.length) continue
      // A new SDK query: the framing prompt and the observation, nothing of the old generation.
      retires++
      expect(call.sent.length).toBe(2)
      expect(call.sent[0]).toBe(calls[0]?.sent[0])
      // ... and it was retired only because the observation would not have fitted beside a reply.
      expect(sizeOf(previous) + 1_000 + (call.sent[1]?.content.length ?? 0)).toBeGreaterThan(budgetChars - REPLY_RESERVE_CHARS)
    }
    expect(retires).toBe(claude.retired)
    expect(s.worker.stats.observations).toBe(60)
  })

  it('a generation records at least one observation before its budget is checked again: an observation larger than the budget is shrunk, never retired in a loop', async () => {
    const budgetChars = 40_000
    const sent: number[] = []
    const s = setup({ manager: { budgetChars }, onModelCall: (_id, conversation) => void sent.push(sizeOf(conversation)) })
    const id = await s.start('huge')
    for (let i = 0; i < 6; i++) await s.worker.handleObservation(id, toolUse(60_000))
    await settle()
    expect(s.worker.stats.observations).toBe(6)
    expect(s.worker.stats.pauses).toBe(0)
    // One retire per observation: the first one's leaves the framing prompt alone (it would not
    // fit beside the ack); each generation records its one observation.
    expect(s.workerOptions.providers.claude.retired).toBe(6)
    for (const size of sent) expect(size).toBeLessThanOrEqual(budgetChars)
    expect(s.entries.some((e) => e.message.includes('truncated'))).toBe(true)
  })

  it('a new generator run starts a fresh SDK query, and the history with it; the stateless paths keep their history and trim it in place', async () => {
    const lastSent = new Map<number, readonly ConversationMessage[]>()
    const s = setup({
      chooseProvider: (id) => (id === 1 ? 'claude' : 'gemini'),
      manager: { budgetChars: 60_000 },
      onModelCall: (id, sent) => void lastSent.set(id, sent),
    })
    const claudeId = await s.start('claude')
    const geminiId = await s.start('gemini')
    for (let i = 0; i < 30; i++) for (const id of [claudeId, geminiId]) await s.worker.handleObservation(id, toolUse(2_500))
    await settle()
    await s.clock.advance(4 * MINUTE) // both generators end after 3 idle minutes
    expect(s.manager.sessions.peek(claudeId)?.conversationHistory.length).toBeGreaterThan(4)
    for (const id of [claudeId, geminiId]) await s.worker.handleObservation(id, toolUse(2_500))
    await settle()
    // Claude: the new SDK query knows only its framing prompt, the ack and the observation; the
    // history meters the same (plus the reply just appended).
    expect(lastSent.get(claudeId)?.map((m) => m.role)).toEqual(['user', 'assistant', 'user'])
    expect(s.manager.sessions.peek(claudeId)?.conversationHistory.length).toBe(4)
    // Gemini: the same history goes on, older turns first; it was trimmed in place, never retired.
    expect(lastSent.get(geminiId)?.length).toBeGreaterThan(6)
    expect(s.manager.sessions.peek(geminiId)?.conversationHistory.evictedCount).toBeGreaterThan(0)
    expect(s.workerOptions.providers.claude.retired).toBeGreaterThan(0)
  })

  it('control, v13: its recycle checks the history after the fact, so the SDK is sent more than the budget before the generation is retired', async () => {
    const budgetChars = 48_000
    let largest = 0
    const s = setupToday({ budgetChars, onModelCall: (_id, sent) => void (largest = Math.max(largest, sizeOf(sent))) })
    const id = await s.start('v13')
    for (let i = 0; i < 60; i++) await s.worker.handleObservation(id, toolUse(2_048 + ((i * 7_919) % 6_000)))
    await settle()
    expect(s.workerOptions.providers.claude.retired).toBeGreaterThan(3)
    expect(largest).toBeGreaterThan(budgetChars)
  })
})

describe('claude-mem worker on bounded-session: pauses', () => {
  it('a session paused for quota with work queued is never evicted, and resumes with nothing lost', async () => {
    const clockRef: { now: () => number } = { now: () => 0 }
    const outage = { at: 10 * MINUTE, until: 40 * MINUTE }
    const local = createLocalModel()
    const s = setup({
      model: (request) => {
        const now = clockRef.now()
        if (outage.at <= now && now < outage.until) {
          return Promise.reject(new ProviderRequestError(request.provider, 429, 'quota exceeded', outage.until - now))
        }
        return local(request)
      },
      manager: { maxSessions: 1, idleTtlMs: 5 * MINUTE },
    })
    clockRef.now = () => s.clock.now()
    const paused = await s.start('paused')
    await s.worker.handleObservation(paused, toolUse())
    await s.clock.advanceTo(11 * MINUTE)
    // Work arrives during the outage: the call is refused, the session pauses with it queued.
    await s.worker.handleObservation(paused, toolUse())
    await s.worker.handleObservation(paused, toolUse())
    await settle()
    const session = s.manager.sessions.peek(paused)
    expect(session?.pausedReason).toBe('quota')
    expect(session?.generatorPromise).toBeNull()
    expect(s.manager.getPendingCount(paused)).toBe(2)
    // Other sessions come and go; the store is full, but the paused one is busy.
    for (const name of ['x', 'y', 'z']) {
      await s.start(name)
      await s.clock.advance(6 * MINUTE)
    }
    expect(s.manager.sessions.peek(paused)).toBe(session)
    expect(session?.abortController.signal.aborted).toBe(false)
    // The quota is back at 40 min; the resume sweep restarts the session within a minute.
    await s.clock.advanceTo(outage.until + 61_000)
    expect(s.manager.getPendingCount(paused)).toBe(0)
    expect(session?.pausedReason).toBeNull()
    expect(s.worker.stats.observations).toBe(3)
    expect(s.worker.stats.pauses).toBeGreaterThanOrEqual(1)
  })

  it('v13 recycles the history at the budget, re-seeds the framing prompt, and pauses after two recycles in a row', () => {
    const policy = generationHistory(40_000)
    const session = { conversationHistory: [], consecutiveRecycles: 0 } as unknown as ArrayActiveSession
    const framing = framingPrompt({ project: 'p', contentSessionId: 'c', userPrompt: 'u', lastPromptNumber: 1 })
    policy.seed(session, framing)
    const outcomes: string[] = []
    for (let i = 0; i < 30; i++) {
      outcomes.push(policy.beforePrompt(session, OBSERVATION, 'observation'))
      policy.append(session, { role: 'user', content: 'x'.repeat(9_000) })
      policy.append(session, { role: 'assistant', content: 'reply' })
    }
    expect(outcomes.filter((o) => o === 'recycled').length).toBeGreaterThan(3)
    expect(outcomes).not.toContain('pause')
    // A recycle leaves the framing prompt alone, the same message as before.
    const at = outcomes.lastIndexOf('recycled')
    expect(at).toBeGreaterThan(0)
    expect(session.conversationHistory[0]).toBe(framing)
    // An observation that alone outgrows the budget: recycled, then recycled again, then a pause.
    policy.append(session, { role: 'user', content: 'y'.repeat(41_000) })
    expect(policy.beforePrompt(session, OBSERVATION, 'observation')).toBe('recycled')
    policy.append(session, { role: 'user', content: 'y'.repeat(41_000) })
    expect(policy.beforePrompt(session, OBSERVATION, 'observation')).toBe('pause')
    expect(session.conversationHistory).toEqual([framing])
  })
})

describe('claude-mem v13 as it ships (the demo\'s baseline)', () => {
  it('a session leaves the Map when its generator exits, except a paused one, which stays', async () => {
    const clockRef: { now: () => number } = { now: () => 0 }
    const local = createLocalModel()
    const s = setupToday({
      model: (request) =>
        request.sessionDbId === 2 && clockRef.now() < 30 * MINUTE
          ? Promise.reject(new ProviderRequestError(request.provider, 429, 'quota exceeded', 30 * MINUTE - clockRef.now()))
          : local(request),
    })
    clockRef.now = () => s.clock.now()
    const done = await s.start('done')
    const paused = await s.start('paused')
    await s.worker.handleObservation(done, toolUse())
    await s.worker.handleObservation(paused, toolUse())
    await s.clock.advance(4 * MINUTE) // past the generator's 3-minute idle wait
    expect(s.manager.getSession(done)).toBeUndefined()
    expect(s.manager.sessionQueues.has(done)).toBe(false)
    const kept = s.manager.getSession(paused)
    expect(kept?.pausedReason).toBe('quota')
    expect(kept?.conversationHistory.length).toBeGreaterThan(0) // and its history with it
    // New work for the first one re-creates it with an empty history: its context is gone.
    await s.worker.handleObservation(done, toolUse())
    await settle()
    expect(s.manager.getSession(done)?.conversationHistory.length).toBe(4)
    expect(s.manager.side.opened).toBe(3)
  })
})

describe('claude-mem worker on bounded-session: teardown and re-creation under the same id', () => {
  // The model subprocess takes 5 s (virtual) to be reaped: the window in which the race happens.
  const slowReap = (clock: () => VirtualClock) => () => new Promise<void>((resolve) => clock().setTimeout(resolve, 5_000))

  it('v13: a session re-created while the old teardown runs loses its queue and its Map entry to that teardown', async () => {
    let clock: VirtualClock | undefined
    const s = setupToday({ ensureProcessExited: slowReap(() => clock as VirtualClock) })
    clock = s.clock
    const id = await s.start('raced')
    await s.worker.handleObservation(id, toolUse())
    await settle()
    const deletion = s.manager.deleteSession(id)
    await settle() // the aborted generator exits; its exit removes the session from the Map
    expect(s.manager.getSession(id)).toBeUndefined()
    await s.worker.handleObservation(id, toolUse()) // new work: a new session under the same id
    const fresh = s.manager.getSession(id)
    expect(fresh).toBeDefined()
    await s.clock.advance(5_000)
    await deletion
    // The old teardown cleared by id: the new session is gone from the Map and its queue is freed.
    expect(s.manager.getSession(id)).toBeUndefined()
    expect(s.manager.sessionQueues.has(id)).toBe(false)
    expect(fresh?.abortController.signal.aborted).toBe(false) // nobody stopped its generator either
  })

  it('the port: a session re-created under the same id waits for the old teardown, then keeps its own state', async () => {
    let clock: VirtualClock | undefined
    const s = setup({ manager: { ensureProcessExited: slowReap(() => clock as VirtualClock) } })
    clock = s.clock
    const id = await s.start('raced')
    await s.worker.handleObservation(id, toolUse())
    await settle()
    const old = s.manager.sessions.peek(id)
    const deletion = s.manager.deleteSession(id)
    await settle()
    expect(s.manager.getSession(id)).toBeUndefined()
    let routed = false
    const route = s.worker.handleObservation(id, toolUse()).then(() => (routed = true))
    await settle()
    expect(routed).toBe(false) // waiting for the old teardown
    await s.clock.advance(5_000)
    await deletion
    await route
    const fresh = s.manager.getSession(id)
    expect(fresh).toBeDefined()
    expect(fresh).not.toBe(old)
    expect(s.manager.sessionQueues.has(id)).toBe(true)
    await settle()
    // A fresh history that starts with the framing prompt, then the new observation and its reply.
    expect(isFramingPrompt(fresh?.conversationHistory.at(0) as ConversationMessage)).toBe(true)
    expect(fresh?.conversationHistory.at(2)?.content).toContain('<observed_from_primary_session>')
    expect(s.manager.getPendingCount(id)).toBe(0)
    expect(s.worker.stats.observations).toBe(2)
  })

  it('shutdown while generators finish: reads keep working during and after it, and every session is torn down once', async () => {
    const g = gate(false)
    const s = setup({ model: g.model })
    const ids = await Promise.all(['a', 'b', 'c'].map((name) => s.start(name)))
    await settle()
    const disposed: number[] = []
    s.manager.sessions.on('remove', (id) => disposed.push(id))
    const shutdown = s.manager.shutdownAll()
    // The generators are still inside their model call; the worker looks sessions up meanwhile.
    expect(() => s.manager.getSession(ids[0] as number)).not.toThrow()
    expect(() => s.manager.isAnySessionProcessing()).not.toThrow()
    expect(() => s.manager.getTotalQueueDepth()).not.toThrow()
    g.releaseAll()
    await settle()
    await shutdown
    expect(disposed.sort()).toEqual([...ids].sort())
    expect(s.manager.sessions.stats().removed.close).toBe(3)
    expect(() => s.manager.getSession(ids[1] as number)).not.toThrow()
    expect(s.manager.getActiveSessionCount()).toBe(0)
    expect(s.manager.sessionQueues.size).toBe(0)
  })
})

describe('claude-mem worker on bounded-session: settings', () => {
  it('uses the defaults when nothing is set, silently', () => {
    const { logger, entries } = recordingLogger()
    expect(resolveSessionSettings({}, logger)).toEqual({ idleTtlMs: 60 * MINUTE, maxSessions: 100, budgetChars: 400_000 })
    expect(entries).toEqual([])
  })

  it('reads string values with parseInt, as the worker does; the budget is min(max chars, window / 2 × 4)', () => {
    const { logger, entries } = recordingLogger()
    const resolved = resolveSessionSettings(
      {
        CLAUDE_MEM_SESSION_TTL_MINUTES: '15',
        CLAUDE_MEM_MAX_ACTIVE_SESSIONS: ' 20 ',
        CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS: 200_000, // a hand-edited number
        CLAUDE_MEM_OBSERVER_CONTEXT_WINDOW: '64000 tokens',
      },
      logger,
    )
    expect(resolved).toEqual({ idleTtlMs: 15 * MINUTE, maxSessions: 20, budgetChars: 128_000 })
    expect(resolveSessionSettings({ CLAUDE_MEM_OBSERVER_CONTEXT_WINDOW: '1000000' }, logger).budgetChars).toBe(400_000)
    expect(entries).toEqual([])
  })

  it.each([
    ['CLAUDE_MEM_SESSION_TTL_MINUTES', 'soon'],
    ['CLAUDE_MEM_SESSION_TTL_MINUTES', '0'],
    ['CLAUDE_MEM_SESSION_TTL_MINUTES', '-5'],
    ['CLAUDE_MEM_MAX_ACTIVE_SESSIONS', '0'],
    ['CLAUDE_MEM_MAX_ACTIVE_SESSIONS', '99999999999999999999'],
    ['CLAUDE_MEM_OBSERVER_CONTEXT_WINDOW', '1000'],
    ['CLAUDE_MEM_OBSERVER_CONTEXT_WINDOW', 'NaN'],
    ['CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS', String(MIN_CONVERSATION_CHARS - 1)],
    ['CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS', '{}'],
  ])('%s = %j falls back to the default and is reported, never thrown', (key, value) => {
    const { logger, entries } = recordingLogger()
    const resolved = resolveSessionSettings({ [key]: value }, logger)
    expect(resolved).toEqual(resolveSessionSettings({}, recordingLogger().logger))
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({ level: 'warn', component: 'SETTINGS', context: { value } })
    expect(entries[0]?.message).toContain(key)
    // And the library accepts what came out.
    expect(() => new SessionManager(new SessionDatabase(), { ...resolved, clock: new VirtualClock() })).not.toThrow()
  })

  it('the resolved settings bound the store and the histories', async () => {
    const { logger } = recordingLogger()
    const resolved = resolveSessionSettings(
      { CLAUDE_MEM_SESSION_TTL_MINUTES: '10', CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS: '50000' },
      logger,
    )
    const s = setup({ manager: resolved, chooseProvider: () => 'gemini' })
    const id = await s.start('configured')
    for (let i = 0; i < 20; i++) await s.worker.handleObservation(id, toolUse(8_000))
    await settle()
    expect(s.manager.sessions.peek(id)?.conversationHistory.bytes).toBeLessThanOrEqual(50_000)
    await s.clock.advance(9 * MINUTE)
    expect(s.manager.sessions.peek(id)).toBeDefined()
    await s.clock.advance(2 * MINUTE)
    expect(s.manager.sessions.peek(id)).toBeUndefined()
  })
})

describe('stranded sessions (claude-mem #4109, #4204): paused work that nothing resumes', () => {
  const settings = { maxSessions: 100, idleTtlMs: 60 * MINUTE, budgetChars: 400_000 }
  const events = strandedTraffic({ sessions: 150 })
  const end = (events.at(-1)?.at ?? 0) + 6 * HOUR
  const run = async (design: 'today' | 'bounded', maxBusyMs?: number) => {
    const stack = createStack(
      design,
      { settings, resumeSweepMs: 0, failureRate: 0, priceTables: [ANTHROPIC_5M], ...(maxBusyMs === undefined ? {} : { maxBusyMs }) },
      outagesOf(events),
    )
    await replay(stack, events, end)
    return stack
  }

  it('v13 keeps every stranded session in its Map, and the port with a truthful isBusy holds them all over maxSessions', async () => {
    const today = await run('today')
    expect(today.layer.getActiveSessionCount()).toBe(150)
    expect([...today.layer.heldSessions()].every((s) => s.pausedReason === 'quota')).toBe(true)
    const port = await run('bounded', Infinity)
    if (port.design !== 'bounded') throw new Error('unreachable')
    // Busy (work queued) is true of each of them, so none can go: 150 held under maxSessions 100.
    expect(port.layer.getActiveSessionCount()).toBe(150)
    expect(port.layer.getTotalQueueDepth()).toBe(300)
  })

  it('with maxBusyMs a stranded session is no longer protected: each is torn down once, its queued work kept for when it comes back', async () => {
    // Per session object: one evicted for room before the outage and re-created by its next
    // observation is two sessions under one id.
    const torn = new Map<object, number>()
    const stack = createStack(
      'bounded',
      { settings, resumeSweepMs: 0, failureRate: 0, priceTables: [ANTHROPIC_5M], maxBusyMs: 2 * HOUR },
      outagesOf(events),
    )
    if (stack.design !== 'bounded') throw new Error('unreachable')
    const stranded: number[] = []
    stack.layer.sessions.on('stranded', (id) => void stranded.push(id))
    stack.layer.sessions.on('remove', (_id, session) => void torn.set(session, (torn.get(session) ?? 0) + 1))
    await replay(stack, events, end)
    expect(stack.layer.getActiveSessionCount()).toBe(0)
    expect(new Set(stranded).size).toBe(150)
    expect(torn.size).toBe(stack.layer.side.opened)
    expect([...torn.values()].every((n) => n === 1)).toBe(true)
    // Nothing queued was lost: it waits in the database for the session's next event.
    expect(stack.db.getPendingCount(1)).toBe(2)
  })
})
