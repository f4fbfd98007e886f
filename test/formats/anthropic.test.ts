import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'
import { describe, expect, it } from 'vitest'
import { anthropic } from 'bounded-session/formats'
import { codes, pngBase64, shrinkTo } from './helpers.js'

const user = (content: MessageParam['content']): MessageParam => ({ role: 'user', content })
const assistant = (content: MessageParam['content']): MessageParam => ({ role: 'assistant', content })
const call = (id: string): MessageParam['content'] => [{ type: 'tool_use', id, name: 'search', input: { q: id } }]
const result = (id: string, content = 'found'): { type: 'tool_result'; tool_use_id: string; content: string } => ({
  type: 'tool_result',
  tool_use_id: id,
  content,
})

describe('anthropic.check', () => {
  it('accepts a conversation with parallel tool use, results first in the next user message', () => {
    const messages = [
      user('find both'),
      assistant([{ type: 'text', text: 'searching' }, ...(call('a') as []), ...(call('b') as [])]),
      user([result('a'), result('b'), { type: 'text', text: 'thanks' }]),
      assistant('done'),
    ]
    expect(anthropic.check(messages)).toEqual([])
  })

  it('merges consecutive messages of one role into a turn, as the API does', () => {
    expect(anthropic.check([user('q'), assistant(call('a')), user([result('a')]), user('next')])).toEqual([])
    expect(codes(anthropic.check([user('q'), assistant(call('a')), user('first'), user([result('a')])]))).toEqual([[3, 'RESULT_NOT_FIRST']])
  })

  it('reports a first message that is not a user message', () => {
    expect(codes(anthropic.check([assistant('hi'), user('q')]))).toEqual([[0, 'FIRST_NOT_USER']])
  })

  it('reports an orphan result, whose tool_use is not in the assistant turn right before it', () => {
    expect(codes(anthropic.check([user([result('x')])]))).toEqual([[0, 'ORPHAN_RESULT']])
    const twoTurnsLater = [user('q'), assistant(call('a')), user([result('a')]), assistant('ok'), user([result('a')])]
    expect(codes(anthropic.check(twoTurnsLater))).toEqual([
      [4, 'DUPLICATE_RESULT'],
      [4, 'ORPHAN_RESULT'],
    ])
  })

  it('reports a call not answered in the next user turn, but not the newest call (in flight)', () => {
    expect(codes(anthropic.check([user('q'), assistant(call('a')), user('never mind')]))).toEqual([[1, 'UNANSWERED_CALL']])
    expect(anthropic.check([user('q'), assistant(call('a'))])).toEqual([])
    const parallel: MessageParam = assistant([...(call('a') as []), ...(call('b') as [])])
    // Half the results so far, nothing else after them: still in flight.
    expect(anthropic.check([user('q'), parallel, user([result('a')])])).toEqual([])
    expect(codes(anthropic.check([user('q'), parallel, user([result('a')]), assistant('?')]))).toEqual([[1, 'UNANSWERED_CALL']])
  })

  it('reports blocks in the wrong role, missing ids, duplicate ids and empty content', () => {
    expect(codes(anthropic.check([user(call('a'))]))).toEqual([[0, 'WRONG_ROLE']])
    expect(codes(anthropic.check([user('q'), assistant([result('a')])]))).toEqual([[1, 'WRONG_ROLE']])
    const noId = { role: 'assistant', content: [{ type: 'tool_use', name: 'f', input: {} }] } as unknown as MessageParam
    expect(codes(anthropic.check([user('q'), noId]))).toEqual([[1, 'MISSING_CALL_ID']])
    expect(codes(anthropic.check([user('q'), assistant(call('a')), user([result('a')]), assistant(call('a')), user([result('a')])]))).toEqual([
      [3, 'DUPLICATE_CALL_ID'],
      [4, 'DUPLICATE_RESULT'],
    ])
    expect(codes(anthropic.check([user(''), assistant('a'), user([])]))).toEqual([
      [0, 'EMPTY_CONTENT'],
      [2, 'EMPTY_CONTENT'],
    ])
    expect(anthropic.check([user('q'), assistant('')])).toEqual([])
  })

  it('takes a system message in messages only after a user message', () => {
    const system: MessageParam = { role: 'system', content: 'be brief' }
    expect(anthropic.check([user('q'), system, assistant('ok')])).toEqual([])
    expect(codes(anthropic.check([system, user('q')]))).toEqual([[0, 'MISPLACED_SYSTEM']])
    expect(codes(anthropic.check([user('q'), assistant('a'), system]))).toEqual([[2, 'MISPLACED_SYSTEM']])
  })

  it('reports what is not a message as INVALID_MESSAGE, and never throws', () => {
    const throwing = Object.defineProperty({ role: 'user' }, 'content', {
      get() {
        throw new Error('boom')
      },
    })
    const bad = [null, 'text', { role: 'bot', content: 'x' }, { role: 'user', content: 3 }, throwing] as unknown as MessageParam[]
    expect(codes(anthropic.check(bad)).map(([, code]) => code)).toEqual(Array(5).fill('INVALID_MESSAGE'))
  })
})

describe('anthropic measures, group and startOn', () => {
  it('count every string of a message: text, tool input, results', () => {
    expect(anthropic.countTokens(user([{ type: 'text', text: 'x'.repeat(10_000) }]))).toBeGreaterThan(2_500)
    expect(anthropic.countTokens(assistant([{ type: 'tool_use', id: 't', name: 'f', input: { query: 'y'.repeat(4_000) } }]))).toBeGreaterThan(1_000)
    expect(anthropic.countTokens(user([{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'z'.repeat(4_000) }] }]))).toBeGreaterThan(1_000)
    expect(anthropic.sizeOf(user([{ type: 'text', text: 'x'.repeat(10_000) }]))).toBeGreaterThan(20_000)
  })

  it('counts images by width × height / 750, capped at 1,600, and 1,600 when the size is unknown', () => {
    const image = (data: string): MessageParam =>
      user([{ type: 'image', source: { type: 'base64', media_type: 'image/png', data } }])
    const small = anthropic.countTokens(image(pngBase64(200, 200)))
    expect(small).toBeGreaterThanOrEqual(54)
    expect(small).toBeLessThan(54 + 40)
    expect(anthropic.countTokens(image(pngBase64(4000, 3000)))).toBeGreaterThanOrEqual(1_533)
    expect(anthropic.countTokens(image(pngBase64(4000, 3000)))).toBeLessThan(1_600 + 40)
    const byUrl = user([{ type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }])
    expect(anthropic.countTokens(byUrl)).toBeGreaterThanOrEqual(1_600)
    // The base64 data is counted by the image rule, its bytes by their length.
    const big = image(pngBase64(200, 200) + 'A'.repeat(1_000_000))
    expect(anthropic.countTokens(big)).toBeLessThan(200)
    expect(anthropic.sizeOf(big)).toBeGreaterThan(1_000_000)
  })

  it('ties a tool_use to its tool_result by id and starts windows at a user message without results', () => {
    expect(anthropic.group(assistant([...(call('a') as []), ...(call('b') as [])]))).toEqual({ calls: ['a', 'b'], results: undefined })
    expect(anthropic.group(user([result('a'), result('b')]))).toEqual({ calls: undefined, results: ['a', 'b'] })
    expect(anthropic.group(user('hi'))).toBeUndefined()
    expect(anthropic.startOn?.(user('hi'))).toBe(true)
    expect(anthropic.startOn?.(user([result('a')]))).toBe(false)
    expect(anthropic.startOn?.(assistant('a'))).toBe(false)
    expect(anthropic.pin).toBeUndefined()
  })
})

describe('anthropic.shrink', () => {
  it('cuts the largest tool result, keeping ids, other blocks and the given message', () => {
    const message = user([result('a', 'r'.repeat(8_000)), { type: 'text', text: 'short note' }])
    const before = JSON.stringify(message)
    const shrunk = shrinkTo(anthropic, message, 200)
    expect(anthropic.countTokens(shrunk)).toBeLessThanOrEqual(200)
    expect(JSON.stringify(message)).toBe(before)
    const blocks = shrunk.content as { type: string; tool_use_id?: string; content?: string; text?: string }[]
    expect(blocks[0]?.tool_use_id).toBe('a')
    expect(blocks[0]?.content).toMatch(/^r+…\[\d+ characters elided\]…r+$/)
    expect(blocks[1]).toEqual({ type: 'text', text: 'short note' })
    expect(anthropic.check([user('q'), assistant(call('a')), shrunk])).toEqual([])
  })

  it('cuts the next largest text when one is not enough, and returns a fitting message as it is', () => {
    const message = user([
      { type: 'text', text: 'a'.repeat(2_000) },
      { type: 'text', text: 'b'.repeat(3_000) },
    ])
    const shrunk = shrinkTo(anthropic, message, 100)
    expect(anthropic.countTokens(shrunk)).toBeLessThanOrEqual(100)
    expect(shrinkTo(anthropic, message, 10_000)).toBe(message)
    expect(shrinkTo(anthropic, user('x'.repeat(1_000)), 50).content).toMatch(/elided/)
  })
})
