import { expect, test } from 'vitest'
import { RedisHistory, RedisSessionRegistry, type RedisSessionRegistryOptions, type RegistryDepartureReason } from '../../src/redis/index.js'
import { describeRedis, type Message, user } from '../helpers/redis-suite.js'

describeRedis('RedisSessionRegistry', (ctx) => {
  // Registries with an injected clock and no timer: poll() is called by the test.
  function fleet(options: Partial<RedisSessionRegistryOptions> = {}) {
    const clock = { t: 1_000_000 }
    const prefix = ctx.prefix()
    const make = (extra: Partial<RedisSessionRegistryOptions> = {}) =>
      new RedisSessionRegistry({ client: ctx.server.client(), prefix, pollIntervalMs: 0, now: () => clock.t, ...options, ...extra })
    const history = (id: string, fence?: { token: number }) =>
      new RedisHistory<Message>({ client: ctx.client, key: id, prefix, ...(fence === undefined ? {} : { fence }) })
    return { clock, prefix, make, history }
  }
  const departures = (registry: RedisSessionRegistry) => {
    const heard: [string, RegistryDepartureReason][] = []
    registry.on('depart', (id, reason) => heard.push([id, reason]))
    return heard
  }

  test('one worker holds a session at a time; release frees it', async () => {
    const { make } = fleet()
    const a = make()
    const b = make()
    const lease = await a.acquire('s1')
    expect(lease).not.toBeNull()
    expect(await b.acquire('s1')).toBeNull()
    expect(await lease?.release()).toBe(true)
    expect(lease?.held).toBe(false)
    expect(lease?.signal.aborted).toBe(true)
    const next = await b.acquire('s1')
    expect(next?.token).toBeGreaterThan(lease?.token ?? Infinity)
    await Promise.all([a.close(), b.close()])
  })

  test('fencing: once a newer lease exists, writes under the older one are refused and change nothing', async () => {
    const { make, history } = fleet()
    const registry = make()
    const first = await registry.acquire('s', { ttlMs: 60_000 })
    if (first === null) throw new Error('not acquired')
    await history('s', first).push(user('by first'))
    await registry.delete('s')
    const second = await registry.acquire('s')
    if (second === null) throw new Error('not acquired')
    await expect(history('s', first).push(user('late'))).rejects.toMatchObject({ code: 'ERR_FENCED', token: first.token, current: second.token })
    // Deleted with its session, and the late write did not land.
    expect(await history('s').toArray()).toEqual([])
    await history('s', second).push(user('by second'))
    expect(await history('s').toArray()).toEqual([user('by second')])
    await registry.close()
  })

  test("maxSessions across the fleet with 'evict': the least recently active unleased session goes, with its history", async () => {
    const { make, clock, history } = fleet({ maxSessions: 2 })
    const a = make()
    const b = make()
    const heardA = departures(a)
    const heardB = departures(b)
    await (await a.acquire('old'))?.release()
    clock.t += 10
    await history('old').push(user('old history'))
    const held = await b.acquire('held')
    clock.t += 10
    // Full: 'old' (least recent, unleased) is evicted; 'held' is leased and stays.
    const lease = await a.acquire('new')
    expect(lease).not.toBeNull()
    expect(await a.size()).toBe(2)
    expect(await history('old').toArray()).toEqual([])
    await a.poll()
    await b.poll()
    expect(heardA).toEqual([['old', 'capacity']])
    expect(heardB).toEqual([['old', 'capacity']])
    // Everything is leased: even 'evict' rejects rather than exceed the bound.
    await expect(b.acquire('third')).rejects.toMatchObject({ code: 'ERR_SESSION_LIMIT', limit: 2 })
    await held?.release()
    await Promise.all([a.close(), b.close()])
  })

  test("'reject' refuses a new session while the fleet is full, and evicts nothing", async () => {
    const { make } = fleet({ maxSessions: 1, whenFull: 'reject' })
    const registry = make()
    await (await registry.acquire('a'))?.release()
    await expect(registry.acquire('b')).rejects.toMatchObject({ code: 'ERR_SESSION_LIMIT' })
    expect(await registry.size()).toBe(1)
    // A registered session can still be acquired.
    expect(await registry.acquire('a')).not.toBeNull()
    await registry.close()
  })

  test('idle sessions expire after idleTtlMs unless leased; touch keeps one alive', async () => {
    const { make, clock, history } = fleet({ idleTtlMs: 1_000 })
    const registry = make()
    const heard = departures(registry)
    await (await registry.acquire('idle'))?.release()
    await (await registry.acquire('touched'))?.release()
    await history('idle').push(user('x'))
    const leased = await registry.acquire('leased', { ttlMs: 60_000 })
    clock.t += 600
    expect(await registry.touch('touched')).toBe(true)
    expect(await registry.touch('unknown')).toBe(false)
    clock.t += 400
    await registry.poll()
    expect(heard).toEqual([['idle', 'idle']])
    expect(await history('idle').toArray()).toEqual([])
    clock.t += 5_000
    await registry.poll()
    expect(heard).toEqual([
      ['idle', 'idle'],
      ['touched', 'idle'],
    ])
    expect(leased?.held).toBe(true)
    await registry.close()
  })

  test('a registry hears the departures after its first call, in the order recorded, once', async () => {
    const { make } = fleet()
    const a = make()
    await a.acquire('before')
    await a.delete('before')
    const b = make()
    const heard = departures(b)
    await b.poll()
    await a.acquire('x')
    await a.delete('x')
    await a.acquire('y')
    await a.delete('y')
    await b.poll()
    await b.poll()
    expect(heard).toEqual([
      ['x', 'delete'],
      ['y', 'delete'],
    ])
    await Promise.all([a.close(), b.close()])
  })

  test('the timer renews held leases, so a lease outlives its ttl while its process runs', async () => {
    const { make } = fleet()
    const registry = make({ pollIntervalMs: 20 })
    const other = make()
    const lease = await registry.acquire('renewed', { ttlMs: 150 })
    // Wall time on the server is what expires a lease: wait past several ttls.
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(lease?.held).toBe(true)
    expect(await other.acquire('renewed')).toBeNull()
    await registry.close()
    expect(lease?.held).toBe(false)
    expect(await other.acquire('renewed')).not.toBeNull()
    await other.close()
  })

  test('bad input and use after close get coded errors', async () => {
    const { make } = fleet()
    expect(() => make({ maxSessions: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'maxSessions' }))
    expect(() => make({ whenFull: 'drop' as never })).toThrow(expect.objectContaining({ field: 'whenFull' }))
    const registry = make()
    await expect(registry.acquire('')).rejects.toMatchObject({ code: 'ERR_INVALID_OPTIONS', field: 'sessionId' })
    await expect(registry.acquire('a', { ttlMs: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTIONS', field: 'ttlMs' })
    await registry.close()
    await expect(registry.acquire('a')).rejects.toMatchObject({ code: 'ERR_REGISTRY_CLOSED' })
  })
})
