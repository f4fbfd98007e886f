import { expect, test } from 'vitest'
import { RingBufferHistory, truncateContent } from '../../src/index.js'
import { RedisHistory, type RedisHistoryOptions } from '../../src/redis/index.js'
import { assistant, describeRedis, type Message, user } from '../helpers/redis-suite.js'

describeRedis('RedisHistory', (ctx) => {
  const make = (options: Partial<RedisHistoryOptions<Message>> = {}) =>
    new RedisHistory<Message>({ client: ctx.client, key: 'session', prefix: ctx.prefix(), ...options })

  test('push appends and trims the oldest message past maxMessages, as in memory', async () => {
    const history = make({ maxMessages: 3 })
    for (let i = 0; i < 5; i++) expect(await history.push(user(`m${i}`))).toBe(Math.min(i + 1, 3))
    expect((await history.toArray()).map((m) => m.content)).toEqual(['m2', 'm3', 'm4'])
    expect(await history.stats()).toMatchObject({ length: 3, evictedCount: 2 })
  })

  test('a pinned message and whole turns survive trimming, as in memory', async () => {
    const options = { maxMessages: 4, pin: (m: Message) => m.content.startsWith('!'), startOn: (m: Message) => m.role === 'user' }
    const history = make(options)
    const memory = new RingBufferHistory<Message>(options)
    const messages = [user('!rules'), user('q1'), assistant('a1'), assistant('a1b'), user('q2'), assistant('a2'), user('q3')]
    for (const m of messages) {
      memory.push(m)
      await history.push(m)
      expect(await history.toArray()).toEqual(memory.toArray())
    }
    expect((await history.toArray())[0]).toEqual(user('!rules'))
  })

  test('a multi-message push is one step: all messages or none', async () => {
    const history = make({ maxTokens: 10 })
    await history.push(user('abcd'))
    await expect(history.push(user('ab'), user('x'.repeat(80)))).rejects.toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE', budget: 'tokens', limit: 10 })
    expect(await history.toArray()).toEqual([user('abcd')])
  })

  test('window() chooses what RingBufferHistory.window chooses', async () => {
    const options = { maxMessages: 100, pin: (m: Message) => m.content === 'rules', startOn: (m: Message) => m.role === 'user' }
    const history = make(options)
    const memory = new RingBufferHistory<Message>(options)
    const messages = [user('rules')]
    for (let i = 0; i < 60; i++) messages.push(i % 3 === 0 ? user(`q${i}`) : assistant(`a${i}`.repeat(i % 5)))
    await history.push(...messages)
    for (const m of messages) memory.push(m)
    for (const budget of [{ maxMessages: 20 }, { maxMessages: 5 }, { maxTokens: 30 }, { maxBytes: 700, maxMessages: 9 }, {}]) {
      expect(await history.window(budget)).toEqual(memory.window(budget))
    }
  })

  test('a checkpoint made by one process is rolled back to by another', async () => {
    const prefix = ctx.prefix()
    const first = new RedisHistory<Message>({ client: ctx.client, key: 'shared', prefix })
    const second = new RedisHistory<Message>({ client: ctx.server.client(), key: 'shared', prefix })
    await first.push(user('kept'))
    const mark = JSON.parse(JSON.stringify(await first.checkpoint()))
    await first.push(user('prompt'), assistant('partial'))
    expect(await second.rollback(mark)).toBe(2)
    expect(await first.toArray()).toEqual([user('kept')])
    // A rollback to a point before a checkpoint withdraws it.
    await first.push(user('again'))
    const later = await first.checkpoint()
    await second.rollback(mark)
    await expect(first.rollback(later)).rejects.toMatchObject({ code: 'ERR_INVALID_CHECKPOINT' })
    await expect(first.rollback({ ...mark, key: 'other' })).rejects.toMatchObject({ code: 'ERR_INVALID_CHECKPOINT' })
  })

  test('every push and read sets the idle expiry of all the session keys again', async () => {
    const prefix = ctx.prefix()
    const history = new RedisHistory<Message>({ client: ctx.client, key: 's', prefix, idleTtlMs: 60_000 })
    await history.push(user('a'))
    for (const suffix of ['m', 'i', 's']) {
      const ttl = await ctx.client.pttl(`${prefix}{s}:${suffix}`)
      expect(ttl).toBeGreaterThan(50_000)
      expect(ttl).toBeLessThanOrEqual(60_000)
    }
    await ctx.client.pexpire(`${prefix}{s}:m`, 1_000)
    await history.toArray()
    expect(await ctx.client.pttl(`${prefix}{s}:m`)).toBeGreaterThan(50_000)
    const forever = new RedisHistory<Message>({ client: ctx.client, key: 's', prefix, idleTtlMs: 0 })
    await forever.push(user('b'))
    expect(await ctx.client.pttl(`${prefix}{s}:m`)).toBe(-1)
  })

  test('every key of a session carries the hash tag {key}', async () => {
    const prefix = ctx.prefix()
    await new RedisHistory<Message>({ client: ctx.client, key: 'tagged', prefix }).push(user('a'))
    const keys = await ctx.client.keys(`${prefix}*`)
    // messages, info, state, and the record of applied pushes.
    expect(keys.length).toBe(4)
    const slots = await Promise.all(keys.map((k) => ctx.client.call('CLUSTER', 'KEYSLOT', k).catch(() => k.match(/\{(.*)\}/)?.[1])))
    expect(new Set(slots).size).toBe(1)
    for (const k of keys) expect(k).toContain('{tagged}')
  })

  test('a pluggable serializer stores and reads its own format', async () => {
    const serializer = {
      serialize: (m: Message) => `${m.role}|${m.content}`,
      deserialize: (s: string): Message => {
        const [role, content] = s.split('|') as [Message['role'], string]
        return { role, content }
      },
    }
    const prefix = ctx.prefix()
    const history = new RedisHistory<Message>({ client: ctx.client, key: 'k', prefix, serializer })
    await history.push(user('hi'))
    expect(await ctx.client.lrange(`${prefix}{k}:m`, 0, -1)).toEqual(['user|hi'])
    expect(await history.toArray()).toEqual([user('hi')])
  })

  test('a script flushed from the server is loaded again without the caller noticing', async () => {
    const history = make()
    await history.push(user('a'))
    await ctx.client.script('FLUSH')
    await history.push(user('b'))
    await ctx.client.script('FLUSH')
    expect(await history.toArray()).toEqual([user('a'), user('b')])
  })

  test('snapshots move a session between memory and Redis both ways', async () => {
    const options = { maxMessages: 6, pin: (m: Message) => m.content === 'rules' }
    const memory = new RingBufferHistory<Message>(options)
    for (const m of [user('rules'), user('q'), assistant('a'), user('q2'), assistant('a2')]) memory.push(m)
    const history = make(options)
    await history.restore({ version: 1, messages: memory.toArray(), pinned: [0], evictedCount: 3 })
    expect(await history.toArray()).toEqual(memory.toArray())
    const snapshot = await history.snapshot()
    expect(snapshot).toEqual({ version: 1, messages: memory.toArray(), pinned: [0], evictedCount: 3 })
    // The restored pin still protects: push past the capacity and 'rules' stays.
    await history.push(user('x'), user('y'), user('z'))
    expect((await history.toArray())[0]).toEqual(user('rules'))
  })

  test('bad input: options, a budget, a checkpoint and a snapshot get coded errors', async () => {
    expect(() => make({ maxMessages: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'maxMessages' }))
    expect(() => make({ key: 'a{b}' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'key' }))
    expect(() => make({ maxPinned: 5, maxMessages: 5 })).toThrow(expect.objectContaining({ field: 'maxPinned' }))
    expect(() => make({ trimTo: 2 })).toThrow(expect.objectContaining({ field: 'trimTo' }))
    expect(() => make({ typo: 1 } as never)).toThrow(expect.objectContaining({ field: 'typo' }))
    const history = make()
    await expect(history.window({ maxMessages: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTIONS', field: 'maxMessages' })
    await expect(history.rollback({} as never)).rejects.toMatchObject({ code: 'ERR_INVALID_CHECKPOINT' })
    await expect(history.restore({ version: 2 } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_SNAPSHOT', field: 'version' })
    const measured = make({ sizeOf: () => Number.NaN })
    await expect(measured.push(user('a'))).rejects.toMatchObject({ code: 'ERR_INVALID_MEASUREMENT', measure: 'sizeOf' })
  })

  test('a message shrink returned keeps the flags of the message as pushed (pin and startOn are not run again)', async () => {
    // pin and startOn look at the content's length, which shrink changes: the long message is
    // neither pinned nor a turn's start as pushed, and stays so once shrunk.
    const short = (m: Message) => m.content.length < 100
    const options = { maxMessages: 4, maxBytes: 200, pin: short, startOn: short, shrink: truncateContent }
    const memory = new RingBufferHistory<Message>(options)
    const redis = new RedisHistory<Message>({ client: ctx.client, key: 'shrunk', prefix: ctx.prefix(), ...options })
    const steps = [[assistant('a')], [user('x'.repeat(5_000))], [assistant('b'), assistant('c'), assistant('d'), assistant('e')]]
    for (const step of steps) {
      memory.push(...step)
      await redis.push(...step)
      expect(await redis.snapshot()).toEqual(memory.snapshot())
    }
  })
})
