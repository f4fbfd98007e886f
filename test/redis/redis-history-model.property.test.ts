import fc from 'fast-check'
import { assertProperty } from '../helpers/property.js'
import { expect, test } from 'vitest'
import { type HistoryCheckpoint, type MessageLinks, RingBufferHistory, type RingBufferHistoryOptions, truncateContent } from '../../src/index.js'
import { RedisHistory, type RedisHistoryCheckpoint } from '../../src/redis/index.js'
import { describeRedis, type Message } from '../helpers/redis-suite.js'

// RedisHistory against the in-memory RingBufferHistory with the same options: after every step
// the same contents, totals, trimmed count, windows and errors; and snapshots that each side
// restores into the other. This is what checks the Lua twins of the history's rules (trimming in
// src/redis/lua/push-4.lua, the window and its stable cut in read-4.lua, checkpoints in
// includes/checkpoints.lua) against their TypeScript originals in RingBufferHistory.
describeRedis('RedisHistory model', (ctx) => {
  const message = fc.record({
    role: fc.constantFrom<Message['role']>('user', 'assistant'),
    content: fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('!pin', '!pin2', 'x'.repeat(60), 'y'.repeat(300), 'z'.repeat(1_200), 'w'.repeat(2_000)),
      fc.constantFrom('call a', 'call b', 'call a b', 'result a', 'result b', 'result a b', 'think'),
    ),
  })
  // The `group` rule of the model: 'call <ids>' makes calls, 'result <ids>' answers them, 'think'
  // goes with the next message.
  const group = (m: Message): MessageLinks | undefined => {
    const [word, ...ids] = m.content.split(' ')
    if (word === 'call') return { calls: ids }
    if (word === 'result') return { results: ids }
    if (word === 'think') return { withNext: true }
    return undefined
  }
  const messages = (min: number, max: number) => fc.array(message, { minLength: min, maxLength: max })
  type Step =
    | { op: 'push' | 'pushPinned'; messages: Message[] }
    | { op: 'window'; maxMessages?: number; maxTokens?: number; trimTo?: number }
    | { op: 'checkpoint' }
    | { op: 'rollback'; which: number }
    | { op: 'clear' }
    | { op: 'reset'; messages: Message[] }
    | { op: 'snapshot' }
    | { op: 'calibrate'; factor: number; windowed: boolean }
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 8, arbitrary: fc.record({ op: fc.constant('push' as const), messages: messages(1, 3) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('pushPinned' as const), messages: messages(1, 2) }) },
    {
      weight: 3,
      arbitrary: fc.record(
        {
          op: fc.constant('window' as const),
          maxMessages: fc.integer({ min: 1, max: 8 }),
          maxTokens: fc.oneof(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 100, max: 1_500 })),
          trimTo: fc.constantFrom(0, 0.5, 1),
        },
        { requiredKeys: ['op'] },
      ),
    },
    { weight: 2, arbitrary: fc.constant({ op: 'checkpoint' as const }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('rollback' as const), which: fc.nat(5) }) },
    { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('reset' as const), messages: messages(0, 6) }) },
    { weight: 1, arbitrary: fc.constant({ op: 'snapshot' as const }) },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant('calibrate' as const), factor: fc.constantFrom(0, 0.3, 0.7, 1, 1.2, 1.9, 3, 5, 40), windowed: fc.boolean() }),
    },
  )
  const flags = {
    maxPinned: fc.integer({ min: 0, max: 2 }),
    trimTo: fc.constantFrom(0, 0.3, 0.5, 0.75, 1),
    pinned: fc.boolean(),
    turns: fc.boolean(),
    shrink: fc.boolean(),
    groups: fc.boolean(),
    overheadTokens: fc.constantFrom(0, 60),
  }
  const required = { requiredKeys: ['maxMessages', 'pinned', 'turns', 'shrink', 'groups'] as ('maxMessages' | 'pinned' | 'turns' | 'shrink' | 'groups')[] }
  const options = fc.oneof(
    fc.record({ maxMessages: fc.integer({ min: 1, max: 8 }), maxBytes: fc.integer({ min: 150, max: 900 }), maxTokens: fc.integer({ min: 5, max: 90 }), ...flags }, required),
    // Budgets large enough for calibrate() to see requests of 256 tokens and more.
    fc.record(
      { maxMessages: fc.integer({ min: 4, max: 8 }), maxBytes: fc.constant(undefined), maxTokens: fc.integer({ min: 300, max: 1_500 }), ...flags },
      { requiredKeys: [...required.requiredKeys, 'maxTokens'] },
    ),
  )

  const outcome = async (fn: () => unknown): Promise<unknown> => {
    try {
      return { value: await fn() }
    } catch (error) {
      return { code: (error as { code?: unknown }).code }
    }
  }

  test('same contents as RingBufferHistory after every step', async () => {
    await assertProperty(
      fc.asyncProperty(options, fc.array(step, { minLength: 1, maxLength: 25 }), async (o, steps) => {
        const maxPinned = o.maxPinned === undefined ? undefined : Math.min(o.maxPinned, o.maxMessages - 1)
        const shared: RingBufferHistoryOptions<Message> = {
          maxMessages: o.maxMessages,
          ...(o.maxBytes === undefined ? {} : { maxBytes: o.maxBytes }),
          ...(o.maxTokens === undefined ? {} : { maxTokens: o.maxTokens }),
          ...(maxPinned === undefined ? {} : { maxPinned }),
          ...(o.trimTo === undefined ? {} : { trimTo: o.trimTo }),
          ...(o.pinned ? { pin: (m: Message) => m.content.startsWith('!') } : {}),
          ...(o.turns ? { startOn: (m: Message) => m.role === 'user' } : {}),
          ...(o.shrink ? { shrink: truncateContent } : {}),
          ...(o.groups ? { group } : {}),
          ...(o.overheadTokens === undefined ? {} : { overheadTokens: o.overheadTokens }),
        }
        const memory = new RingBufferHistory<Message>(shared)
        const prefix = ctx.prefix()
        const redis = new RedisHistory<Message>({ client: ctx.client, key: 'model', prefix, ...shared })
        const marks: [HistoryCheckpoint, RedisHistoryCheckpoint][] = []
        for (const s of steps) {
          switch (s.op) {
            case 'push':
            case 'pushPinned':
              expect(await outcome(() => redis[s.op](...s.messages))).toEqual(await outcome(() => memory[s.op](...s.messages)))
              break
            case 'window': {
              const { op: _, ...budget } = s
              expect(await redis.window(budget)).toEqual(memory.window(budget))
              break
            }
            case 'checkpoint':
              marks.push([memory.checkpoint(), await redis.checkpoint()])
              break
            case 'rollback': {
              const index = s.which % Math.max(marks.length, 1)
              const mark = marks[index]
              if (mark === undefined) break
              expect(await outcome(() => redis.rollback(mark[1]))).toEqual(await outcome(() => memory.rollback(mark[0])))
              break
            }
            case 'clear':
              memory.clear()
              await redis.clear()
              break
            case 'reset':
              expect(await outcome(() => redis.reset(s.messages))).toEqual(await outcome(() => memory.reset(s.messages)))
              break
            case 'calibrate': {
              // After a large message (a request of 256 tokens and more), the whole history or a
              // window (found by identity in memory, measured again in Redis).
              const large: Message = { role: 'user', content: 'v'.repeat(1_600) }
              expect(await outcome(() => redis.push(large))).toEqual(await outcome(() => memory.push(large)))
              const budget = { maxMessages: 4 }
              const sentToRedis = s.windowed ? await redis.window(budget) : undefined
              const sentFromMemory = s.windowed ? memory.window(budget) : undefined
              // A count near the estimate of what was sent, plus the overhead.
              const estimate = (sentFromMemory ?? memory.toArray()).reduce((sum, m) => sum + Math.ceil(m.content.length / 4), 0)
              const reported = Math.round(estimate * s.factor) + (o.overheadTokens ?? 0)
              const memoryOutcome = await outcome(() => memory.calibrate(reported, sentFromMemory))
              expect(await outcome(() => redis.calibrate(reported, sentToRedis))).toEqual(memoryOutcome)
              expect(await redis.tokenCorrection()).toBe(memory.tokenCorrection)
              break
            }
            case 'snapshot': {
              // Both ways, through JSON: Redis → memory, and memory → a second Redis key.
              const fromRedis = JSON.parse(JSON.stringify(await redis.snapshot()))
              expect(fromRedis).toEqual(memory.snapshot())
              // With group, a held result whose call was trimmed (the newest message is always
              // kept) makes a snapshot neither side restores (ERR_ORPHAN_RESULT on both); with a
              // correction, restore() trims (or shrinks) by it, where calibrate() trimmed nothing.
              const restoredInMemory = await outcome(() => RingBufferHistory.restore<Message>(fromRedis, shared).toArray())
              if (!o.groups && fromRedis.calibration === undefined) expect(restoredInMemory).toEqual({ value: memory.toArray() })
              const other = new RedisHistory<Message>({ client: ctx.client, key: 'restored', prefix, ...shared })
              const restored = await outcome(async () => {
                await other.restore(JSON.parse(JSON.stringify(memory.snapshot())))
                return other.snapshot()
              })
              expect(restored).toEqual(await outcome(() => RingBufferHistory.restore<Message>(memory.snapshot(), shared).snapshot()))
              break
            }
          }
          expect(await redis.toArray()).toEqual(memory.toArray())
          expect(await redis.stats()).toEqual({ length: memory.length, bytes: memory.bytes, tokens: memory.tokens, evictedCount: memory.evictedCount })
        }
      }),
      { numRuns: 60 },
    )
  }, 120_000)

  test('a snapshot restored under tighter options is trimmed as pushes would, on both sides', async () => {
    await assertProperty(
      fc.asyncProperty(messages(0, 12), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 100, max: 600 }), async (list, maxMessages, maxBytes) => {
        const loose = new RingBufferHistory<Message>({ maxMessages: 20, pin: (m) => m.content.startsWith('!') })
        for (const m of list) loose.push(m)
        const tight = { maxMessages, maxBytes, pin: (m: Message) => m.content.startsWith('!'), shrink: truncateContent }
        const snapshot = loose.snapshot()
        const memory = await outcome(() => RingBufferHistory.restore<Message>(snapshot, tight).snapshot())
        const redis = new RedisHistory<Message>({ client: ctx.client, key: 'tight', prefix: ctx.prefix(), ...tight })
        const restored = await outcome(async () => {
          await redis.restore(snapshot)
          return redis.snapshot()
        })
        expect(restored).toEqual(memory)
      }),
      { numRuns: 40 },
    )
  }, 60_000)
})
