// Issue 20's guarantee, per format: a RingBufferHistory built with `format`, fed random
// conversations (text, images, reasoning, parallel tool calls, results in one or several
// messages) under random token and message-count budgets and `trimTo`: after every push,
// `toArray()` and `window()` pass the format's `check`, and the held tokens, by an independent
// count of every string, and the held messages stay within the budgets.
//
// The count budgets start at 10 messages, above the largest group a plan makes (a reasoning item,
// three calls and three results, as separate items in openaiResponses) beside the system message:
// only a group that alone exceeds the budget may be cut (the `group` option's TSDoc). Window
// counts start at 10 too, so that a window holds the start of the newest turn: a smaller one may
// start at the newest message, a reply (startOn's rule), which Anthropic and Gemini refuse as a
// first message. A window too small for the newest group leaves it out: test/history-groups.test.ts.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RingBufferHistory } from 'bounded-session'
import { type MessageFormat, aiSdk, anthropic, gemini, langchain, openaiChat, openaiResponses } from 'bounded-session/formats'
import { assertProperty } from '../helpers/property.js'
import { build, independentTokens, planArb } from './conversations.js'

const formats = { anthropic, openaiChat, openaiResponses, aiSdk, gemini, langchain } as unknown as Record<keyof typeof build, MessageFormat<unknown>>

const budgetArb = fc.record({
  maxTokens: fc.integer({ min: 2_500, max: 20_000 }),
  trimTo: fc.constantFrom(0, 0.25, 0.5, 1),
  windowTokens: fc.integer({ min: 2_500, max: 20_000 }),
  windowTrimTo: fc.constantFrom(0.5, 1),
  maxMessages: fc.option(fc.integer({ min: 10, max: 40 }), { nil: 1_000 }),
  windowMessages: fc.option(fc.integer({ min: 10, max: 30 }), { nil: undefined }),
})

describe.each(Object.keys(build) as (keyof typeof build)[])('%s in a RingBufferHistory', (name) => {
  const format = formats[name]
  it('keeps toArray() and window() valid after every push, and the held tokens within the budget', () => {
    assertProperty(
      fc.property(planArb, budgetArb, (plan, budget) => {
        const history = new RingBufferHistory<unknown>({ format, maxTokens: budget.maxTokens, maxMessages: budget.maxMessages, trimTo: budget.trimTo })
        for (const message of build[name](plan)) {
          history.push(message)
          const held = history.toArray()
          expect(format.check(held), 'toArray()').toEqual([])
          const window = history.window({ maxTokens: budget.windowTokens, maxMessages: budget.windowMessages, trimTo: budget.windowTrimTo })
          expect(format.check(window), 'window()').toEqual([])
          const independent = held.reduce((sum: number, m) => sum + independentTokens(m), 0)
          expect(independent).toBeLessThanOrEqual(history.tokens)
          expect(history.tokens).toBeLessThanOrEqual(budget.maxTokens)
          expect(history.length).toBeLessThanOrEqual(budget.maxMessages)
        }
      }),
      { numRuns: 60 },
    )
  })
})

describe('count budgets and groups: the newest group is kept whole', () => {
  type M = Parameters<typeof openaiChat.check>[0][number]
  const calls = (...ids: string[]): M => ({ role: 'assistant', content: null, tool_calls: ids.map((id) => ({ id, type: 'function' as const, function: { name: 'f', arguments: '{}' } })) })
  const tool = (id: string): M => ({ role: 'tool', tool_call_id: id, content: 'r' })
  // 13 messages, one push each; the last push goes past maxMessages 12 while its group is in flight.
  const conversation: M[] = [
    { role: 'system', content: 's' },
    { role: 'user', content: 'a' },
    { role: 'assistant', content: 'a' },
    { role: 'user', content: 'a' },
    calls('c0', 'c1'),
    tool('c0'),
    tool('c1'),
    { role: 'assistant', content: 'a' },
    { role: 'user', content: 'a' },
    calls('c2', 'c3', 'c4'),
    tool('c2'),
    tool('c3'),
    tool('c4'),
  ]

  it('a trim by maxMessages keeps the newest group whole (trimTo 0.25 of 12 keeps the system message and the last result only)', () => {
    const history = new RingBufferHistory<M>({ format: openaiChat, maxMessages: 12, trimTo: 0.25 })
    for (const message of conversation) {
      history.push(message)
      expect(openaiChat.check(history.toArray())).toEqual([])
    }
  })

  it('window({ maxMessages }) does not start inside a group', () => {
    const history = new RingBufferHistory<M>({ format: openaiChat })
    for (const message of conversation) {
      history.push(message)
      expect(openaiChat.check(history.window({ maxMessages: 3 }))).toEqual([])
    }
  })
})
