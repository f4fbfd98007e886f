import { expect, test } from 'vitest'
import { defaultCountTokens, defaultSizeOf, type MessageFormat, type MessageLinks, RingBufferHistory } from '../../src/index.js'
import { RedisHistory, type RedisHistoryOptions } from '../../src/redis/index.js'
import { describeRedis } from '../helpers/redis-suite.js'

// RedisHistory's `group` and `format` options: a call and its results, kept or dropped as one
// group, on the server, for every worker of the session.
interface Turn {
  role: 'user' | 'assistant' | 'tool'
  content: string
  calls?: string[]
  answers?: string[]
}
const links = (m: Turn): MessageLinks | undefined =>
  m.calls !== undefined ? { calls: m.calls } : m.answers !== undefined ? { results: m.answers } : undefined
const format: MessageFormat<Turn> = {
  name: 'turns',
  sizeOf: defaultSizeOf,
  countTokens: defaultCountTokens,
  group: links,
  startOn: (m) => m.role === 'user',
  shrink: (m) => m,
  check: () => [],
}
const call = (...ids: string[]): Turn => ({ role: 'assistant', content: 'calling', calls: ids })
const result = (id: string): Turn => ({ role: 'tool', content: `result ${id}`, answers: [id] })
const say = (content: string): Turn => ({ role: 'assistant', content })

describeRedis('RedisHistory group', (ctx) => {
  const make = (options: Partial<RedisHistoryOptions<Turn>>, prefix = ctx.prefix()) =>
    new RedisHistory<Turn>({ client: ctx.client, key: 'g', prefix, ...options })

  test('a result whose call the history does not hold throws ERR_ORPHAN_RESULT, nothing changed', async () => {
    const history = make({ group: links })
    await history.push(say('hello'))
    await expect(history.push(say('before'), result('nope'))).rejects.toMatchObject({ code: 'ERR_ORPHAN_RESULT', callId: 'nope' })
    expect(await history.toArray()).toEqual([say('hello')])
    expect(await history.stats()).toMatchObject({ length: 1, evictedCount: 0 })
    // A result in the same push as its call, or in a later one, is fine.
    await history.push(call('a', 'b'), result('a'))
    expect(await history.push(result('b'))).toBe(4)
  })

  test('trimming drops a call with its results as one group', async () => {
    const history = make({ group: links, maxMessages: 4 })
    const memory = new RingBufferHistory<Turn>({ group: links, maxMessages: 4 })
    for (const m of [call('a', 'b'), result('a'), result('b'), say('done'), say('more')]) {
      await history.push(m)
      memory.push(m)
    }
    // The call went, so its results went with it.
    expect(await history.toArray()).toEqual([say('done'), say('more')])
    expect(await history.toArray()).toEqual(memory.toArray())
    // A late result of the trimmed call is refused.
    await expect(history.push(result('a'))).rejects.toMatchObject({ code: 'ERR_ORPHAN_RESULT' })
  })

  test('the trimTo target never cuts into the call in flight, as in memory, also after a rollback', async () => {
    const options = { group: links, maxMessages: 4, trimTo: 0 }
    const history = make(options)
    const memory = new RingBufferHistory<Turn>(options)
    const start = [say('one'), say('two'), call('a')]
    await history.reset(start)
    memory.reset(start)
    await history.push(say('three'), say('four'))
    memory.push(say('three'), say('four'))
    // Trimming to 0 stops at the call still in flight, as the budget holds it.
    expect(await history.toArray()).toEqual([call('a'), say('three'), say('four')])
    expect(await history.toArray()).toEqual(memory.toArray())
    // Rolled back past its result, a call is in flight again.
    await history.reset([say('one'), call('b')])
    memory.reset([say('one'), call('b')])
    const mark = await history.checkpoint()
    const memoryMark = memory.checkpoint()
    await history.push(result('b'))
    memory.push(result('b'))
    await history.rollback(mark)
    memory.rollback(memoryMark)
    for (const m of [say('two'), say('three'), say('four')]) {
      await history.push(m)
      memory.push(m)
    }
    expect(await history.toArray()).toEqual([call('b'), say('two'), say('three'), say('four')])
    expect(await history.toArray()).toEqual(memory.toArray())
  })

  test('window() leaves out a newest group its budget cannot hold; restore() keeps the results a snapshot starts with', async () => {
    const history = make({ group: links })
    const memory = new RingBufferHistory<Turn>({ group: links })
    for (const m of [say('hello'), call('a', 'b'), result('a'), result('b')]) {
      await history.push(m)
      memory.push(m)
    }
    for (const trimTo of [1, 0.5]) {
      const budget = { maxMessages: 2, trimTo }
      expect(await history.window(budget)).toEqual([])
      expect(await history.window(budget)).toEqual(memory.window(budget))
    }
    // A group alone over maxMessages is cut at its start: the snapshot starts with results.
    const small = make({ group: links, maxMessages: 2 })
    const smallMemory = new RingBufferHistory<Turn>({ group: links, maxMessages: 2 })
    await small.push(call('c', 'd'), result('c'), result('d'))
    smallMemory.push(call('c', 'd'), result('c'), result('d'))
    const snapshot = await small.snapshot()
    expect(snapshot).toEqual(smallMemory.snapshot())
    const restored = make({ group: links, maxMessages: 2 })
    await restored.restore(snapshot)
    expect(await restored.toArray()).toEqual(RingBufferHistory.restore<Turn>(snapshot, { group: links, maxMessages: 2 }).toArray())
  })

  test('window() never starts inside a group', async () => {
    const history = make({ group: links })
    const memory = new RingBufferHistory<Turn>({ group: links })
    const list = [say('q'), call('a'), say('thinking'), result('a'), say('answer')]
    await history.push(...list)
    for (const m of list) memory.push(m)
    for (const maxMessages of [1, 2, 3, 4, 5]) {
      expect(await history.window({ maxMessages })).toEqual(memory.window({ maxMessages }))
    }
    expect(await history.window({ maxMessages: 3 })).toEqual([say('answer')])
  })

  test('every worker of a session sees the same calls', async () => {
    const prefix = ctx.prefix()
    const first = make({ group: links }, prefix)
    const second = new RedisHistory<Turn>({ client: ctx.server.client(), key: 'g', prefix, group: links })
    await first.push(call('x'))
    expect(await second.push(result('x'))).toBe(2)
    await expect(second.push(result('y'))).rejects.toMatchObject({ code: 'ERR_ORPHAN_RESULT' })
    // A rollback forgets the calls it takes back; clear() forgets every call.
    const mark = await first.checkpoint()
    await first.push(call('z'))
    await first.rollback(mark)
    await expect(second.push(result('z'))).rejects.toMatchObject({ code: 'ERR_ORPHAN_RESULT' })
    await first.clear()
    await expect(second.push(result('x'))).rejects.toMatchObject({ code: 'ERR_ORPHAN_RESULT' })
  })

  test('format supplies group and startOn; an explicit option overrides the format', async () => {
    const withFormat = make({ format, maxMessages: 3 })
    await withFormat.push({ role: 'user', content: 'q' }, call('a'), result('a'), say('a'))
    // startOn from the format: the trim goes on to a user message, or the newest.
    expect(await withFormat.toArray()).toEqual([say('a')])
    await expect(withFormat.push(result('b'))).rejects.toMatchObject({ code: 'ERR_ORPHAN_RESULT' })
    const overridden = make({ format, group: () => undefined, startOn: () => true })
    await overridden.push(result('b'))
    expect(await overridden.length()).toBe(1)
  })

  test('bad options are refused', () => {
    expect(() => make({ group: 'no' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'group' }))
    expect(() => make({ format: {} as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'format' }))
  })
})
