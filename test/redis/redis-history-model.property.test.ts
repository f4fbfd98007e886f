import fc from 'fast-check'
import { expect, test } from 'vitest'
import { RingBufferHistory, type RingBufferHistoryOptions } from '../../src/index.js'
import { RedisHistory, type RedisHistoryCheckpoint } from '../../src/redis/index.js'
import { describeRedis, type Message } from '../helpers/redis-suite.js'

// RedisHistory against the in-memory RingBufferHistory with the same options: after every step
// the same contents, totals, trimmed count and errors.
describeRedis('RedisHistory model', (ctx) => {
  const message = fc.record({
    role: fc.constantFrom<Message['role']>('user', 'assistant'),
    content: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('!pin', '!pin2', 'x'.repeat(60))),
  })
  type Step =
    | { op: 'push'; messages: Message[] }
    | { op: 'window'; maxMessages?: number; maxTokens?: number }
    | { op: 'checkpoint' }
    | { op: 'rollback'; which: number }
    | { op: 'clear' }
    | { op: 'reset'; messages: Message[] }
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 8, arbitrary: fc.record({ op: fc.constant('push' as const), messages: fc.array(message, { minLength: 1, maxLength: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('window' as const), maxMessages: fc.integer({ min: 1, max: 8 }), maxTokens: fc.integer({ min: 1, max: 40 }) }, { requiredKeys: ['op'] }) },
    { weight: 2, arbitrary: fc.constant({ op: 'checkpoint' as const }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('rollback' as const), which: fc.nat(5) }) },
    { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('reset' as const), messages: fc.array(message, { maxLength: 6 }) }) },
  )
  const options = fc.record(
    {
      maxMessages: fc.integer({ min: 1, max: 8 }),
      maxBytes: fc.integer({ min: 150, max: 800 }),
      maxTokens: fc.integer({ min: 5, max: 60 }),
      maxPinned: fc.integer({ min: 0, max: 2 }),
      pinned: fc.boolean(),
      turns: fc.boolean(),
    },
    { requiredKeys: ['maxMessages', 'pinned', 'turns'] },
  )

  const outcome = async (fn: () => unknown): Promise<unknown> => {
    try {
      return { value: await fn() }
    } catch (error) {
      return { code: (error as { code?: unknown }).code }
    }
  }

  test('same contents as RingBufferHistory after every step', async () => {
    await fc.assert(
      fc.asyncProperty(options, fc.array(step, { minLength: 1, maxLength: 25 }), async (o, steps) => {
        const maxPinned = o.maxPinned === undefined ? undefined : Math.min(o.maxPinned, o.maxMessages - 1)
        const shared: RingBufferHistoryOptions<Message> = {
          maxMessages: o.maxMessages,
          ...(o.maxBytes === undefined ? {} : { maxBytes: o.maxBytes }),
          ...(o.maxTokens === undefined ? {} : { maxTokens: o.maxTokens }),
          ...(maxPinned === undefined ? {} : { maxPinned }),
          ...(o.pinned ? { pin: (m: Message) => m.content.startsWith('!') } : {}),
          ...(o.turns ? { startOn: (m: Message) => m.role === 'user' } : {}),
        }
        const memory = new RingBufferHistory<Message>(shared)
        const redis = new RedisHistory<Message>({ client: ctx.client, key: 'model', prefix: ctx.prefix(), ...shared })
        const marks: [ReturnType<typeof memory.checkpoint>, RedisHistoryCheckpoint][] = []
        for (const s of steps) {
          switch (s.op) {
            case 'push':
              expect(await outcome(() => redis.push(...s.messages))).toEqual(await outcome(() => memory.push(...s.messages)))
              break
            case 'window': {
              const budget = { maxMessages: s.maxMessages, maxTokens: s.maxTokens }
              expect(await redis.window(budget)).toEqual(memory.window(budget))
              break
            }
            case 'checkpoint':
              marks.push([memory.checkpoint(), await redis.checkpoint()])
              break
            case 'rollback': {
              const mark = marks[s.which % Math.max(marks.length, 1)]
              if (mark === undefined) break
              expect(await outcome(() => redis.rollback(mark[1]))).toEqual(await outcome(() => memory.rollback(mark[0])))
              break
            }
            case 'clear':
              memory.clear()
              await redis.clear()
              break
            case 'reset':
              // Until RingBufferHistory has reset(): all or nothing, so first try the messages on an empty history.
              expect(await outcome(() => redis.reset(s.messages))).toEqual(
                await outcome(() => {
                  if (s.messages.length > 0) new RingBufferHistory<Message>(shared).push(...s.messages)
                  memory.clear()
                  return s.messages.length > 0 ? memory.push(...s.messages) : 0
                }),
              )
              break
          }
          expect(await redis.toArray()).toEqual(memory.toArray())
          expect(await redis.stats()).toEqual({ length: memory.length, bytes: memory.bytes, tokens: memory.tokens, evictedCount: memory.evictedCount })
        }
      }),
      { numRuns: 60 },
    )
  }, 120_000)
})
