import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import { describe, expect, it } from 'vitest'
import { openaiChat } from 'bounded-session/formats'
import { codes, pngBase64, shrinkTo } from './helpers.js'

type M = ChatCompletionMessageParam
const system: M = { role: 'system', content: 'be brief' }
const user = (content: string): M => ({ role: 'user', content })
const calls = (...ids: string[]): M => ({
  role: 'assistant',
  content: null,
  tool_calls: ids.map((id) => ({ id, type: 'function' as const, function: { name: 'search', arguments: `{"q":"${id}"}` } })),
})
const tool = (id: string, content = 'found'): M => ({ role: 'tool', tool_call_id: id, content })

describe('openaiChat.check', () => {
  it('accepts parallel calls answered by the tool messages right after them', () => {
    expect(openaiChat.check([system, user('q'), calls('a', 'b'), tool('b'), tool('a'), { role: 'assistant', content: 'done' }])).toEqual([])
  })

  it('reports a tool message that does not follow its assistant message', () => {
    expect(codes(openaiChat.check([user('q'), tool('a')]))).toEqual([[1, 'ORPHAN_RESULT']])
    expect(codes(openaiChat.check([user('q'), calls('a'), user('wait'), tool('a')]))).toEqual([
      [1, 'UNANSWERED_CALL'],
      [3, 'ORPHAN_RESULT'],
    ])
  })

  it('reports a call whose tool message is missing, but not the newest round in flight', () => {
    expect(codes(openaiChat.check([user('q'), calls('a', 'b'), tool('a'), user('next')]))).toEqual([[1, 'UNANSWERED_CALL']])
    expect(openaiChat.check([user('q'), calls('a', 'b'), tool('a')])).toEqual([])
    expect(openaiChat.check([user('q'), calls('a')])).toEqual([])
  })

  it('reports an empty assistant message, missing and duplicate ids, and what is not a message', () => {
    expect(codes(openaiChat.check([user('q'), { role: 'assistant', content: null }]))).toEqual([[1, 'EMPTY_CONTENT']])
    expect(codes(openaiChat.check([user('q'), { role: 'tool', content: 'x' } as unknown as M]))).toEqual([[1, 'MISSING_CALL_ID']])
    expect(codes(openaiChat.check([user('q'), calls('a'), tool('a'), calls('a'), tool('a')]))).toEqual([
      [3, 'DUPLICATE_CALL_ID'],
      [4, 'DUPLICATE_RESULT'],
    ])
    expect(codes(openaiChat.check([{ role: 'robot', content: 'x' } as unknown as M, 7 as unknown as M]))).toEqual([
      [0, 'INVALID_MESSAGE'],
      [1, 'INVALID_MESSAGE'],
    ])
  })
})

describe('openaiChat measures, group, pin and startOn', () => {
  it('count text parts, call arguments and tool results', () => {
    expect(openaiChat.countTokens({ role: 'user', content: [{ type: 'text', text: 'x'.repeat(4_000) }] })).toBeGreaterThan(1_000)
    const args = { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: 'y'.repeat(4_000) } }] } as M
    expect(openaiChat.countTokens(args)).toBeGreaterThan(1_000)
    expect(openaiChat.countTokens(tool('c', 'z'.repeat(4_000)))).toBeGreaterThan(1_000)
  })

  it('counts images by tiles (85 at low detail, 1,445 when the size is unknown) and audio by its length', () => {
    const image = (url: string, detail?: 'low' | 'high'): M => ({ role: 'user', content: [{ type: 'image_url', image_url: detail ? { url, detail } : { url } }] })
    const base = openaiChat.countTokens(image('data:image/png;base64,' + pngBase64(1, 1), 'low'))
    expect(base).toBeGreaterThanOrEqual(85)
    // 1024 × 768: short side 768 already, 2 × 2 tiles: 85 + 4 × 170.
    const tiled = openaiChat.countTokens(image('data:image/png;base64,' + pngBase64(1024, 768)))
    expect(tiled - base).toBeGreaterThanOrEqual(680)
    expect(tiled - base).toBeLessThan(700)
    expect(openaiChat.countTokens(image('https://example.com/cat.png'))).toBeGreaterThanOrEqual(1_445)
    const seconds = 10
    const audio: M = { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'A'.repeat((16_000 * seconds * 4) / 3), format: 'mp3' } }] }
    expect(openaiChat.countTokens(audio)).toBeGreaterThanOrEqual(100)
    expect(openaiChat.countTokens(audio)).toBeLessThan(150)
  })

  it('ties calls to tool messages, pins system and developer messages, starts windows at users', () => {
    expect(openaiChat.group(calls('a', 'b'))).toEqual({ calls: ['a', 'b'] })
    expect(openaiChat.group(tool('a'))).toEqual({ results: ['a'] })
    expect(openaiChat.group(user('q'))).toBeUndefined()
    expect(openaiChat.group({ role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } })).toEqual({ withNext: true })
    expect([system, { role: 'developer', content: 'd' } as M, user('q')].map((m) => openaiChat.pin?.(m))).toEqual([true, true, false])
    expect([user('q'), tool('a'), calls('a')].map((m) => openaiChat.startOn?.(m))).toEqual([true, false, false])
  })
})

describe('openaiChat.shrink', () => {
  it('cuts a tool message, keeping its tool_call_id', () => {
    const shrunk = shrinkTo(openaiChat, tool('a', 'r'.repeat(10_000)), 100)
    expect(openaiChat.countTokens(shrunk)).toBeLessThanOrEqual(100)
    expect(shrunk).toMatchObject({ role: 'tool', tool_call_id: 'a' })
    expect(openaiChat.check([user('q'), calls('a'), shrunk])).toEqual([])
  })

  it('cuts the largest text part and leaves the image parts', () => {
    const message: M = {
      role: 'user',
      content: [
        { type: 'text', text: 't'.repeat(5_000) },
        { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } },
      ],
    }
    const shrunk = shrinkTo(openaiChat, message, 300)
    expect(openaiChat.countTokens(shrunk)).toBeLessThanOrEqual(300)
    expect((shrunk.content as unknown[])[1]).toBe((message.content as unknown[])[1])
  })
})
