import { expect, test } from 'vitest'
import { RedisHistory } from '../../src/redis/index.js'
import { describeRedis, type Message, user } from '../helpers/redis-suite.js'

// What a session's keys hold when something else wrote them: coded errors, and nothing changed.
describeRedis('RedisHistory with bad stored data', (ctx) => {
  async function dump(prefix: string): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {}
    for (const key of (await ctx.client.keys(`${prefix}*`)).sort()) {
      const type = await ctx.client.type(key)
      out[key] =
        type === 'list'
          ? await ctx.client.lrange(key, 0, -1)
          : type === 'hash'
            ? await ctx.client.hgetall(key)
            : type === 'zset'
              ? await ctx.client.zrange(key, '0', '-1')
              : await ctx.client.get(key)
    }
    return out
  }

  async function seeded() {
    const prefix = ctx.prefix()
    const history = new RedisHistory<Message>({ client: ctx.client, key: 'k', prefix, maxBytes: 1_000 })
    await history.push(user('one'), user('two'))
    return { prefix, history }
  }

  test('a key holding another Redis type', async () => {
    const { prefix, history } = await seeded()
    await ctx.client.del(`${prefix}{k}:i`)
    await ctx.client.set(`${prefix}{k}:i`, 'not a list')
    const before = await dump(prefix)
    await expect(history.push(user('three'))).rejects.toMatchObject({ code: 'ERR_REDIS_DATA', message: expect.stringContaining('holds a string') })
    await expect(history.toArray()).rejects.toMatchObject({ code: 'ERR_REDIS_DATA' })
    expect(await dump(prefix)).toEqual(before)
  })

  test('a malformed info entry or state field', async () => {
    const { prefix, history } = await seeded()
    await ctx.client.lset(`${prefix}{k}:i`, 0, 'garbage')
    const before = await dump(prefix)
    await expect(history.push(user('x'.repeat(400)))).rejects.toMatchObject({ code: 'ERR_REDIS_DATA', message: expect.stringContaining('garbage') })
    expect(await dump(prefix)).toEqual(before)

    const other = await seeded()
    await ctx.client.hset(`${other.prefix}{k}:s`, 'b', '-5')
    const before2 = await dump(other.prefix)
    await expect(other.history.push(user('three'))).rejects.toMatchObject({ code: 'ERR_REDIS_DATA', message: expect.stringContaining('bytes') })
    expect(await dump(other.prefix)).toEqual(before2)
  })

  test('lists of different lengths, or a missing state hash', async () => {
    const { prefix, history } = await seeded()
    await ctx.client.rpush(`${prefix}{k}:m`, 'stray')
    await expect(history.push(user('three'))).rejects.toMatchObject({ code: 'ERR_REDIS_DATA', message: expect.stringContaining('differ in length') })
    const other = await seeded()
    await ctx.client.del(`${other.prefix}{k}:s`)
    await expect(other.history.stats()).rejects.toMatchObject({ code: 'ERR_REDIS_DATA', message: expect.stringContaining('missing') })
  })

  test('a stored message that does not parse', async () => {
    const { prefix, history } = await seeded()
    await ctx.client.lset(`${prefix}{k}:m`, 1, '{not json')
    await expect(history.toArray()).rejects.toMatchObject({ code: 'ERR_REDIS_DATA', message: expect.stringContaining('does not parse') })
  })

  test('an oversized message', async () => {
    const { prefix, history } = await seeded()
    const before = await dump(prefix)
    await expect(history.push(user('x'.repeat(2_000)))).rejects.toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE', budget: 'bytes', limit: 1_000 })
    expect(await dump(prefix)).toEqual(before)
  })
})
