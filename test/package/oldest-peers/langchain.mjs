// BoundedChatMessageHistory under LangChain's own loop (RunnableWithMessageHistory around a chat
// model built on @langchain/core's FakeChatModel, calling two tools in parallel and then
// answering) and boundedTrimmer in front of the same model, at the @langchain/core version
// installed next to this script: 60 turns each. Every request is within budget by a count of our
// own, valid for the format, and keeps the system message.
import assert from 'node:assert/strict'
import { AIMessage, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages'
import { RunnableWithMessageHistory } from '@langchain/core/runnables'
import { FakeChatModel } from '@langchain/core/utils/testing'
import { BoundedChatMessageHistory, boundedTrimmer, chatMessages } from 'bounded-session/langchain'
import { independentTokens } from './count.mjs'

class ToolCallingFake extends FakeChatModel {
  received = []
  n = 0
  async _generate(messages) {
    this.received.push(messages.slice())
    const n = ++this.n
    const message =
      messages.at(-1)._getType() === 'tool'
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

async function toolLoop(invoke, turns) {
  for (let turn = 0; turn < turns; turn++) {
    const reply = await invoke([new HumanMessage(`Question ${turn}: ${'context '.repeat(10)}`)])
    const results = (reply.tool_calls ?? []).map((call) => new ToolMessage({ content: `result for ${JSON.stringify(call.args)}: ${'data '.repeat(60)}`, tool_call_id: call.id }))
    await invoke(results)
  }
}

function checkRequests(received, maxTokens, label) {
  assert.ok(received.length > 0)
  for (const [i, request] of received.entries()) {
    assert.deepEqual(chatMessages.check(request), [], `${label}: request ${i} is valid`)
    assert.equal(request[0]._getType(), 'system', `${label}: request ${i} keeps the system message`)
    assert.ok(independentTokens(request.map((m) => ({ content: m.content, tool_calls: m.tool_calls, tool_call_id: m.tool_call_id }))) <= maxTokens, `${label}: request ${i} within budget`)
  }
}

const maxTokens = 5_000
{
  const model = new ToolCallingFake({})
  const history = new BoundedChatMessageHistory({ maxTokens, trimTo: 0.5 })
  await history.addMessage(new SystemMessage('You are a careful researcher.'))
  const chain = new RunnableWithMessageHistory({ runnable: model, getMessageHistory: () => history })
  const config = { configurable: { sessionId: 'chat-1' } }
  await toolLoop((input) => chain.invoke(input, config), 60)
  checkRequests(model.received, maxTokens, 'BoundedChatMessageHistory')
  assert.ok(history.history.evictedCount > 0, 'the history trimmed')
}
{
  const model = new ToolCallingFake({})
  const trimmer = boundedTrimmer({ maxTokens, trimTo: 0.5 })
  const chain = trimmer.pipe(model)
  const all = [new SystemMessage('You are a careful researcher.')]
  await toolLoop(async (input) => {
    all.push(...input)
    const reply = await chain.invoke(all)
    all.push(reply)
    return reply
  }, 60)
  checkRequests(model.received, maxTokens, 'boundedTrimmer')
}
console.log(`langchain: 60 turns through RunnableWithMessageHistory and through boundedTrimmer, within ${maxTokens} tokens`)
