// BoundedChatMessageHistory and boundedTrimmer in LangChain's own loop: RunnableWithMessageHistory
// around a chat model built on the package's FakeChatModel (its BaseChatModel machinery, with a
// script that calls two tools in parallel and then answers), for 120 turns with tool calls.
import { InMemoryChatMessageHistory } from '@langchain/core/chat_history'
import { AIMessage, type BaseMessage, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages'
import type { ChatResult } from '@langchain/core/outputs'
import { RunnableWithMessageHistory } from '@langchain/core/runnables'
import { FakeChatModel } from '@langchain/core/utils/testing'
import { describe, expect, it } from 'vitest'
import { BoundedChatMessageHistory, boundedTrimmer, chatMessages } from '../../src/langchain/index.js'

function independentTokens(messages: readonly BaseMessage[]): number {
  let chars = 0
  const visit = (v: unknown): void => {
    if (typeof v === 'string') chars += v.length
    else if (Array.isArray(v)) v.forEach(visit)
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(visit)
  }
  for (const m of messages) visit({ content: m.content, tool_calls: (m as AIMessage).tool_calls, tool_call_id: (m as ToolMessage).tool_call_id })
  return Math.floor(chars / 4)
}

class ToolCallingFake extends FakeChatModel {
  readonly received: BaseMessage[][] = []
  #n = 0
  override async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    this.received.push(messages.slice())
    const n = ++this.#n
    const last = messages.at(-1) as BaseMessage
    const message =
      last._getType() === 'tool'
        ? new AIMessage(`Done with ${n}: ${'detail '.repeat(20)}`)
        : new AIMessage({
            content: '',
            tool_calls: [
              { id: `call_${n}a`, name: 'lookup', args: { q: `a${n}` }, type: 'tool_call' },
              { id: `call_${n}b`, name: 'lookup', args: { q: `b${n}` }, type: 'tool_call' },
            ],
          })
    return { generations: [{ message, text: typeof message.content === 'string' ? message.content : '' }] }
  }
}

function prefixShare(requests: readonly BaseMessage[][]): { shared: number; growBreaks: number } {
  let shared = 0
  let growBreaks = 0
  for (let i = 1; i < requests.length; i++) {
    const prev = requests[i - 1] as BaseMessage[]
    const cur = requests[i] as BaseMessage[]
    if (prev.length <= cur.length && prev.every((m, j) => m === cur[j])) shared++
    else if (cur.length >= prev.length + 3) growBreaks++
  }
  return { shared: shared / (requests.length - 1), growBreaks }
}

async function toolLoop(chain: RunnableWithMessageHistory<BaseMessage[], BaseMessage>, turns: number) {
  const config = { configurable: { sessionId: 'chat-1' } }
  for (let turn = 0; turn < turns; turn++) {
    const reply = (await chain.invoke([new HumanMessage(`Question ${turn}: ${'context '.repeat(10)}`)], config)) as AIMessage
    const results = (reply.tool_calls ?? []).map((call) => new ToolMessage({ content: `result for ${JSON.stringify(call.args)}: ${'data '.repeat(60)}`, tool_call_id: call.id as string }))
    await chain.invoke(results, config)
  }
}

describe('BoundedChatMessageHistory under RunnableWithMessageHistory', () => {
  it('120 turns with parallel tool calls: every request within budget, valid, prefix-stable between trims', async () => {
    const maxTokens = 5_000
    const model = new ToolCallingFake({})
    const history = new BoundedChatMessageHistory({ maxTokens, trimTo: 0.5 })
    await history.addMessage(new SystemMessage('You are a careful researcher.'))
    const chain = new RunnableWithMessageHistory<BaseMessage[], BaseMessage>({ runnable: model, getMessageHistory: () => history })
    await toolLoop(chain, 120)
    expect(model.received).toHaveLength(240)
    for (const request of model.received) {
      // What the history held (the request minus this call's new input) is within the budget.
      expect(independentTokens(request.slice(0, -2))).toBeLessThanOrEqual(maxTokens)
      expect(chatMessages.check(request)).toEqual([])
      expect(request[0]?._getType()).toBe('system')
    }
    expect(history.history.evictedCount).toBeGreaterThan(0)
    expect(history.history.tokens).toBeLessThanOrEqual(maxTokens)
    expect(prefixShare(model.received).shared).toBeGreaterThanOrEqual(0.85)
  }, 120_000)

  it('keeps a bounded history for each session, and clears', async () => {
    const history = new BoundedChatMessageHistory({ maxMessages: 4 })
    await history.addMessages([new HumanMessage('a'), new AIMessage('b'), new HumanMessage('c'), new AIMessage('d'), new HumanMessage('e')])
    expect((await history.getMessages()).map((m) => m.content)).toEqual(['b', 'c', 'd', 'e'])
    await history.addUserMessage('f')
    await history.addAIMessage('g')
    expect((await history.getMessages()).map((m) => m.content)).toEqual(['d', 'e', 'f', 'g'])
    await history.clear()
    expect(await history.getMessages()).toEqual([])
  })

  it('refuses a message it cannot read with a coded error, and keeps what it held', async () => {
    const history = new BoundedChatMessageHistory()
    await history.addMessage(new HumanMessage('kept'))
    await expect(history.addMessages([new AIMessage('ok'), { nonsense: true } as unknown as BaseMessage])).rejects.toMatchObject({ code: 'ERR_INVALID_MESSAGE' })
    expect((await history.getMessages()).map((m) => m.content)).toEqual(['kept'])
  })
})

describe('boundedTrimmer: a cache-stable trimMessages', () => {
  it('before the model, over an unbounded InMemoryChatMessageHistory: 120 turns within budget, valid, prefix-stable', async () => {
    const maxTokens = 5_000
    const model = new ToolCallingFake({})
    const store = new InMemoryChatMessageHistory([new SystemMessage('You are a careful researcher.')])
    const chain = new RunnableWithMessageHistory<BaseMessage[], BaseMessage>({
      runnable: boundedTrimmer({ maxTokens, trimTo: 0.5 }).pipe(model),
      getMessageHistory: () => store,
    })
    await toolLoop(chain, 120)
    for (const request of model.received) {
      expect(independentTokens(request)).toBeLessThanOrEqual(maxTokens)
      expect(chatMessages.check(request)).toEqual([])
      expect(request[0]?._getType()).toBe('system')
    }
    expect((await store.getMessages()).length).toBeGreaterThan(400)
    const { shared, growBreaks } = prefixShare(model.received)
    expect(growBreaks).toBe(0)
    expect(shared).toBeGreaterThanOrEqual(0.85)
  }, 120_000)

  it('follows two conversations apart', async () => {
    const trimmer = boundedTrimmer({ maxMessages: 3 })
    const a = [new HumanMessage('a1'), new AIMessage('a2'), new HumanMessage('a3'), new AIMessage('a4')]
    const b = [new HumanMessage('b1'), new AIMessage('b2')]
    expect((await trimmer.invoke(a)).map((m) => m.content)).toEqual(['a2', 'a3', 'a4'])
    expect((await trimmer.invoke(b)).map((m) => m.content)).toEqual(['b1', 'b2'])
    expect((await trimmer.invoke([...a, new HumanMessage('a5')])).map((m) => m.content)).toEqual(['a3', 'a4', 'a5'])
  })
})
