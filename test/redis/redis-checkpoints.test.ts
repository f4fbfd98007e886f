import { expect, test } from 'vitest'
import { RedisHistory } from '../../src/redis/index.js'
import { describeRedis, type Message, user } from '../helpers/redis-suite.js'

// When a checkpoint stops being valid: a rollback to a point before it, clear(), reset() or
// restore(). A rollback to it or to a later checkpoint keeps it; positions do not count
// rolled-back pushes.
describeRedis('RedisHistory checkpoints', (ctx) => {
  const make = () => new RedisHistory<Message>({ client: ctx.client, key: 'cp', prefix: ctx.prefix(), maxMessages: 1_000 })

  test('a checkpoint made after a rollback survives a later rollback that removes nothing (issue 17.2)', async () => {
    const history = make()
    const cp1 = await history.checkpoint()
    await history.push(user('a'))
    expect(await history.rollback(cp1)).toBe(1)
    const cp2 = await history.checkpoint()
    expect(cp2.position).toBe(cp1.position)
    expect(await history.rollback(cp1)).toBe(0)
    expect(await history.rollback(cp2)).toBe(0)
    await history.push(user('b'))
    expect(await history.rollback(cp2)).toBe(1)
    expect(await history.toArray()).toEqual([])
  })

  test('a rollback before a checkpoint withdraws it; to it or to a later one keeps it', async () => {
    const history = make()
    await history.push(user('a'))
    const early = await history.checkpoint()
    await history.push(user('b'))
    const late = await history.checkpoint()
    await history.push(user('c'))
    const later = await history.checkpoint()
    await history.push(user('d'))
    await history.rollback(later)
    await history.rollback(late)
    expect(await history.rollback(late)).toBe(0)
    await history.rollback(early)
    await expect(history.rollback(late)).rejects.toMatchObject({ code: 'ERR_INVALID_CHECKPOINT' })
    await expect(history.rollback(later)).rejects.toMatchObject({ code: 'ERR_INVALID_CHECKPOINT' })
    expect(await history.toArray()).toEqual([user('a')])
  })

  test('more than 64 rollbacks to checkpoints made in between keep an older checkpoint valid (issue 18.6)', async () => {
    const history = make()
    await history.push(user('start'))
    const old = await history.checkpoint()
    for (let i = 0; i < 100; i++) {
      await history.push(user(`step ${i}`))
      const step = await history.checkpoint()
      await history.push(user(`try ${i}`))
      await history.rollback(step)
    }
    expect(await history.length()).toBe(101)
    expect(await history.rollback(old)).toBe(100)
    expect(await history.toArray()).toEqual([user('start')])
  })

  test('clear(), reset() and restore() withdraw every checkpoint', async () => {
    for (const end of ['clear', 'reset', 'restore'] as const) {
      const history = make()
      await history.push(user('a'))
      const cp = await history.checkpoint()
      const snapshot = await history.snapshot()
      if (end === 'clear') await history.clear()
      else if (end === 'reset') await history.reset([user('x')])
      else await history.restore(snapshot)
      await expect(history.rollback(cp), end).rejects.toMatchObject({ code: 'ERR_INVALID_CHECKPOINT' })
      const after = await history.checkpoint()
      await history.push(user('y'))
      expect(await history.rollback(after)).toBe(1)
    }
  })
})
