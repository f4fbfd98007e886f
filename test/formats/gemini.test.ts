import type { Content } from '@google/genai'
import { describe, expect, it } from 'vitest'
import { gemini } from 'bounded-session/formats'
import { codes, pngBase64, shrinkTo } from './helpers.js'

const user = (text: string): Content => ({ role: 'user', parts: [{ text }] })
const model = (text: string): Content => ({ role: 'model', parts: [{ text }] })
const calls = (...names: string[]): Content => ({ role: 'model', parts: names.map((name) => ({ functionCall: { name, args: { q: name } } })) })
const responses = (...names: string[]): Content => ({ role: 'user', parts: names.map((name) => ({ functionResponse: { name, response: { output: `${name} done` } } })) })

describe('gemini.check', () => {
  it('accepts parallel calls answered by as many responses in the next turn', () => {
    expect(gemini.check([user('q'), calls('a', 'b'), responses('a', 'b'), model('done')])).toEqual([])
  })

  it('reports a model turn first, a response count that differs, and orphan responses', () => {
    expect(codes(gemini.check([model('hi')]))).toEqual([[0, 'FIRST_NOT_USER']])
    expect(codes(gemini.check([user('q'), calls('a', 'b'), responses('a')]))).toEqual([[2, 'RESPONSE_COUNT']])
    expect(codes(gemini.check([user('q'), responses('a')]))).toEqual([[1, 'ORPHAN_RESULT']])
    expect(codes(gemini.check([user('q'), calls('a'), user('wait'), responses('a')]))).toEqual([
      [1, 'UNANSWERED_CALL'],
      [3, 'ORPHAN_RESULT'],
    ])
  })

  it('matches ids when both sides carry them, and takes the newest call turn as in flight', () => {
    const withId: Content = { role: 'model', parts: [{ functionCall: { id: 'x', name: 'a', args: {} } }] }
    const wrongId: Content = { role: 'user', parts: [{ functionResponse: { id: 'y', name: 'a', response: {} } }] }
    expect(codes(gemini.check([user('q'), withId, wrongId]))).toEqual([[2, 'ORPHAN_RESULT']])
    expect(gemini.check([user('q'), calls('a')])).toEqual([])
  })

  it('reports empty parts, parts in the wrong role, and what is not a Content', () => {
    expect(codes(gemini.check([{ role: 'user', parts: [] }]))).toEqual([[0, 'EMPTY_CONTENT']])
    expect(codes(gemini.check([{ role: 'user', parts: [{ functionCall: { name: 'a' } }] }]))).toEqual([[0, 'WRONG_ROLE']])
    expect(codes(gemini.check([{ role: 'assistant', content: 'x' } as unknown as Content]))).toEqual([[0, 'INVALID_MESSAGE']])
  })
})

describe('gemini measures, group and shrink', () => {
  it('counts images by 768-px tiles of 258, 1,120 unknown; audio 32 a second; numTokens when given', () => {
    const image = (data: string): Content => ({ role: 'user', parts: [{ inlineData: { mimeType: 'image/png', data } }] })
    expect(gemini.countTokens(image(pngBase64(300, 300)))).toBeLessThan(258 + 30)
    expect(gemini.countTokens(image(pngBase64(1536, 768)))).toBeGreaterThanOrEqual(516)
    expect(gemini.countTokens({ role: 'user', parts: [{ fileData: { fileUri: 'gs://b/cat.png', mimeType: 'image/png' } }] })).toBeGreaterThanOrEqual(1_120)
    const audio: Content = { role: 'user', parts: [{ inlineData: { mimeType: 'audio/mp3', data: 'A'.repeat((16_000 * 10 * 4) / 3) } }] }
    expect(gemini.countTokens(audio)).toBeGreaterThanOrEqual(320)
    const given: Content = { role: 'user', parts: [{ inlineData: { mimeType: 'image/png', data: pngBase64(4000, 4000) }, mediaResolution: { numTokens: 70 } }] }
    expect(gemini.countTokens(given)).toBeLessThan(100)
  })

  it('ties a turn of calls to the next turn and starts windows at user turns without responses', () => {
    expect(gemini.group(calls('a', 'b'))).toEqual({ withNext: true })
    expect(gemini.group(responses('a'))).toBeUndefined()
    expect(gemini.startOn?.(user('q'))).toBe(true)
    expect(gemini.startOn?.(responses('a'))).toBe(false)
    expect(gemini.startOn?.({ parts: [{ text: 'no role means user' }] })).toBe(true)
  })

  it('shrinks the largest text or function response field, keeping names and thoughts', () => {
    const big: Content = { role: 'user', parts: [{ functionResponse: { name: 'read', response: { output: 'o'.repeat(10_000), path: '/a' } } }] }
    const shrunk = shrinkTo(gemini, big, 100)
    expect(gemini.countTokens(shrunk)).toBeLessThanOrEqual(100)
    expect(shrunk.parts?.[0]?.functionResponse).toMatchObject({ name: 'read', response: { path: '/a' } })
    const thought: Content = { role: 'model', parts: [{ text: 't'.repeat(2_000), thought: true }, { text: 'x'.repeat(2_000) }] }
    expect(shrinkTo(gemini, thought, 600).parts?.[0]).toBe(thought.parts?.[0])
  })
})
