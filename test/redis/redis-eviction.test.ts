import { expect, test } from 'vitest'
import { RedisHistory, RedisSessionRegistry } from '../../src/redis/index.js'
import { describeRedis, type Message, user } from '../helpers/redis-suite.js'

// What the subpath does when the server may evict keys: it refuses an allkeys-* policy at start,
// and a history with a part missing (evicted under a volatile-* policy) reports it by name, while
// clear() and reset() start it again.
describeRedis('bounded-session/redis and evicted keys', (ctx) => {
  test('an allkeys-* maxmemory-policy is refused at the first call, unless allowed', async () => {
    await ctx.client.config('SET', 'maxmemory-policy', 'allkeys-lru')
    try {
      const prefix = ctx.prefix()
      const history = new RedisHistory<Message>({ client: ctx.server.client(), key: 'p', prefix })
      await expect(history.push(user('a'))).rejects.toMatchObject({ code: 'ERR_REDIS_CONFIG', setting: 'maxmemory-policy', value: 'allkeys-lru' })
      const registry = new RedisSessionRegistry({ client: ctx.server.client(), prefix, pollIntervalMs: 0 })
      await expect(registry.acquire('p')).rejects.toMatchObject({ code: 'ERR_REDIS_CONFIG' })
      await registry.close()
      const allowed = new RedisHistory<Message>({ client: ctx.server.client(), key: 'p', prefix, allowAllKeysEviction: true })
      expect(await allowed.push(user('a'))).toBe(1)
      // volatile-* and noeviction pass.
      await ctx.client.config('SET', 'maxmemory-policy', 'volatile-lru')
      expect(await new RedisHistory<Message>({ client: ctx.server.client(), key: 'p', prefix }).push(user('b'))).toBe(2)
    } finally {
      await ctx.client.config('SET', 'maxmemory-policy', 'noeviction')
    }
  })

  for (const [part, name] of [
    ['m', 'messages'],
    ['i', 'info'],
    ['s', 'state'],
  ] as const) {
    test(`a missing ${name} key: every read and push names it; clear() and reset() start again`, async () => {
      const prefix = ctx.prefix()
      const history = new RedisHistory<Message>({ client: ctx.client, key: 'e', prefix, maxMessages: 5 })
      await history.push(user('a'), user('b'))
      const checkpoint = await history.checkpoint()
      await ctx.client.del(`${prefix}{e}:${part}`)
      const missing = { code: 'ERR_REDIS_DATA', message: expect.stringContaining(`\`${prefix}{e}:${part}\` is missing`) }
      await expect(history.push(user('c'))).rejects.toMatchObject(missing)
      await expect(history.toArray()).rejects.toMatchObject(missing)
      await expect(history.window({ maxMessages: 1 })).rejects.toMatchObject(missing)
      await expect(history.rollback(checkpoint)).rejects.toMatchObject(missing)
      await history.clear()
      expect(await history.toArray()).toEqual([])
      await history.push(user('d'))
      await ctx.client.del(`${prefix}{e}:${part}`)
      expect(await history.reset([user('x'), user('y')])).toBe(2)
      expect(await history.toArray()).toEqual([user('x'), user('y')])
      expect(await history.stats()).toMatchObject({ length: 2, bytes: expect.any(Number) })
    })
  }

  test('a lost token counter: a fresh lease gets a token above the one the session saw, and is not refused', async () => {
    const prefix = ctx.prefix()
    const registry = new RedisSessionRegistry({ client: ctx.server.client(), prefix, pollIntervalMs: 0 })
    for (let i = 0; i < 5; i++) await (await registry.acquire('t'))?.release()
    const before = await registry.acquire('t')
    if (before === null) throw new Error('not acquired')
    await before.release()
    await ctx.client.del(`${prefix}{${prefix}registry:default}:token`)
    const lease = await registry.acquire('t')
    if (lease === null) throw new Error('not acquired')
    expect(lease.token).toBeGreaterThan(before.token)
    const history = new RedisHistory<Message>({ client: ctx.client, key: 't', prefix, fence: lease })
    expect(await history.push(user('accepted'))).toBe(1)
    await registry.close()
  })
})
