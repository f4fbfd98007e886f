import { Redis as Valkey } from 'iovalkey'
import { createClient, createCluster } from 'redis'
import { expect, test } from 'vitest'
import { fromNodeRedis, type RedisClient, RedisHistory, RedisSessionRegistry } from '../../src/redis/index.js'
import { startRedis } from '../helpers/redis-server.js'
import { describeRedis, type Message, user } from '../helpers/redis-suite.js'

// The same history and registry through each supported client: ioredis (the other test files),
// node-redis through fromNodeRedis, and iovalkey as it is.
describeRedis('Redis clients', (ctx) => {
  async function exercise(client: RedisClient) {
    const prefix = ctx.prefix()
    const history = new RedisHistory<Message>({ client, key: 'c', prefix, maxMessages: 3, pin: (m) => m.content === 'rules' })
    await history.push(user('rules'), user('a'), user('b'), user('c'))
    expect(await history.toArray()).toEqual([user('rules'), user('b'), user('c')])
    expect(await history.window({ maxMessages: 2 })).toEqual([user('rules'), user('c')])
    expect(await history.stats()).toMatchObject({ length: 3, evictedCount: 1 })
    await ctx.client.script('FLUSH')
    expect(await history.length()).toBe(3)
    const registry = new RedisSessionRegistry({ client, prefix, pollIntervalMs: 0, maxSessions: 1 })
    const heard: string[] = []
    registry.on('depart', (id) => heard.push(id))
    const lease = await registry.acquire('c')
    expect(lease).not.toBeNull()
    await lease?.release()
    await registry.acquire('d')
    await registry.poll()
    expect(heard).toEqual(['c'])
    expect(await history.toArray()).toEqual([])
    await registry.close()
  }

  test('node-redis through fromNodeRedis', async () => {
    const redis = await createClient({ url: ctx.server.url }).connect()
    try {
      await exercise(fromNodeRedis(redis))
    } finally {
      redis.destroy()
    }
  })

  test('iovalkey as it is', async () => {
    const valkey = new Valkey({ port: ctx.server.port, host: '127.0.0.1' })
    try {
      await exercise(valkey)
    } finally {
      valkey.disconnect()
    }
  })

  test('a server that is gone: a coded error with the client error as cause', async () => {
    const other = await startRedis()
    const client = other.client({ maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
    await new Promise((resolve) => client.once('ready', resolve))
    const history = new RedisHistory<Message>({ client, key: 'x' })
    await history.push(user('a'))
    await other.kill()
    const error = await history.push(user('b')).catch((e: unknown) => e)
    await other.stop()
    expect(error).toMatchObject({ code: 'ERR_REDIS_COMMAND', command: 'EVALSHA' })
    expect((error as Error).cause).toBeInstanceOf(Error)
  })

  test('a node-redis cluster client is refused at construction, with a coded error that says what works', () => {
    const cluster = createCluster({ rootNodes: [{ url: ctx.server.url }] })
    expect(() => fromNodeRedis(cluster as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'client', message: expect.stringContaining('ioredis or iovalkey `Cluster`') }),
    )
    expect(() => fromNodeRedis({} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
  })
})
