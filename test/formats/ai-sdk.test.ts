import type { ModelMessage } from 'ai'
import { describe, expect, it } from 'vitest'
import { aiSdk } from 'bounded-session/formats'
import { codes, pngBase64, shrinkTo } from './helpers.js'

type M = ModelMessage
const user = (content: string): M => ({ role: 'user', content })
const calls = (...ids: string[]): M => ({
  role: 'assistant',
  content: [{ type: 'reasoning', text: 'let me look' }, ...ids.map((id) => ({ type: 'tool-call' as const, toolCallId: id, toolName: 'search', input: { q: id } }))],
})
const results = (...ids: string[]): M => ({
  role: 'tool',
  content: ids.map((id) => ({ type: 'tool-result' as const, toolCallId: id, toolName: 'search', output: { type: 'text' as const, value: `found ${id}` } })),
})

describe('aiSdk.check', () => {
  it('accepts parallel calls answered in one or several tool messages', () => {
    expect(aiSdk.check([{ role: 'system', content: 's' }, user('q'), calls('a', 'b'), results('a'), results('b'), { role: 'assistant', content: 'done' }])).toEqual([])
  })

  it('reports orphan results, unanswered calls (not in flight), and duplicates', () => {
    expect(codes(aiSdk.check([user('q'), results('a')]))).toEqual([[1, 'ORPHAN_RESULT']])
    expect(codes(aiSdk.check([user('q'), calls('a', 'b'), results('a'), user('next')]))).toEqual([[1, 'UNANSWERED_CALL']])
    expect(aiSdk.check([user('q'), calls('a', 'b'), results('a')])).toEqual([])
    expect(codes(aiSdk.check([user('q'), calls('a'), results('a'), calls('a'), results('a')]))).toEqual([
      [3, 'DUPLICATE_CALL_ID'],
      [4, 'DUPLICATE_RESULT'],
    ])
  })

  it('takes provider-executed calls answered in their own message, and approval round trips', () => {
    const executed: M = {
      role: 'assistant',
      content: [
        { type: 'tool-call', toolCallId: 'w', toolName: 'web_search', input: {}, providerExecuted: true },
        { type: 'tool-result', toolCallId: 'w', toolName: 'web_search', output: { type: 'json', value: { hits: 3 } } },
      ],
    }
    expect(aiSdk.check([user('q'), executed, user('next')])).toEqual([])
    expect(aiSdk.group(executed)).toBeUndefined()
    const ask: M = {
      role: 'assistant',
      content: [
        { type: 'tool-call', toolCallId: 'd', toolName: 'delete', input: {} },
        { type: 'tool-approval-request', approvalId: 'ap', toolCallId: 'd' },
      ],
    }
    const approve: M = { role: 'tool', content: [{ type: 'tool-approval-response', approvalId: 'ap', approved: true }] }
    expect(aiSdk.check([user('q'), ask, approve, results('d'), user('next')])).toEqual([])
    expect(codes(aiSdk.check([user('q'), approve]))).toEqual([[1, 'ORPHAN_RESULT']])
  })

  it('reports what is not a ModelMessage', () => {
    expect(codes(aiSdk.check([{ role: 'tool', content: 'x' } as unknown as M, { role: 'model', parts: [] } as unknown as M]))).toEqual([
      [0, 'INVALID_MESSAGE'],
      [1, 'INVALID_MESSAGE'],
    ])
  })
})

describe('aiSdk measures, group and shrink', () => {
  it('counts text, reasoning, inputs and outputs, and images by the provider rule from base64 or bytes', () => {
    expect(aiSdk.countTokens({ role: 'assistant', content: [{ type: 'reasoning', text: 'r'.repeat(4_000) }] })).toBeGreaterThan(1_000)
    expect(aiSdk.countTokens(results('a'))).toBeGreaterThan(5)
    const png = pngBase64(200, 200)
    const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0))
    for (const image of [png, bytes]) {
      const tokens = aiSdk.countTokens({ role: 'user', content: [{ type: 'image', image, mediaType: 'image/png' }] })
      expect(tokens).toBeGreaterThanOrEqual(54)
      expect(tokens).toBeLessThan(100)
    }
    expect(aiSdk.countTokens({ role: 'user', content: [{ type: 'image', image: new URL('https://example.com/a.png') }] })).toBeGreaterThanOrEqual(1_600)
    const pdf = aiSdk.countTokens({ role: 'user', content: [{ type: 'file', data: 'A'.repeat(200_000), mediaType: 'application/pdf' }] })
    expect(pdf).toBeGreaterThanOrEqual(3 * 3_000)
    expect(aiSdk.sizeOf({ role: 'user', content: [{ type: 'file', data: new Uint8Array(500_000), mediaType: 'application/pdf' }] })).toBeGreaterThan(500_000)
  })

  it('ties client calls to results, pins system, starts at user', () => {
    expect(aiSdk.group(calls('a', 'b'))).toEqual({ calls: ['a', 'b'] })
    expect(aiSdk.group(results('a', 'b'))).toEqual({ results: ['a', 'b'] })
    expect(aiSdk.pin?.({ role: 'system', content: 's' })).toBe(true)
    expect(aiSdk.startOn?.(user('q'))).toBe(true)
    expect(aiSdk.startOn?.(results('a'))).toBe(false)
  })

  it('shrinks a text tool output keeping its toolCallId', () => {
    const big: M = { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'a', toolName: 'read', output: { type: 'text', value: 'v'.repeat(10_000) } }] }
    const shrunk = shrinkTo(aiSdk, big, 100)
    expect(aiSdk.countTokens(shrunk)).toBeLessThanOrEqual(100)
    expect(shrunk.content[0]).toMatchObject({ type: 'tool-result', toolCallId: 'a', toolName: 'read' })
  })
})
