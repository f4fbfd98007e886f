import type { ResponseInputItem } from 'openai/resources/responses/responses'
import { describe, expect, it } from 'vitest'
import { openaiResponses } from 'bounded-session/formats'
import { codes, shrinkTo } from './helpers.js'

type I = ResponseInputItem
const user = (content: string): I => ({ role: 'user', content })
const reasoning = (id: string): I => ({ type: 'reasoning', id, summary: [{ type: 'summary_text', text: 'thinking' }] })
const call = (id: string): I => ({ type: 'function_call', call_id: id, name: 'search', arguments: '{}' })
const output = (id: string, text = 'found'): I => ({ type: 'function_call_output', call_id: id, output: text })
const reply = (text: string): I => ({ type: 'message', role: 'assistant', id: 'msg', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] } as I)

describe('openaiResponses.check', () => {
  it('accepts reasoning with its call, outputs later, and a reply', () => {
    expect(openaiResponses.check([user('q'), reasoning('r1'), call('a'), call('b'), output('a'), output('b'), reasoning('r2'), reply('done')])).toEqual([])
  })

  it('reports an output without its call, and a call without its output once a message follows', () => {
    expect(codes(openaiResponses.check([user('q'), output('a')]))).toEqual([[1, 'ORPHAN_RESULT']])
    expect(codes(openaiResponses.check([user('q'), call('a'), user('next')]))).toEqual([[1, 'UNANSWERED_CALL']])
    expect(openaiResponses.check([user('q'), reasoning('r'), call('a')])).toEqual([])
  })

  it('reports reasoning not followed by the item it produced, but not as the newest item', () => {
    expect(codes(openaiResponses.check([user('q'), reasoning('r'), user('again')]))).toEqual([[1, 'REASONING_WITHOUT_ITEM']])
    expect(codes(openaiResponses.check([user('q'), call('a'), reasoning('r'), output('a')]))).toEqual([[2, 'REASONING_WITHOUT_ITEM']])
    expect(openaiResponses.check([user('q'), reasoning('r')])).toEqual([])
  })

  it('pairs other client calls by call_id, and MCP approvals by their ids', () => {
    const custom = { type: 'custom_tool_call', call_id: 'c', name: 'patch', input: 'diff' } as I
    const customOut = { type: 'custom_tool_call_output', call_id: 'c', output: 'ok' } as I
    const ask = { type: 'mcp_approval_request', id: 'ap', name: 'x', arguments: '{}', server_label: 's' } as I
    const answer = { type: 'mcp_approval_response', approval_request_id: 'ap', approve: true } as I
    expect(openaiResponses.check([user('q'), custom, customOut, ask, answer, user('next')])).toEqual([])
    expect(openaiResponses.group(custom)).toEqual({ calls: ['c'] })
    expect(openaiResponses.group(answer)).toEqual({ results: ['ap'] })
    expect(codes(openaiResponses.check([user('q'), answer]))).toEqual([[1, 'ORPHAN_RESULT']])
  })

  it('reports duplicates and items it cannot read', () => {
    expect(codes(openaiResponses.check([user('q'), call('a'), output('a'), call('a'), output('a')]))).toEqual([
      [3, 'DUPLICATE_CALL_ID'],
      [4, 'DUPLICATE_RESULT'],
    ])
    expect(codes(openaiResponses.check([{ content: 'no role' } as unknown as I, { type: 5 } as unknown as I]))).toEqual([
      [0, 'INVALID_MESSAGE'],
      [1, 'INVALID_MESSAGE'],
    ])
  })
})

describe('openaiResponses group, pin, startOn, measures and shrink', () => {
  it('ties reasoning to the next item and calls to outputs', () => {
    expect(openaiResponses.group(reasoning('r'))).toEqual({ withNext: true })
    expect(openaiResponses.group(call('a'))).toEqual({ calls: ['a'] })
    expect(openaiResponses.group(output('a'))).toEqual({ results: ['a'] })
    expect(openaiResponses.group(user('q'))).toBeUndefined()
    expect(openaiResponses.pin?.({ role: 'developer', content: 'rules' })).toBe(true)
    expect(openaiResponses.pin?.(user('q'))).toBe(false)
    expect(openaiResponses.startOn?.(user('q'))).toBe(true)
    expect(openaiResponses.startOn?.(output('a'))).toBe(false)
  })

  it('counts reasoning, arguments and outputs, and shrinks an output keeping its call_id', () => {
    expect(openaiResponses.countTokens({ ...call('a'), arguments: 'x'.repeat(4_000) } as I)).toBeGreaterThan(1_000)
    expect(openaiResponses.countTokens({ ...reasoning('r'), encrypted_content: 'e'.repeat(4_000) } as I)).toBeGreaterThan(1_000)
    const shrunk = shrinkTo(openaiResponses, output('a', 'o'.repeat(10_000)), 80)
    expect(openaiResponses.countTokens(shrunk)).toBeLessThanOrEqual(80)
    expect(shrunk).toMatchObject({ type: 'function_call_output', call_id: 'a' })
  })
})
