import { expect, test } from 'vitest'
import { RedisHistory, RedisSessionRegistry, type RedisSessionRegistryOptions } from '../../src/redis/index.js'
import { describeRedis, type Message, user } from '../helpers/redis-suite.js'

// Leases, fences and tombstones when renewals fail, keys would expire, or the server refuses writes.
describeRedis('RedisSessionRegistry: fences, renewals and tombstones under faults', (ctx) => {
  const registry = (prefix: string, options: Partial<RedisSessionRegistryOptions> = {}) =>
    new RedisSessionRegistry({ client: ctx.server.client(), prefix, pollIntervalMs: 0, ...options })
  const leaseEntry = (prefix: string, id: string) => ctx.client.hget(`${prefix}{${prefix}registry:default}:lease:`, id)
  async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    for (let i = 0; ; i++) {
      const value = await read()
      if (done(value)) return value
      if (i > 4_000) throw new Error('the condition never held')
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  test("a fence outlives the lease it guards, whatever the history's idleTtlMs", async () => {
    const prefix = ctx.prefix()
    const fleet = registry(prefix)
    const first = await fleet.acquire('f', { ttlMs: 60_000 })
    if (first === null) throw new Error('not acquired')
    // The old holder's last write sets a short expiry…
    await new RedisHistory<Message>({ client: ctx.client, key: 'f', prefix, idleTtlMs: 100, fence: first }).push(user('old'))
    await first.release()
    const second = await fleet.acquire('f', { ttlMs: 60_000 })
    if (second === null) throw new Error('not acquired')
    // …and the new holder's fence keeps the keys for its lease, even after its own short-ttl write.
    expect(await ctx.client.pttl(`${prefix}{f}:s`)).toBeGreaterThan(60_000)
    await new RedisHistory<Message>({ client: ctx.client, key: 'f', prefix, idleTtlMs: 100, fence: second }).push(user('new'))
    for (const part of ['m', 'i', 's']) expect(await ctx.client.pttl(`${prefix}{f}:${part}`)).toBeGreaterThan(60_000)
    await expect(new RedisHistory<Message>({ client: ctx.client, key: 'f', prefix, fence: first }).push(user('late'))).rejects.toMatchObject({
      code: 'ERR_FENCED',
    })
    await fleet.close()
  })

  test('each renewal extends the fence', { timeout: 20_000 }, async () => {
    const prefix = ctx.prefix()
    const fleet = registry(prefix)
    const lease = await fleet.acquire('r', { ttlMs: 600 })
    if (lease === null) throw new Error('not acquired')
    await new RedisHistory<Message>({ client: ctx.client, key: 'r', prefix, idleTtlMs: 50, fence: lease }).push(user('a'))
    const firstEntry = await leaseEntry(prefix, 'r')
    // Two renewals later the keys are still there, though their own idle ttl passed long ago.
    const renewed = await until(
      () => leaseEntry(prefix, 'r'),
      (v) => v !== firstEntry,
    )
    await until(
      () => leaseEntry(prefix, 'r'),
      (v) => v !== renewed,
    )
    expect(lease.held).toBe(true)
    expect(await ctx.client.hget(`${prefix}{r}:s`, 'fence')).toBe(String(lease.token))
    await expect(new RedisHistory<Message>({ client: ctx.client, key: 'r', prefix, fence: { token: lease.token - 1 } }).push(user('stale'))).rejects.toMatchObject({
      code: 'ERR_FENCED',
    })
    await fleet.close()
  })

  test('renewals refused by the server (out of memory): retried with backoff, the lease reported lost at its deadline', { timeout: 20_000 }, async () => {
    const prefix = ctx.prefix()
    const fleet = registry(prefix)
    const errors: unknown[] = []
    fleet.on('error', (e) => errors.push(e))
    const lease = await fleet.acquire('oom', { ttlMs: 600 })
    if (lease === null) throw new Error('not acquired')
    const lost = new Promise((resolve) => fleet.once('lost', resolve))
    await ctx.client.config('SET', 'maxmemory', '1')
    try {
      await lost
    } finally {
      await ctx.client.config('SET', 'maxmemory', '0')
    }
    expect(lease.held).toBe(false)
    expect(errors.length).toBeGreaterThan(0)
    // Backoff from 25 ms within a 400 ms window: a handful of tries, not a busy loop.
    expect(errors.length).toBeLessThan(20)
    await fleet.close()
  })

  test('one failed renewal is retried before the lease expires, not at the next lease due', { timeout: 20_000 }, async () => {
    const prefix = ctx.prefix()
    const fleet = registry(prefix)
    const other = registry(prefix)
    const errors: unknown[] = []
    const failed = new Promise<void>((resolve) =>
      fleet.on('error', (e) => {
        errors.push(e)
        resolve()
      }),
    )
    const short = await fleet.acquire('short', { ttlMs: 1_500 })
    await fleet.acquire('long', { ttlMs: 60_000 })
    if (short === null) throw new Error('not acquired')
    const before = await leaseEntry(prefix, 'short')
    await ctx.client.config('SET', 'maxmemory', '1')
    try {
      await failed
    } finally {
      await ctx.client.config('SET', 'maxmemory', '0')
    }
    await until(
      () => leaseEntry(prefix, 'short'),
      (v) => v !== before,
    )
    expect(short.held).toBe(true)
    expect(await other.acquire('short')).toBeNull()
    await Promise.all([fleet.close(), other.close()])
  })

  test('tombstones expire even with idleTtlMs 0, and a read does not make one permanent', async () => {
    const prefix = ctx.prefix()
    const fleet = registry(prefix, { idleTtlMs: 0, maxSessions: 2 })
    for (let i = 0; i < 10; i++) await (await fleet.acquire(`s${i}`))?.release()
    await new RedisHistory<Message>({ client: ctx.client, key: 's0', prefix, idleTtlMs: 0 }).toArray()
    const keys = (await ctx.client.keys(`${prefix}{s*`)).sort()
    expect(keys.length).toBeGreaterThan(0)
    for (const key of keys) expect(await ctx.client.pttl(key), key).toBeGreaterThan(0)
    await fleet.close()
  })

  test('a corrupt token counter fails an evicting acquire before it writes anything', async () => {
    const prefix = ctx.prefix()
    const fleet = registry(prefix, { maxSessions: 1 })
    await (await fleet.acquire('victim'))?.release()
    await new RedisHistory<Message>({ client: ctx.client, key: 'victim', prefix }).push(user('kept'))
    await ctx.client.set(`${prefix}{${prefix}registry:default}:token`, 'garbage')
    await expect(fleet.acquire('newcomer')).rejects.toMatchObject({ code: 'ERR_REDIS_DATA' })
    expect(await fleet.size()).toBe(1)
    expect(await ctx.client.xlen(`${prefix}{${prefix}registry:default}:departures`)).toBe(0)
    expect(await new RedisHistory<Message>({ client: ctx.client, key: 'victim', prefix }).toArray()).toEqual([user('kept')])
    await fleet.close()
  })

  test('a reader under a lost lease gets its window but does not move the shared stable cut', async () => {
    const prefix = ctx.prefix()
    const fleet = registry(prefix)
    const old = await fleet.acquire('w', { ttlMs: 60_000 })
    if (old === null) throw new Error('not acquired')
    const oldHistory = new RedisHistory<Message>({ client: ctx.client, key: 'w', prefix, fence: old })
    for (let i = 0; i < 6; i++) await oldHistory.push(user(`m${i}`))
    await old.release()
    const current = await fleet.acquire('w', { ttlMs: 60_000 })
    if (current === null) throw new Error('not acquired')
    const history = new RedisHistory<Message>({ client: ctx.client, key: 'w', prefix, fence: current })
    const budget = { maxMessages: 4, trimTo: 0.5 }
    const window = await history.window(budget)
    const cut = await ctx.client.hget(`${prefix}{w}:s`, 'cut')
    await history.push(user('m6'), user('m7'), user('m8'))
    // The stale reader would have to move the cut (its window no longer fits from it): it reads a
    // window within the budget, and the cut stays for the holder.
    const stale = await oldHistory.window(budget)
    expect(stale.length).toBeLessThanOrEqual(4)
    expect(await ctx.client.hget(`${prefix}{w}:s`, 'cut')).toBe(cut)
    expect(window.length).toBeLessThanOrEqual(4)
    await fleet.close()
  })
})
