import { AIMessage, type BaseMessage, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages'
import { describe, expect, it } from 'vitest'
import { langchain } from 'bounded-session/formats'
import { codes, shrinkTo } from './helpers.js'

const calls = (...ids: string[]) => new AIMessage({ content: '', tool_calls: ids.map((id) => ({ id, name: 'search', args: { q: id } })) })
const tool = (id: string, content = 'found') => new ToolMessage({ content, tool_call_id: id })

describe('langchain.check', () => {
  it('accepts parallel tool calls answered by ToolMessages right after them', () => {
    expect(langchain.check([new SystemMessage('s'), new HumanMessage('q'), calls('a', 'b'), tool('a'), tool('b'), new AIMessage('done')])).toEqual([])
  })

  it('reports orphan ToolMessages, unanswered calls (not in flight), missing ids', () => {
    expect(codes(langchain.check([new HumanMessage('q'), tool('a')]))).toEqual([[1, 'ORPHAN_RESULT']])
    expect(codes(langchain.check([new HumanMessage('q'), calls('a'), new HumanMessage('next')]))).toEqual([[1, 'UNANSWERED_CALL']])
    expect(langchain.check([new HumanMessage('q'), calls('a', 'b'), tool('a')])).toEqual([])
    const noId = new AIMessage({ content: '', tool_calls: [{ name: 'f', args: {} }] })
    expect(codes(langchain.check([new HumanMessage('q'), noId]))).toEqual([[1, 'MISSING_CALL_ID']])
  })

  it('reads plain objects shaped like messages (another copy of the package) through their fields', () => {
    const copies = [
      { type: 'human', content: 'q' },
      { type: 'ai', content: '', tool_calls: [{ id: 'a', name: 'f', args: {} }] },
      { type: 'tool', content: 'r', tool_call_id: 'a' },
    ] as unknown as BaseMessage[]
    expect(langchain.check(copies)).toEqual([])
    expect(langchain.group(copies[1] as BaseMessage)).toEqual({ calls: ['a'] })
    expect(codes(langchain.check([{ type: 'robot', content: 'x' } as unknown as BaseMessage]))).toEqual([[0, 'INVALID_MESSAGE']])
  })
})

describe('langchain measures, group and shrink', () => {
  it('counts content, tool call args and results, not the serialisation copies', () => {
    const text = new HumanMessage('x'.repeat(4_000))
    const tokens = langchain.countTokens(text)
    expect(tokens).toBeGreaterThanOrEqual(1_000)
    // lc_kwargs repeats the content: counting it would double the count.
    expect(tokens).toBeLessThan(1_100)
    expect(langchain.countTokens(new AIMessage({ content: '', tool_calls: [{ id: 'a', name: 'f', args: { q: 'y'.repeat(4_000) } }] }))).toBeGreaterThan(1_000)
  })

  it('ties calls to ToolMessages, pins system messages, starts at human messages', () => {
    expect(langchain.group(calls('a', 'b'))).toEqual({ calls: ['a', 'b'] })
    expect(langchain.group(tool('a'))).toEqual({ results: ['a'] })
    expect(langchain.pin?.(new SystemMessage('s'))).toBe(true)
    expect(langchain.startOn?.(new HumanMessage('q'))).toBe(true)
    expect(langchain.startOn?.(tool('a'))).toBe(false)
  })

  it('shrinks into a new message of the same class, which serialises with the new content', () => {
    const big = tool('a', 'r'.repeat(10_000))
    const shrunk = shrinkTo(langchain, big, 100)
    expect(shrunk).toBeInstanceOf(ToolMessage)
    expect(shrunk).not.toBe(big)
    expect((shrunk as ToolMessage).tool_call_id).toBe('a')
    expect(langchain.countTokens(shrunk)).toBeLessThanOrEqual(100)
    expect(JSON.stringify(shrunk.toDict())).toContain('elided')
    expect(big.content).toHaveLength(10_000)
  })
})
