// Real SDK round trips, offline: each SDK builds its request with its own types and serialisers
// (through the `fetch` seam its client takes, or its own test model), the history holds the
// conversation under a tight budget, and the format's check passes every request body sent.
import Anthropic from '@anthropic-ai/sdk'
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'
import { AIMessage, type BaseMessage, HumanMessage, ToolMessage, mapChatMessagesToStoredMessages, mapStoredMessagesToChatMessages } from '@langchain/core/messages'
import { type ModelMessage, convertToModelMessages, generateText, stepCountIs, tool } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import OpenAI from 'openai'
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import { describe, expect, it } from 'vitest'
import * as z from 'zod'
import { RingBufferHistory } from 'bounded-session'
import { aiSdk, anthropic, anthropicCacheBreakpoints, langchain, openaiChat } from 'bounded-session/formats'

/** A fetch that records each request body and answers with the next canned JSON reply. */
function cannedFetch(replies: unknown[]) {
  const bodies: Record<string, unknown>[] = []
  const fetch = async (_url: unknown, init?: { body?: unknown }): Promise<Response> => {
    bodies.push(JSON.parse(String(init?.body)) as Record<string, unknown>)
    const reply = replies.shift()
    return new Response(JSON.stringify(reply), { status: 200, headers: { 'content-type': 'application/json', 'request-id': 'req_1' } })
  }
  return { fetch, bodies }
}

const usage = { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }
const anthropicReply = (content: unknown[], stop_reason: string) => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-test',
  content,
  stop_reason,
  stop_sequence: null,
  usage,
})

describe('real SDK round trips', () => {
  it('Anthropic: a tool loop whose every request, with cache breakpoints, passes check', async () => {
    const replies = [
      anthropicReply([{ type: 'tool_use', id: 'toolu_1', name: 'read', input: { path: '/a' } }, { type: 'tool_use', id: 'toolu_2', name: 'read', input: { path: '/b' } }], 'tool_use'),
      anthropicReply([{ type: 'text', text: 'both read', citations: null }], 'end_turn'),
    ]
    const { fetch, bodies } = cannedFetch(replies)
    const client = new Anthropic({ apiKey: 'test', fetch, maxRetries: 0 })
    const history = new RingBufferHistory<MessageParam>({
      sizeOf: anthropic.sizeOf,
      countTokens: anthropic.countTokens,
      startOn: anthropic.startOn,
      shrink: anthropic.shrink,
      maxTokens: 20_000,
    })
    history.push({ role: 'user', content: 'read /a and /b' })
    for (let turn = 0; turn < 2; turn++) {
      const reply = await client.messages.create({ model: 'claude-test', max_tokens: 100, messages: anthropicCacheBreakpoints(history.toArray()) })
      history.push({ role: 'assistant', content: reply.content })
      const calls = reply.content.filter((block) => block.type === 'tool_use')
      if (calls.length > 0) {
        history.push({ role: 'user', content: calls.map((call) => ({ type: 'tool_result' as const, tool_use_id: call.id, content: 'x'.repeat(2_000) })) })
      }
    }
    expect(bodies).toHaveLength(2)
    for (const body of bodies) expect(anthropic.check(body.messages as MessageParam[])).toEqual([])
    expect(anthropic.check(history.toArray())).toEqual([])
    expect(history.tokens).toBeLessThanOrEqual(20_000)
  })

  it('OpenAI Chat Completions: the assistant message the SDK returns goes back and passes check', async () => {
    const completion = (message: unknown) => ({
      id: 'c',
      object: 'chat.completion',
      created: 0,
      model: 'gpt-test',
      choices: [{ index: 0, finish_reason: 'stop', logprobs: null, message }],
    })
    const replies = [
      completion({ role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }] }),
      completion({ role: 'assistant', content: 'done', refusal: null }),
    ]
    const { fetch, bodies } = cannedFetch(replies)
    const client = new OpenAI({ apiKey: 'test', fetch, maxRetries: 0 })
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'go' },
    ]
    for (let turn = 0; turn < 2; turn++) {
      const reply = await client.chat.completions.create({ model: 'gpt-test', messages })
      const message = reply.choices[0]?.message
      if (message === undefined) throw new Error('no message')
      messages.push(message)
      for (const call of message.tool_calls ?? []) messages.push({ role: 'tool', tool_call_id: call.id, content: 'result' })
    }
    for (const body of bodies) expect(openaiChat.check(body.messages as ChatCompletionMessageParam[])).toEqual([])
    expect(openaiChat.check(messages)).toEqual([])
    expect(openaiChat.check(messages.slice(3))).toEqual([expect.objectContaining({ code: 'ORPHAN_RESULT' })])
  })

  it('AI SDK: the messages of a generateText tool loop with its own test model pass check', async () => {
    const model = new MockLanguageModelV4({
      doGenerate: [
        {
          content: [
            { type: 'reasoning', text: 'two lookups' },
            { type: 'tool-call', toolCallId: 't1', toolName: 'lookup', input: '{"q":"a"}' },
            { type: 'tool-call', toolCallId: 't2', toolName: 'lookup', input: '{"q":"b"}' },
          ],
          finishReason: { unified: 'tool-calls', raw: undefined },
          usage: { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } },
          warnings: [],
        },
        {
          content: [{ type: 'text', text: 'a and b' }],
          finishReason: { unified: 'stop', raw: undefined },
          usage: { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } },
          warnings: [],
        },
      ],
    })
    const prompt: ModelMessage[] = [{ role: 'user', content: 'look up a and b' }]
    const result = await generateText({
      model,
      messages: prompt,
      tools: { lookup: tool({ inputSchema: z.object({ q: z.string() }), execute: async ({ q }) => `found ${q}` }) },
      stopWhen: stepCountIs(3),
    })
    // Each step's response carries that step's messages (the calls and their results, then the reply).
    const conversation = [...prompt, ...result.steps.flatMap((step) => step.response.messages)]
    expect(conversation.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant'])
    expect(aiSdk.check(conversation)).toEqual([])
    expect(aiSdk.check(conversation.slice(2)).map((p) => p.code)).toEqual(['ORPHAN_RESULT', 'ORPHAN_RESULT'])
    const ui = await convertToModelMessages([{ role: 'user', parts: [{ type: 'text', text: 'hi' }] }])
    expect(aiSdk.check(ui)).toEqual([])
    expect(aiSdk.countTokens(ui[0] as ModelMessage)).toBeGreaterThan(0)
  })

  it('LangChain: messages stored and restored by its own serialisers measure and check the same', () => {
    const messages: BaseMessage[] = [
      new HumanMessage('q'),
      new AIMessage({ content: '', tool_calls: [{ id: 'c1', name: 'f', args: { a: 1 } }] }),
      new ToolMessage({ content: 'r'.repeat(400), tool_call_id: 'c1' }),
    ]
    const restored = mapStoredMessagesToChatMessages(mapChatMessagesToStoredMessages(messages))
    expect(langchain.check(restored)).toEqual([])
    expect(restored.map((m) => langchain.countTokens(m))).toEqual(messages.map((m) => langchain.countTokens(m)))
    expect(langchain.check(restored.slice(2))).toEqual([expect.objectContaining({ code: 'ORPHAN_RESULT' })])
  })
})
