import * as v8 from 'node:v8'
import * as vm from 'node:vm'
import { RingBufferHistory, SESSION_OVERHEAD_BYTES } from 'bounded-session'
import { describe, expect, it } from 'vitest'
import { settle, VirtualClock } from './clock.js'
import { SessionDatabase } from './database.js'
import { appendMessage, createConversationHistory } from './history.js'
import { buildInitPrompt, buildObservationPrompt, INSTRUCTIONS_TAG, isInstructionPrompt } from './prompts.js'
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
import { createStack, replay } from './replay.js'
import { SessionManager, type SessionManagerOptions } from './session-manager.js'
import { MIN_CONVERSATION_CHARS, resolveSessionSettings } from './settings.js'
import { DAY, generateTraffic, observationFor } from './traffic.js'
import type { ConversationMessage, LegacyActiveSession, Logger, ObservationData, ProviderName } from './types.js'
import { ObserverWorker } from './worker.js'

// vitest does not run with --expose-gc; turn it on and fetch gc() from a fresh context.
// Bun has no --expose-gc (v8.setFlagsFromString is a no-op there); it has Bun.gc(true).
const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun
const gc: () => void = bun
  ? () => bun.gc(true)
  : (v8.setFlagsFromString('--expose-gc'), vm.runInNewContext('gc') as () => void)

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
}

function setup(options: SetupOptions = {}) {
  const clock = new VirtualClock(0)
  const db = new SessionDatabase()
  const { logger, entries } = recordingLogger()
  const requests: ModelRequest[] = []
  const inner = options.model ?? createLocalModel()
  const model: Model = (request) => {
    requests.push(request)
    return inner(request)
  }
  const manager = new SessionManager(db, { clock, logger, ...options.manager })
  const worker = new ObserverWorker(db, manager, {
    providers: {
      claude: new ClaudeSdkProvider(model),
      gemini: new GeminiProvider(model, logger),
      openrouter: new OpenRouterProvider(model, logger),
    },
    chooseProvider: options.chooseProvider ?? (() => 'claude'),
    duplicateClaudeReplies: options.duplicateClaudeReplies ?? false,
    logger,
  })
  const start = (name: string, promptNumber = 1): number =>
    worker.handleSessionInit(`claude-${name}`, 'project', `request ${promptNumber} of ${name}`, promptNumber)
  return { clock, db, manager, worker, requests, entries, start }
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

const chars = (messages: readonly ModelMessage[]): number => messages.reduce((sum, m) => sum + m.text.length, 0)

describe('claude-mem worker on bounded-session: teardown', () => {
  it('tears an idle session down after the TTL: controller aborted, generator settled, listeners gone', async () => {
    const s = setup()
    const id = s.start('idle')
    s.worker.handleObservation(id, toolUse())
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
    const id = s.start('running')
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
    const id = s.start('stuck')
    s.worker.handleObservation(id, toolUse())
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
    const ids = ['a', 'b', 'c'].map((name) => s.start(name))
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

    const busyId = s.start('busy')
    expect(busyId).toBe(1)
    await settle()
    const busy = s.manager.sessions.peek(busyId)
    expect(busy?.generatorPromise).not.toBeNull()

    await s.clock.advance(5 * HOUR) // five TTLs and 300 sweeps
    expect(s.manager.sessions.peek(busyId)).toBe(busy)

    const b = s.start('b')
    await s.clock.advance(4 * MINUTE) // b's generator ends: b is idle
    const c = s.start('c') // over capacity: b goes, not the busy one
    await s.clock.advance(4 * MINUTE)
    const d = s.start('d') // c goes
    const e = s.start('e') // d's generator still runs: every other session is busy, so the store overflows
    await settle()
    expect(evictions).toEqual([
      [b, 'capacity'],
      [c, 'capacity'],
    ])
    expect(overflows.length).toBeGreaterThan(0)
    expect(s.manager.sessions.peek(busyId)).toBe(busy)
    expect(busy?.abortController.signal.aborted).toBe(false)
    expect([...s.manager.sessions.keys()].sort()).toEqual([busyId, d, e].sort())

    // Once its work is done and its generator has finished, the long-idle session goes.
    g.releaseAll()
    await s.clock.advance(4 * MINUTE)
    expect(busy?.generatorPromise).toBeNull()
    await s.clock.advance(MINUTE)
    expect(evictions.map(([id]) => id)).toContain(busyId)
    expect(busy?.abortController.signal.aborted).toBe(true)
    expect(s.manager.getActiveSessionCount()).toBeLessThanOrEqual(2)
  })
})

describe('claude-mem worker on bounded-session: eviction and re-creation', () => {
  it('re-creates an evicted session from the database when new work arrives', async () => {
    const s = setup()
    const id = s.start('returning')
    s.worker.handleObservation(id, toolUse())
    await s.clock.advance(65 * MINUTE)
    const evicted = s.manager.sessions.peek(id)
    expect(evicted).toBeUndefined()
    expect(s.manager.getActiveSessionCount()).toBe(0)

    s.worker.handleObservation(id, toolUse())
    await settle()
    const again = s.manager.getSession(id)
    if (again === undefined) throw new Error('not re-created')
    expect(again.contentSessionId).toBe('claude-returning')
    expect(again.abortController.signal.aborted).toBe(false)
    expect(s.manager.sessionQueues.has(id)).toBe(true)
    // A fresh history that starts with the instructions again, then the new observation.
    expect(again.conversationHistory.length).toBe(4)
    expect(isInstructionPrompt(again.conversationHistory.at(0) as ConversationMessage)).toBe(true)
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
    const a = s.start('a')
    const b = s.start('b')
    s.worker.handleObservation(a, toolUse())
    s.worker.handleObservation(a, toolUse())
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
  it('every call starts on a user turn, carries the newest instructions and fits the budgets, across provider switches', async () => {
    const maxMessages = 8
    const maxChars = 48_000
    const local = createLocalModel()
    let calls = 0
    // Rate limits: every 7th Claude call and every 5th Gemini call fail, so sessions switch providers.
    const model: Model = (request) => {
      calls++
      if (request.provider === 'claude' && calls % 7 === 0) return Promise.reject(new Error('claude 529: overloaded'))
      if (request.provider === 'gemini' && calls % 5 === 0) return Promise.reject(new Error('gemini 429: quota'))
      return local(request)
    }
    const providersOf = new Map<number, Set<ProviderName>>()
    const newestInstructions = new Map<number, string>()
    const checked = { gemini: 0, openrouter: 0 }
    const s = setup({
      model: (request) => {
        const newest = request.messages.at(-1)
        if (newest !== undefined && newest.text.startsWith(INSTRUCTIONS_TAG)) newestInstructions.set(request.sessionDbId, newest.text)
        let set = providersOf.get(request.sessionDbId)
        if (set === undefined) providersOf.set(request.sessionDbId, (set = new Set()))
        set.add(request.provider)
        if (request.provider !== 'claude') {
          checked[request.provider]++
          const [first] = request.messages
          expect(first?.role).toBe('user')
          expect(request.messages.length).toBeLessThanOrEqual(maxMessages)
          expect(chars(request.messages)).toBeLessThanOrEqual(maxChars)
          // The newest init/continuation prompt is always there; anything before it is older whole turns.
          expect(request.messages.some((m) => m.text === newestInstructions.get(request.sessionDbId))).toBe(true)
        }
        return model(request)
      },
      chooseProvider: (id) => (['claude', 'gemini', 'openrouter'] as const)[id % 3] as ProviderName,
      duplicateClaudeReplies: true,
      manager: { maxMessages, maxChars },
    })
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => s.start(name))
    for (let round = 0; round < 40; round++) {
      for (const id of ids) s.worker.handleObservation(id, toolUse(2_048 + ((round * 7919 + id * 104_729) % 30_720)))
      await settle()
      if (round % 10 === 9) await s.clock.advance(4 * MINUTE) // generators end; the next burst restarts them
      if (round === 20) for (const [i, id] of ids.entries()) s.worker.handleSessionInit(`claude-${'abcdef'[i]}`, 'project', 'next request', 2)
      if (round % 13 === 12) for (const id of ids) s.worker.handleSummarize(id, 'done')
    }
    await settle()
    expect(checked.gemini).toBeGreaterThan(40)
    expect(checked.openrouter).toBeGreaterThan(40)
    expect(s.worker.stats.fallbacks).toBeGreaterThan(10)
    expect([...providersOf.values()].filter((set) => set.size >= 2).length).toBeGreaterThanOrEqual(4)
    expect(s.worker.stats.proseReplies).toBe(0) // the schema was always in view
    expect(s.worker.stats.failedMessages).toBe(0)
    for (const id of ids) {
      const history = s.manager.sessions.peek(id)?.conversationHistory
      expect(history?.length).toBeLessThanOrEqual(maxMessages)
      expect(history?.bytes).toBeLessThanOrEqual(maxChars)
    }
  })

  it('within one generator run, the first message sent is always the init prompt, whatever was trimmed', async () => {
    const sent: ModelRequest[] = []
    const s = setup({
      model: (request) => {
        sent.push(request)
        return createLocalModel()(request)
      },
      chooseProvider: () => 'gemini',
      manager: { maxMessages: 6, maxChars: 45_000 },
    })
    const id = s.start('single-run')
    for (let i = 0; i < 60; i++) s.worker.handleObservation(id, toolUse(1_000 + ((i * 5_333) % 20_000)))
    await settle()
    expect(sent.length).toBe(61)
    for (const request of sent) {
      expect(request.messages[0]?.text.startsWith(`${INSTRUCTIONS_TAG} kind="init"`)).toBe(true)
      expect(request.messages.length).toBeLessThanOrEqual(6)
      expect(chars(request.messages)).toBeLessThanOrEqual(45_000)
    }
    expect(s.manager.sessions.peek(id)?.conversationHistory.evictedCount).toBeGreaterThan(100)
  })

  it('control: trimming the array as the analysis proposed (splice to the newest 50) loses the init prompt, and Gemini rejects it', async () => {
    const abortController = new AbortController()
    const session = (conversationHistory: LegacyActiveSession['conversationHistory'] | RingBufferHistory<ConversationMessage>) => ({
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
    })
    // The analysis's trimConversationHistory(), called after every push as it proposed.
    const trimmed: ConversationMessage[] = []
    const trim = (): void => {
      if (trimmed.length > 50) trimmed.splice(0, trimmed.length - 50)
    }
    const bounded = createConversationHistory({ maxMessages: 50, maxChars: 400_000 })
    const gemini = new GeminiProvider(createLocalModel())
    const openrouter = new OpenRouterProvider(createLocalModel())
    const init: ConversationMessage = { role: 'user', content: buildInitPrompt('p', 'c', 'u') }
    trimmed.push(init)
    bounded.push(init)
    let rejected = 0
    let prose = 0
    for (let i = 0; i < 40; i++) {
      const prompt: ConversationMessage = { role: 'user', content: buildObservationPrompt(toolUse(100), 0) }
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
      expect(isInstructionPrompt(bounded.at(0) as ConversationMessage)).toBe(true)
      const reply: ConversationMessage = { role: 'assistant', content: `<observation><title>${i}</title></observation>` }
      trimmed.push(reply)
      trim()
      bounded.push(reply)
    }
    expect(rejected).toBeGreaterThan(10)
    expect(prose).toBe(rejected)
    expect(bounded.length).toBeLessThanOrEqual(50)
  })

  it('a tool output larger than the whole budget is cut to fit, reported, and never crashes the agent', async () => {
    const s = setup({ chooseProvider: () => 'openrouter', manager: { maxChars: 50_000 } })
    const id = s.start('huge')
    s.worker.handleObservation(id, toolUse(200_000))
    await settle()
    const history = s.manager.sessions.peek(id)?.conversationHistory
    expect(history?.bytes).toBeLessThanOrEqual(50_000)
    expect(isInstructionPrompt(history?.at(0) as ConversationMessage)).toBe(true)
    expect(s.entries.some((e) => e.level === 'warn' && e.message.includes('truncated'))).toBe(true)
    expect(s.worker.stats.observations).toBe(1)
  })

  it('tolerates the same assistant reply pushed twice', () => {
    const { logger } = recordingLogger()
    const history = createConversationHistory({ maxMessages: 4, maxChars: 100_000 })
    appendMessage(history, { role: 'user', content: buildInitPrompt('p', 'c', 'u') }, logger, 1)
    for (let i = 0; i < 10; i++) {
      appendMessage(history, { role: 'user', content: `obs ${i}` }, logger, 1)
      const reply = { role: 'assistant' as const, content: `reply ${i}` }
      appendMessage(history, reply, logger, 1)
      appendMessage(history, reply, logger, 1)
      expect(history.at(0)?.role).toBe('user')
      expect(history.length).toBeLessThanOrEqual(4)
    }
    expect(isInstructionPrompt(history.at(0) as ConversationMessage)).toBe(true)
  })
})

describe('claude-mem worker on bounded-session: settings', () => {
  it('uses the defaults when nothing is set, silently', () => {
    const { logger, entries } = recordingLogger()
    expect(resolveSessionSettings({}, logger)).toEqual({
      idleTtlMs: 60 * MINUTE,
      maxSessions: 100,
      maxMessages: 50,
      maxChars: 400_000,
    })
    expect(entries).toEqual([])
  })

  it('reads string values with parseInt, as the worker does', () => {
    const { logger, entries } = recordingLogger()
    const resolved = resolveSessionSettings(
      {
        CLAUDE_MEM_SESSION_TTL_MINUTES: '15',
        CLAUDE_MEM_MAX_ACTIVE_SESSIONS: ' 20 ',
        CLAUDE_MEM_MAX_CONVERSATION_HISTORY: '30 messages',
        CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS: 200_000, // a hand-edited number
      },
      logger,
    )
    expect(resolved).toEqual({ idleTtlMs: 15 * MINUTE, maxSessions: 20, maxMessages: 30, maxChars: 200_000 })
    expect(entries).toEqual([])
  })

  it.each([
    ['CLAUDE_MEM_SESSION_TTL_MINUTES', 'soon'],
    ['CLAUDE_MEM_SESSION_TTL_MINUTES', '0'],
    ['CLAUDE_MEM_SESSION_TTL_MINUTES', '-5'],
    ['CLAUDE_MEM_MAX_ACTIVE_SESSIONS', '0'],
    ['CLAUDE_MEM_MAX_ACTIVE_SESSIONS', '99999999999999999999'],
    ['CLAUDE_MEM_MAX_CONVERSATION_HISTORY', '1'],
    ['CLAUDE_MEM_MAX_CONVERSATION_HISTORY', 'NaN'],
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
      { CLAUDE_MEM_SESSION_TTL_MINUTES: '10', CLAUDE_MEM_MAX_CONVERSATION_HISTORY: '6', CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS: '50000' },
      logger,
    )
    const s = setup({ manager: resolved, chooseProvider: () => 'gemini' })
    const id = s.start('configured')
    for (let i = 0; i < 20; i++) s.worker.handleObservation(id, toolUse(8_000))
    await settle()
    const history = s.manager.sessions.peek(id)?.conversationHistory
    expect(history?.length).toBeLessThanOrEqual(6)
    expect(history?.bytes).toBeLessThanOrEqual(50_000)
    await s.clock.advance(9 * MINUTE)
    expect(s.manager.sessions.peek(id)).toBeDefined()
    await s.clock.advance(2 * MINUTE)
    expect(s.manager.sessions.peek(id)).toBeUndefined()
  })
})

describe('claude-mem worker on bounded-session: a long run', () => {
  it('thousands of sessions with hundreds of observations each stay within the store, history and heap bounds', async () => {
    const settings = { maxSessions: 64, maxMessages: 40, maxChars: 60_000, idleTtlMs: 60 * MINUTE }
    const events = generateTraffic({
      seed: 4242,
      days: 8,
      sessionsPerDay: 250,
      minObservations: 100,
      maxObservations: 160,
      minObservationChars: 512,
      maxObservationChars: 4_096,
    })
    const sessions = new Set(events.map((e) => e.session)).size
    expect(sessions).toBe(2_000)
    const stack = createStack('bounded', { settings })
    if (stack.design !== 'bounded') throw new Error('unreachable')
    const store = stack.layer.sessions
    const perSession = SESSION_OVERHEAD_BYTES + settings.maxChars
    let pushedChars = 0
    let worstSize = 0
    let violations = 0
    gc()
    const baseline = process.memoryUsage().heapUsed
    const heap: number[] = []
    await replay(stack, events, 9 * DAY, {
      sampleEveryMs: 12 * HOUR,
      onSample() {
        gc()
        heap.push(process.memoryUsage().heapUsed - baseline)
      },
      onEvent(_index, event) {
        if (event.kind === 'observation') pushedChars += event.chars
        // Over maxSessions only while every session held is busy (guarantee 1 of the store).
        if (store.size > settings.maxSessions) {
          let busy = 0
          for (const session of store.values()) if (session.generatorPromise !== null) busy++
          if (store.size > busy) violations++
        }
        if (store.bytes > store.size * perSession) violations++
        worstSize = Math.max(worstSize, store.size)
      },
    })
    expect(violations).toBe(0)
    const stats = store.stats()
    expect(stats.removed.capacity).toBeGreaterThan(0)
    expect(stats.removed.idle).toBeGreaterThan(0)
    expect(stats.peakBytes).toBeLessThanOrEqual(stats.peakSize * perSession)
    // Retained heap: at most every session held at its budget (2 bytes a character at worst) plus
    // a fixed allowance, although hundreds of megabytes went through.
    const heapBound = stats.peakSize * (2 * settings.maxChars + 16 * 1024) + 16 * 1024 * 1024
    expect(pushedChars).toBeGreaterThan(20 * heapBound)
    expect(Math.max(...heap)).toBeLessThan(heapBound)
    expect(stack.worker.stats.proseReplies).toBe(0)
    expect(worstSize).toBeLessThan(2 * settings.maxSessions)
  }, 120_000)
})
