import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'
import type { Content } from '@google/genai'
import type { BaseMessage } from '@langchain/core/messages'
import type { ModelMessage } from 'ai'
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import type { ResponseInputItem } from 'openai/resources/responses/responses'
import { describe, expectTypeOf, test } from 'vitest'
import type { FormatProblem, MessageFormat } from 'bounded-session'
import {
  type AnthropicCacheOptions,
  type FormatProblemCode,
  aiSdk,
  anthropic,
  anthropicCacheBreakpoints,
  gemini,
  langchain,
  openaiChat,
  openaiResponses,
} from 'bounded-session/formats'

describe('each format is a MessageFormat of its SDK’s own message type', () => {
  test('the six formats', () => {
    expectTypeOf(anthropic).toEqualTypeOf<MessageFormat<MessageParam>>()
    expectTypeOf(openaiChat).toEqualTypeOf<MessageFormat<ChatCompletionMessageParam>>()
    expectTypeOf(openaiResponses).toEqualTypeOf<MessageFormat<ResponseInputItem>>()
    expectTypeOf(aiSdk).toEqualTypeOf<MessageFormat<ModelMessage>>()
    expectTypeOf(gemini).toEqualTypeOf<MessageFormat<Content>>()
    expectTypeOf(langchain).toEqualTypeOf<MessageFormat<BaseMessage>>()
  })

  test('they accept the SDK messages and refuse other shapes', () => {
    const m: MessageParam = { role: 'user', content: [{ type: 'text', text: 'hi' }] }
    expectTypeOf(anthropic.countTokens).toBeCallableWith(m)
    // @ts-expect-error a Gemini content is not an Anthropic message
    anthropic.countTokens({ role: 'model', parts: [] })
    const c: ChatCompletionMessageParam = { role: 'tool', tool_call_id: 'c', content: 'r' }
    expectTypeOf(openaiChat.check).toBeCallableWith([c])
    // @ts-expect-error a tool message needs its tool_call_id
    openaiChat.countTokens({ role: 'tool', content: 'r' })
    const r: ResponseInputItem = { type: 'function_call_output', call_id: 'c', output: 'o' }
    expectTypeOf(openaiResponses.group).toBeCallableWith(r)
    const a: ModelMessage = { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'c', toolName: 't', output: { type: 'text', value: 'v' } }] }
    expectTypeOf(aiSdk.sizeOf).toBeCallableWith(a)
    const g: Content = { role: 'user', parts: [{ text: 'hi' }] }
    expectTypeOf(gemini.shrink).parameter(0).toEqualTypeOf<Content>()
    expectTypeOf(gemini.check).toBeCallableWith([g])
  })

  test('check returns problems with codes; the cache helper keeps the message type', () => {
    expectTypeOf(anthropic.check([])).toEqualTypeOf<FormatProblem[]>()
    expectTypeOf<'ORPHAN_RESULT'>().toExtend<FormatProblemCode>()
    expectTypeOf(anthropicCacheBreakpoints([], { ttl: '1h' })).toEqualTypeOf<MessageParam[]>()
    expectTypeOf<AnthropicCacheOptions['ttl']>().toEqualTypeOf<'5m' | '1h' | undefined>()
    // @ts-expect-error Anthropic takes '5m' or '1h'
    anthropicCacheBreakpoints([], { ttl: '2h' })
  })
})
