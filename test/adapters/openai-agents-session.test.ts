// The behaviours the Agents SDK's maintainers test for sessions (packages/agents-core/test/
// memorySession.test.ts), on BoundedSession: ordering, limits, clone isolation, append, pop,
// clear, transactions, and refusals that change nothing. Then the bounds this package adds.
import type { AgentInputItem } from '@openai/agents'
import { describe, expect, it } from 'vitest'
import { RingBufferHistory } from '../../src/index.js'
import { BoundedSession, openaiAgents } from '../../src/openai-agents/index.js'
import { RedisHistory } from '../../src/redis/index.js'
import { describeRedis } from '../helpers/redis-suite.js'

const userMessage = (text: string): AgentInputItem => ({ role: 'user', content: [{ type: 'input_text', text }] })
const call = (callId: string, args = '{}'): AgentInputItem => ({ type: 'function_call', callId, name: 'lookup', status: 'completed', arguments: args })
const result = (callId: string, output = 'ok'): AgentInputItem => ({
  type: 'function_call_result',
  callId,
  name: 'lookup',
  status: 'completed',
  output: { type: 'text', text: output },
})
const texts = (items: AgentInputItem[]) => items.map((i) => JSON.stringify(i))

describe('BoundedSession: what MemorySession does', () => {
  it('stores items in order and returns the newest `limit` of them', async () => {
    const session = new BoundedSession({ sessionId: 'session-1' })
    expect(await session.getSessionId()).toBe('session-1')
    const items = [userMessage('hello'), userMessage('one'), userMessage('two')]
    await session.addItems([items[0] as AgentInputItem])
    await session.addItems(items.slice(1))
    expect(await session.getItems()).toEqual(items)
    expect(await session.getItems(2)).toEqual(items.slice(1))
    expect(await session.getItems(10)).toEqual(items)
    expect(await session.getItems(0)).toEqual([])
    expect(await session.getItems(-1)).toEqual([])
  })

  it('pops the newest item, and clears everything', async () => {
    const session = new BoundedSession()
    await session.addItems([userMessage('a'), userMessage('b')])
    expect(await session.popItem()).toEqual(userMessage('b'))
    expect(await session.getItems()).toEqual([userMessage('a')])
    await session.clearSession()
    expect(await session.getItems()).toEqual([])
    expect(await session.getItems(3)).toEqual([])
    expect(await session.popItem()).toBeUndefined()
  })

  it('makes a random session id when none is given', async () => {
    const a = await new BoundedSession().getSessionId()
    const b = await new BoundedSession().getSessionId()
    expect(a).toMatch(/^[0-9a-f-]{36}$/)
    expect(a).not.toBe(b)
  })

  it('copies items in and out: changing what was added, got or popped changes nothing held', async () => {
    const session = new BoundedSession()
    const start = userMessage('start')
    await session.addItems([start])
    ;(start as { content: unknown }).content = 'mutated'
    const got = await session.getItems()
    ;(got[0] as { content: unknown }).content = 'mutated'
    expect(await session.getItems()).toEqual([userMessage('start')])
    await session.addItems([userMessage('next')])
    const popped = await session.popItem()
    ;(popped as { content: unknown }).content = 'mutated'
    expect(await session.getItems()).toEqual([userMessage('start')])
  })

  it('runs calls one at a time, in the order they were made', async () => {
    const session = new BoundedSession()
    const done = Promise.all([
      session.addItems([userMessage('1')]),
      session.popItem(),
      session.addItems([userMessage('2'), userMessage('3')]),
      session.getItems(),
    ])
    const [, popped, , items] = await done
    expect(popped).toEqual(userMessage('1'))
    expect(items).toEqual([userMessage('2'), userMessage('3')])
  })
})

describe('BoundedSession.applyHistoryTransaction', () => {
  it('applies an append once per operation id, even when retried after later writes', async () => {
    const session = new BoundedSession({ history: RingBufferHistory.from([userMessage('start')], { maxMessages: 100 }) })
    const appended = userMessage('committed')
    const args = { operationId: 'op-append-1', transaction: { type: 'append_items' as const, items: [appended] } }
    await session.applyHistoryTransaction(args)
    ;(appended as { content: unknown }).content = 'mutated'
    await session.addItems([userMessage('later')])
    await session.applyHistoryTransaction({ operationId: 'op-append-1', transaction: { type: 'append_items', items: [userMessage('committed')] } })
    expect(await session.getItems()).toEqual([userMessage('start'), userMessage('committed'), userMessage('later')])
  })

  it('replaces an exact suffix once, and a retry does not replace again', async () => {
    const session = new BoundedSession()
    await session.addItems([userMessage('start'), userMessage('blocked')])
    const tx = {
      operationId: 'op-replace-1',
      transaction: { type: 'replace_suffix' as const, expectedSuffix: [userMessage('blocked')], replacement: [userMessage('accepted')] },
    }
    await session.applyHistoryTransaction(tx)
    await session.addItems([userMessage('later')])
    await session.applyHistoryTransaction(tx)
    expect(await session.getItems()).toEqual([userMessage('start'), userMessage('accepted'), userMessage('later')])
  })

  it('refuses a suffix that does not match, changes nothing and does not record the id', async () => {
    const session = new BoundedSession()
    await session.addItems([userMessage('start')])
    const refused = session.applyHistoryTransaction({
      operationId: 'op-after-conflict',
      transaction: { type: 'replace_suffix', expectedSuffix: [userMessage('different')], replacement: [userMessage('accepted')] },
    })
    await expect(refused).rejects.toMatchObject({ code: 'ERR_SESSION_TRANSACTION', reason: 'suffix-mismatch' })
    expect(await session.getItems()).toEqual([userMessage('start')])
    await session.applyHistoryTransaction({
      operationId: 'op-after-conflict',
      transaction: { type: 'replace_suffix', expectedSuffix: [userMessage('start')], replacement: [userMessage('accepted')] },
    })
    expect(await session.getItems()).toEqual([userMessage('accepted')])
  })

  it('refuses a longer expected suffix than the session holds', async () => {
    const session = new BoundedSession()
    await session.addItems([userMessage('only')])
    await expect(
      session.applyHistoryTransaction({
        operationId: 'op',
        transaction: { type: 'replace_suffix', expectedSuffix: [userMessage('x'), userMessage('only')], replacement: [] },
      }),
    ).rejects.toMatchObject({ reason: 'suffix-mismatch' })
    expect(await session.getItems()).toEqual([userMessage('only')])
  })

  it('refuses an operation id reused with a different transaction', async () => {
    const session = new BoundedSession()
    await session.applyHistoryTransaction({ operationId: 'op-conflict', transaction: { type: 'append_items', items: [userMessage('first')] } })
    await expect(
      session.applyHistoryTransaction({ operationId: 'op-conflict', transaction: { type: 'append_items', items: [userMessage('second')] } }),
    ).rejects.toMatchObject({ code: 'ERR_SESSION_TRANSACTION', reason: 'conflict', operationId: 'op-conflict' })
    expect(await session.getItems()).toEqual([userMessage('first')])
  })

  it('records an empty append, and forgets operation ids when the session is cleared', async () => {
    const session = new BoundedSession()
    const tx = { operationId: 'op-empty', transaction: { type: 'append_items' as const, items: [] } }
    await session.applyHistoryTransaction(tx)
    await expect(
      session.applyHistoryTransaction({ operationId: 'op-empty', transaction: { type: 'append_items', items: [userMessage('x')] } }),
    ).rejects.toMatchObject({ reason: 'conflict' })
    await session.clearSession()
    await session.applyHistoryTransaction({ operationId: 'op-empty', transaction: { type: 'append_items', items: [userMessage('x')] } })
    expect(await session.getItems()).toEqual([userMessage('x')])
  })

  it('refuses invalid input before changing anything, with a coded error', async () => {
    const session = new BoundedSession()
    await session.addItems([userMessage('start')])
    const bad: unknown[] = [
      { operationId: '   ', transaction: { type: 'append_items', items: [] } },
      { operationId: 'op-unknown', transaction: { type: 'unknown' } },
      { operationId: 'op-null', transaction: null },
      { operationId: 'op-item', transaction: { type: 'append_items', items: [42] } },
      { operationId: 'op-date', transaction: { type: 'append_items', items: [{ ...userMessage('d'), providerData: { at: new Date(0) } }] } },
      { operationId: 'op-bigint', transaction: { type: 'append_items', items: [{ ...userMessage('b'), providerData: { n: 42n } }] } },
      { operationId: 'op-sparse', transaction: { type: 'append_items', items: new Array(1) } },
      { operationId: 'op-extra', transaction: { type: 'append_items', items: [], metadata: 1 } },
      null,
    ]
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    bad.push({ operationId: 'op-cycle', transaction: { type: 'append_items', items: [{ ...userMessage('c'), providerData: cyclic }] } })
    for (const args of bad) {
      await expect(session.applyHistoryTransaction(args as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    }
    expect(await session.getItems()).toEqual([userMessage('start')])
    // None of those ids was recorded.
    await session.applyHistoryTransaction({ operationId: 'op-extra', transaction: { type: 'append_items', items: [userMessage('ok')] } })
    expect(await session.getItems()).toEqual([userMessage('start'), userMessage('ok')])
  })

  it('reads the arguments once, and does not repeat what a throwing getter said', async () => {
    const session = new BoundedSession()
    let reads = 0
    const args = { transaction: { type: 'append_items' as const, items: [userMessage('once')] } } as { operationId: string; transaction: { type: 'append_items'; items: AgentInputItem[] } }
    Object.defineProperty(args, 'operationId', { enumerable: true, get: () => (++reads === 1 ? 'op-once' : 'changed') })
    await session.applyHistoryTransaction(args)
    expect(reads).toBe(1)
    const throwing = {}
    Object.defineProperty(throwing, 'operationId', {
      get: () => {
        throw new Error('api-key-secret')
      },
    })
    const error = await session.applyHistoryTransaction(throwing as never).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    expect((error as Error).message).not.toContain('api-key-secret')
  })

  it('leaves the history unchanged when the write fails after the read (a measure throws on the replacement)', async () => {
    const poisoned = userMessage('poison')
    const history = new RingBufferHistory<AgentInputItem>({
      maxMessages: 100,
      countTokens: (item) => {
        if (JSON.stringify(item).includes('poison')) throw new Error('injected failure')
        return openaiAgents.countTokens(item)
      },
    })
    const session = new BoundedSession({ history })
    await session.addItems([userMessage('start'), userMessage('blocked')])
    const before = await session.getItems()
    await expect(
      session.applyHistoryTransaction({
        operationId: 'op-fails',
        transaction: { type: 'replace_suffix', expectedSuffix: [userMessage('blocked')], replacement: [userMessage('accepted'), poisoned] },
      }),
    ).rejects.toThrow('injected failure')
    expect(await session.getItems()).toEqual(before)
    await expect(session.addItems([userMessage('fine'), poisoned])).rejects.toThrow('injected failure')
    expect(await session.getItems()).toEqual(before)
    // The failed id was not recorded: a retry without the poisoned item applies.
    await session.applyHistoryTransaction({
      operationId: 'op-fails',
      transaction: { type: 'replace_suffix', expectedSuffix: [userMessage('blocked')], replacement: [userMessage('accepted')] },
    })
    expect(await session.getItems()).toEqual([userMessage('start'), userMessage('accepted')])
  })

  it('remembers the last `maxOperations` operation ids', async () => {
    const session = new BoundedSession({ maxOperations: 2 })
    for (const id of ['a', 'b', 'c']) await session.applyHistoryTransaction({ operationId: id, transaction: { type: 'append_items', items: [userMessage(id)] } })
    // 'a' is forgotten: applying it again appends again; 'c' is remembered.
    await session.applyHistoryTransaction({ operationId: 'c', transaction: { type: 'append_items', items: [userMessage('c')] } })
    await session.applyHistoryTransaction({ operationId: 'a', transaction: { type: 'append_items', items: [userMessage('a')] } })
    expect(texts(await session.getItems())).toEqual(texts(['a', 'b', 'c', 'a'].map(userMessage)))
  })
})

describe('BoundedSession: bounds', () => {
  it('trims the oldest items to the budgets, never a result apart from its call, never the system message', async () => {
    const session = new BoundedSession({ maxMessages: 8 })
    await session.addItems([{ role: 'system', content: 'You are terse.' }])
    for (let i = 0; i < 20; i++) await session.addItems([userMessage(`q${i}`), call(`c${i}`), result(`c${i}`), { role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: `a${i}` }] }])
    const items = await session.getItems()
    expect(items.length).toBeLessThanOrEqual(8)
    expect(items[0]).toEqual({ role: 'system', content: 'You are terse.' })
    expect(openaiAgents.check(items)).toEqual([])
    expect(items.at(-1)).toMatchObject({ role: 'assistant' })
  })

  it('holds the token budget by a count of every string, also for item types it does not know', async () => {
    const session = new BoundedSession({ maxTokens: 1_000 })
    const unknown = { type: 'unknown', providerData: { blob: 'x'.repeat(2_000) } } as AgentInputItem
    for (let i = 0; i < 10; i++) await session.addItems([userMessage(`q${i}`), unknown])
    const items = await session.getItems()
    // Kept (the newest one) and measured (500 tokens each: two do not fit with the rest).
    expect(items.filter((i) => (i as { type?: string }).type === 'unknown')).toHaveLength(1)
    expect(session.history instanceof RingBufferHistory && session.history.tokens).toBeLessThanOrEqual(1_000)
  })

  it('shortens an item too large for the budget, keeping its type and ids', async () => {
    const session = new BoundedSession({ maxTokens: 100 })
    await session.addItems([userMessage('q'), { ...userMessage('z'.repeat(10_000)), id: 'msg_1' }])
    const second = (await session.getItems()).at(-1)
    expect(second).toMatchObject({ role: 'user', id: 'msg_1', content: [{ type: 'input_text' }] })
    expect(openaiAgents.countTokens(second as AgentInputItem)).toBeLessThanOrEqual(100)
  })

  it('refuses an item too large for the budget without shrink, with nothing added', async () => {
    // (A format always brings its shrink; a history made without one refuses instead.)
    const session = new BoundedSession({ history: new RingBufferHistory<AgentInputItem>({ maxTokens: 100, countTokens: openaiAgents.countTokens }) })
    await session.addItems([userMessage('keep')])
    await expect(session.addItems([userMessage('y'), userMessage('z'.repeat(10_000))])).rejects.toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE' })
    expect(await session.getItems()).toEqual([userMessage('keep')])
  })

  it('takes a history of its own, and refuses history options beside it', () => {
    const history = new RingBufferHistory<AgentInputItem>({ maxMessages: 5 })
    expect(new BoundedSession({ history }).history).toBe(history)
    expect(() => new BoundedSession({ history, maxTokens: 10 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'maxTokens' }))
    expect(() => new BoundedSession({ maxTokenz: 10 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'maxTokenz' }))
    expect(() => new BoundedSession({ sessionId: '' })).toThrow(expect.objectContaining({ field: 'sessionId' }))
    expect(() => new BoundedSession({ history: [] as never })).toThrow(expect.objectContaining({ field: 'history' }))
  })

  it('replaces the items with a compaction in one step', async () => {
    const session = new BoundedSession()
    await session.addItems([userMessage('a'), userMessage('b')])
    const compaction = { type: 'compaction', encrypted_content: 'opaque' } as AgentInputItem
    await session.replaceHistoryWithCompaction([compaction, userMessage('b')])
    expect(await session.getItems()).toEqual([compaction, userMessage('b')])
  })
})

describeRedis('BoundedSession on a RedisHistory', (ctx) => {
  const make = (key: string) => new RedisHistory<AgentInputItem>({ client: ctx.client, key, prefix: ctx.prefix(), maxMessages: 6, countTokens: openaiAgents.countTokens })

  it('uses the key as the session id, and behaves as in memory', async () => {
    const session = new BoundedSession({ history: make('chat-1') })
    expect(await session.getSessionId()).toBe('chat-1')
    await session.addItems([userMessage('a'), userMessage('b'), userMessage('c')])
    expect(await session.getItems(2)).toEqual([userMessage('b'), userMessage('c')])
    expect(await session.popItem()).toEqual(userMessage('c'))
    await session.applyHistoryTransaction({ operationId: 'op', transaction: { type: 'replace_suffix', expectedSuffix: [userMessage('b')], replacement: [userMessage('B')] } })
    await session.applyHistoryTransaction({ operationId: 'op', transaction: { type: 'replace_suffix', expectedSuffix: [userMessage('b')], replacement: [userMessage('B')] } })
    expect(await session.getItems()).toEqual([userMessage('a'), userMessage('B')])
    for (let i = 0; i < 10; i++) await session.addItems([userMessage(`m${i}`)])
    expect(await session.getItems()).toHaveLength(6)
    await session.clearSession()
    expect(await session.getItems()).toEqual([])
  })

  it('is shared by two sessions on the same key (two workers)', async () => {
    const prefix = ctx.prefix()
    const a = new BoundedSession({ history: new RedisHistory<AgentInputItem>({ client: ctx.client, key: 'shared', prefix }) })
    const b = new BoundedSession({ history: new RedisHistory<AgentInputItem>({ client: ctx.client, key: 'shared', prefix }) })
    await a.addItems([userMessage('from a')])
    await b.addItems([userMessage('from b')])
    expect(await a.getItems()).toEqual([userMessage('from a'), userMessage('from b')])
  })
})

describe('BoundedSession: bad input', () => {
  it('refuses a result whose call it does not hold, with a coded error and nothing added', async () => {
    const session = new BoundedSession()
    await session.addItems([userMessage('q')])
    await expect(session.addItems([userMessage('r'), result('never-called')])).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_/) })
    expect(await session.getItems()).toEqual([userMessage('q')])
  })
})
