import { expect, test } from 'vitest'
import { RingBufferHistory } from '../../src/index.js'
import { RedisHistory, type RedisHistoryOptions } from '../../src/redis/index.js'
import { describeRedis, type Message, user } from '../helpers/redis-suite.js'

// RedisHistory#calibrate: one correction per session, kept on the server, by TokenCalibration's
// rules (src/history/calibration.ts).
describeRedis('RedisHistory calibrate', (ctx) => {
  const pair = (options: Partial<RedisHistoryOptions<Message>> = {}) => {
    const prefix = ctx.prefix()
    return [
      new RedisHistory<Message>({ client: ctx.client, key: 'c', prefix, ...options }),
      new RedisHistory<Message>({ client: ctx.server.client(), key: 'c', prefix, ...options }),
    ] as const
  }
  const big = (n: number) => user('x'.repeat(4 * n)) // n estimated tokens

  test('two workers on one session see one correction, and both budgets follow it', async () => {
    const [first, second] = pair({ maxTokens: 1_000 })
    await first.push(big(300))
    expect(await second.tokenCorrection()).toBe(1)
    const result = await first.calibrate(600)
    expect(result).toEqual({ outcome: 'applied', correction: 2, ratio: 2 })
    expect(await second.tokenCorrection()).toBe(2)
    expect(await second.stats()).toMatchObject({ tokens: 600 })
    // 1,000 provider tokens are 400 estimated ones now (1,000 / (2 × 1.25): a first reading 2× the
    // estimate widens the margin to its largest), for every worker: 300 + 250 does not fit.
    expect(await second.fits(big(250))).toBe(false)
    expect(await second.fits(big(101))).toBe(false)
    expect(await second.fits(big(100))).toBe(true)
    await second.push(big(250))
    expect((await first.toArray()).map((m) => m.content.length)).toEqual([1_000])
    // A window's maxTokens is in provider tokens too.
    await first.push(big(10))
    expect(await first.window({ maxTokens: 649 })).toEqual([big(10)])
    expect(await first.window({ maxTokens: 650 })).toHaveLength(2)
  })

  test('readings from two workers both count, as one history would count them', async () => {
    const [first, second] = pair({ overheadTokens: 100 })
    const memory = new RingBufferHistory<Message>({ overheadTokens: 100 })
    await first.push(big(400))
    memory.push(big(400))
    for (const [history, reported] of [[first, 700], [second, 420], [first, 1_000], [second, 2_500], [second, 2_400]] as const) {
      expect(await history.calibrate(reported)).toEqual(memory.calibrate(reported))
    }
    expect(await first.tokenCorrection()).toBe(memory.tokenCorrection)
    // Concurrent readings: each is applied once (compare and set), whatever the interleaving.
    await Promise.all([first.calibrate(1_300), second.calibrate(1_300)])
    expect((await first.snapshot()).calibration?.readings).toBe((memory.snapshot().calibration?.readings ?? 0) + 2)
  })

  test('a too-large message is reported in provider tokens, and shrink gets the calibrated room', async () => {
    const [history] = pair({ maxTokens: 400 })
    await history.push(big(300))
    await history.calibrate(600)
    // Needed: 250 × 2 × 1.25 (the correction with the safety margin), rounded up.
    await expect(history.push(big(250))).rejects.toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE', budget: 'tokens', limit: 400, needed: 625 })
    const memory = new RingBufferHistory<Message>({ maxTokens: 400 })
    memory.push(big(300))
    memory.calibrate(600)
    expect(() => memory.push(big(250))).toThrow(expect.objectContaining({ limit: 400, needed: 625 }))
  })

  test('the correction travels in snapshots, both ways, and lasts through clear()', async () => {
    const [history] = pair()
    await history.push(big(300))
    await history.calibrate(450)
    await history.clear()
    expect(await history.tokenCorrection()).toBe(1.5)
    const snapshot = await history.snapshot()
    expect(snapshot.calibration).toEqual({ correction: 1.5, readings: 1, margin: 0.25 })
    expect(RingBufferHistory.restore<Message>(snapshot).tokenCorrection).toBe(1.5)
    const [other] = pair()
    await other.restore(snapshot)
    expect(await other.tokenCorrection()).toBe(1.5)
  })

  test('bad readings are refused, nothing changed', async () => {
    const [history] = pair()
    await history.push(big(300))
    for (const bad of [Number.NaN, -1, Infinity, 300 * 1_000]) {
      await expect(history.calibrate(bad)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    }
    await expect(history.calibrate(600, 'no' as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'sent' })
    expect(await history.tokenCorrection()).toBe(1)
    for (const overheadTokens of [-1, Infinity, Number.NaN]) {
      expect(() => new RedisHistory<Message>({ client: ctx.client, key: 'c', overheadTokens })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'overheadTokens' }),
      )
    }
    // A stored correction out of range is bad data.
    const prefix = ctx.prefix()
    const broken = new RedisHistory<Message>({ client: ctx.client, key: 'c', prefix })
    await broken.push(user('x'))
    await ctx.client.hset(`${prefix}{c}:s`, 'corr', '9')
    await expect(broken.stats()).rejects.toMatchObject({ code: 'ERR_REDIS_DATA' })
    await expect(broken.calibrate(600)).rejects.toMatchObject({ code: 'ERR_REDIS_DATA' })
    await broken.clear()
    expect(await broken.tokenCorrection()).toBe(1)
  })

  test('the margin is kept beside the correction: a session stored without one counts 3%, one out of range is bad data', async () => {
    const prefix = ctx.prefix()
    const history = new RedisHistory<Message>({ client: ctx.client, key: 'c', prefix, maxTokens: 1_000 })
    const memory = new RingBufferHistory<Message>({ maxTokens: 1_000 })
    await history.push(big(300))
    memory.push(big(300))
    await history.calibrate(600)
    memory.calibrate(600)
    expect((await history.snapshot()).calibration).toEqual(memory.snapshot().calibration)
    // 1,000 / (2 × 1.25) = 400 estimated tokens: 100 more fit, 101 do not.
    expect(await history.fits(big(100))).toBe(true)
    expect(await history.fits(big(101))).toBe(false)
    const state = `${prefix}{c}:s`
    // Stored before the margin adapted: no field, 3%. floor(1,000 / (2 × 1.03)) = 485.
    await ctx.client.hdel(state, 'cmg')
    expect(await history.fits(big(185))).toBe(true)
    expect(await history.fits(big(186))).toBe(false)
    await ctx.client.hset(state, 'cmg', '0.9')
    await expect(history.stats()).rejects.toMatchObject({ code: 'ERR_REDIS_DATA' })
  })
})
