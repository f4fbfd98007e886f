import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'
import { describe, expect, it } from 'vitest'
import { anthropic, anthropicCacheBreakpoints } from 'bounded-session/formats'

// Block positions of the marks, counting every block of every message in order.
function markedPositions(messages: MessageParam[]): number[] {
  const found: number[] = []
  let position = 0
  for (const message of messages) {
    const blocks = typeof message.content === 'string' ? [{}] : message.content
    for (const block of blocks) {
      if ((block as { cache_control?: unknown }).cache_control != null) found.push(position)
      position++
    }
  }
  return found
}

const blocksMessage = (role: 'user' | 'assistant', n: number, tag: string): MessageParam => ({
  role,
  content: Array.from({ length: n }, (_, i) => ({ type: 'text' as const, text: `${tag}${i}` })),
})

describe('anthropicCacheBreakpoints', () => {
  it('marks the last block of the newest message, converting string content to one text block', () => {
    const window: MessageParam[] = [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'a' },
      { role: 'user', content: 'again' },
    ]
    const marked = anthropicCacheBreakpoints(window)
    expect(marked[2]).toEqual({ role: 'user', content: [{ type: 'text', text: 'again', cache_control: { type: 'ephemeral' } }] })
    expect(marked[0]).toBe(window[0])
    expect(window[2]).toEqual({ role: 'user', content: 'again' })
    expect(anthropic.check(marked)).toEqual([])
  })

  it('places at most 4 marks, each within the lookback of the one after it', () => {
    const window = Array.from({ length: 20 }, (_, i) => blocksMessage(i % 2 === 0 ? 'user' : 'assistant', 5, `m${i}-`))
    const positions = markedPositions(anthropicCacheBreakpoints(window))
    expect(positions).toEqual([39, 59, 79, 99])
    const few = markedPositions(anthropicCacheBreakpoints(window, { maxBreakpoints: 2, lookbackBlocks: 10 }))
    expect(few).toEqual([89, 99])
    // A short window needs only the last mark: the lookback reaches its start.
    expect(markedPositions(anthropicCacheBreakpoints(window.slice(0, 3)))).toEqual([14])
  })

  it('sets the ttl, skips thinking blocks and empty text, and removes marks already there', () => {
    const window: MessageParam[] = [
      { role: 'user', content: [{ type: 'text', text: 'q', cache_control: { type: 'ephemeral' } }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'answer' },
          { type: 'thinking', thinking: 'hmm', signature: 'sig' },
          { type: 'text', text: '' },
        ],
      },
    ]
    const marked = anthropicCacheBreakpoints(window, { ttl: '1h' })
    expect(markedPositions(marked)).toEqual([1])
    expect((marked[1]?.content as { cache_control?: unknown }[])[0]?.cache_control).toEqual({ type: 'ephemeral', ttl: '1h' })
    expect((window[0]?.content as { cache_control?: unknown }[])[0]?.cache_control).toEqual({ type: 'ephemeral' })
  })

  it('returns an empty window as it is, and refuses bad options with a code', () => {
    expect(anthropicCacheBreakpoints([])).toEqual([])
    expect(() => anthropicCacheBreakpoints([], { maxBreakpoints: 5 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'maxBreakpoints' }))
    expect(() => anthropicCacheBreakpoints([], { lookbackBlocks: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    expect(() => anthropicCacheBreakpoints([], { ttl: '2h' as '1h' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'ttl' }))
    expect(() => anthropicCacheBreakpoints('x' as unknown as MessageParam[])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
  })
})
