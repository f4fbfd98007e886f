// The adapters are typed against the frameworks' own types: each is what its framework expects.
import type { AgentInputItem, Session, SessionHistoryTransactionArgs, SessionHistoryTransactionAwareSession } from '@openai/agents'
import type { ModelMessage, PrepareStepFunction, ToolSet } from 'ai'
import { tool } from 'ai'
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { boundedPrepareStep, ModelMessageHistory, modelMessages } from '../../src/ai-sdk/index.js'
import { BoundedSession, type BoundedSessionTransactionArgs, openaiAgents } from '../../src/openai-agents/index.js'
import type { MessageFormat, RingBufferHistory } from '../../src/index.js'
import type { BaseListChatMessageHistory } from '@langchain/core/chat_history'
import type { BaseMessage } from '@langchain/core/messages'
import type { Runnable } from '@langchain/core/runnables'
import { BoundedChatMessageHistory, boundedTrimmer, chatMessages } from '../../src/langchain/index.js'

describe('bounded-session/openai-agents', () => {
  it('BoundedSession is a Session, transaction-aware, and takes the SDK transaction arguments', () => {
    expectTypeOf<BoundedSession>().toExtend<Session>()
    expectTypeOf<BoundedSession>().toExtend<SessionHistoryTransactionAwareSession>()
    expectTypeOf<SessionHistoryTransactionArgs>().toExtend<BoundedSessionTransactionArgs>()
    expectTypeOf<BoundedSessionTransactionArgs>().toExtend<SessionHistoryTransactionArgs>()
    expectTypeOf(openaiAgents).toEqualTypeOf<MessageFormat<AgentInputItem>>()
  })
})

describe('bounded-session/ai-sdk', () => {
  it('boundedPrepareStep is a prepareStep of any tool set', () => {
    const tools = { lookup: tool({ inputSchema: z.object({ q: z.string() }), execute: async () => 'ok' }) }
    expectTypeOf(boundedPrepareStep()).toExtend<PrepareStepFunction<typeof tools>>()
    expectTypeOf(boundedPrepareStep()).toExtend<PrepareStepFunction<ToolSet>>()
    // @ts-expect-error an unknown option
    boundedPrepareStep({ maxTokenz: 1 })
  })

  it('ModelMessageHistory is a RingBufferHistory of ModelMessage', () => {
    expectTypeOf<ModelMessageHistory>().toExtend<RingBufferHistory<ModelMessage>>()
    expectTypeOf(modelMessages).toEqualTypeOf<MessageFormat<ModelMessage>>()
  })
})

describe('bounded-session/langchain', () => {
  it('BoundedChatMessageHistory is a BaseListChatMessageHistory; boundedTrimmer is a runnable of messages', () => {
    expectTypeOf<BoundedChatMessageHistory>().toExtend<BaseListChatMessageHistory>()
    expectTypeOf(boundedTrimmer()).toExtend<Runnable<BaseMessage[], BaseMessage[]>>()
    expectTypeOf(chatMessages).toEqualTypeOf<MessageFormat<BaseMessage>>()
    // @ts-expect-error an unknown option
    new BoundedChatMessageHistory({ maxTokenz: 1 })
  })
})
