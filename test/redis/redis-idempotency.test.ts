import { expect, test } from 'vitest'
import { RedisHistory } from '../../src/redis/index.js'
import { startRedisProxy } from '../helpers/redis-proxy.js'
import { describeRedis, type Message, user } from '../helpers/redis-suite.js'

// A push resent after a reconnect applies once, however many pushes were in flight and however
// many other writers pushed between; a caller's own retry applies once under its idempotency key.
describeRedis('RedisHistory: a push is applied at most once', (ctx) => {
  async function until(check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; !(await check()); i++) {
      if (i > 2_000) throw new Error('the condition never held')
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  test('40 pushes in flight when the replies are lost, resent by ioredis on reconnect: each stored once', async () => {
    const prefix = ctx.prefix()
    const proxy = await startRedisProxy(ctx.server.port)
    try {
      const client = ctx.server.client({ port: proxy.port })
      await new Promise((resolve) => client.once('ready', resolve))
      const history = new RedisHistory<Message>({ client, key: 'resend', prefix, maxMessages: 1_000 })
      // Another writer, so the session sees other pushes between the first send and the resend.
      const other = new RedisHistory<Message>({ client: ctx.client, key: 'resend', prefix, maxMessages: 1_000 })
      await history.push(user('first'))
      proxy.holdReplies()
      const pushes = Array.from({ length: 40 }, (_, i) => history.push(user(`m${i}`)))
      await until(async () => (await ctx.client.llen(`${prefix}{resend}:m`)) === 41)
      for (let i = 0; i < 40; i++) await other.push(user(`other${i}`))
      proxy.cut()
      await Promise.all(pushes)
      const contents = (await other.toArray()).map((m) => m.content)
      const counts = new Map<string, number>()
      for (const c of contents) counts.set(c, (counts.get(c) ?? 0) + 1)
      expect([...counts.values()].every((n) => n === 1)).toBe(true)
      expect(contents.length).toBe(81)
    } finally {
      await proxy.close()
    }
  }, 30_000)

  test("a caller's retry under the same idempotency key is applied once, even after other pushes", async () => {
    const prefix = ctx.prefix()
    const history = new RedisHistory<Message>({ client: ctx.client, key: 'retry', prefix })
    expect(await history.pushWith({ idempotencyKey: 'turn-1' }, user('a'), user('b'))).toBe(2)
    for (let i = 0; i < 100; i++) await history.push(user(`x${i}`))
    // A second process making the same retry.
    const again = new RedisHistory<Message>({ client: ctx.client, key: 'retry', prefix })
    expect(await again.pushWith({ idempotencyKey: 'turn-1' }, user('a'), user('b'))).toBe(50)
    expect((await again.toArray()).filter((m) => m.content === 'a')).toHaveLength(0)
    expect(await again.pushWith({ idempotencyKey: 'turn-2', pinned: true }, user('c'))).toBe(50)
    expect(await again.snapshot()).toMatchObject({ pinned: [49] })
    await expect(history.pushWith({ idempotencyKey: '' }, user('d'))).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
  })

  test('idempotency records expire with their window, even with idleTtlMs 0', async () => {
    const prefix = ctx.prefix()
    const history = new RedisHistory<Message>({ client: ctx.client, key: 'window', prefix, idleTtlMs: 0, idempotencyWindowMs: 60_000 })
    await history.pushWith({ idempotencyKey: 'k' }, user('a'))
    const ttl = await ctx.client.pttl(`${prefix}{window}:d`)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })
})
