import { describe, expect, it } from 'vitest'
import { type AgentMessage, createAgentHistory, startsTurn } from './history.js'

const prompt = (text: string): AgentMessage => ({ role: 'user', content: text })
const call = (id: string): AgentMessage => ({
  role: 'assistant',
  content: [{ type: 'tool_use', id, name: 'read_file', input: { path: `/src/${id}.ts` } }],
})
const result = (id: string, size: number): AgentMessage => ({
  role: 'user',
  content: [{ type: 'tool_result', tool_use_id: id, content: 'x'.repeat(size) }],
})
const answer = (text: string): AgentMessage => ({ role: 'assistant', content: text })

// Every tool_result in the history has its tool_use in an earlier message.
function resultsHaveCalls(messages: readonly AgentMessage[]): boolean {
  const called = new Set<string>()
  for (const m of messages) {
    if (typeof m.content === 'string') continue
    for (const block of m.content) {
      if (block.type === 'tool_use') called.add(block.id)
      if (block.type === 'tool_result' && !called.has(block.tool_use_id)) return false
    }
  }
  return true
}

describe('recipe: tool calls and tool results are trimmed together', () => {
  it('never keeps a tool result without its call, keeps the first prompt, stays within tokens', () => {
    const history = createAgentHistory(prompt('You are a coding agent. Rules: …'), 2_000)
    for (let turn = 0; turn < 60; turn++) {
      history.push(prompt(`task ${turn}`))
      for (let step = 0; step < 3; step++) {
        const id = `t${turn}-${step}`
        history.push(call(id), result(id, 300 + 97 * ((turn + step) % 7)))
      }
      history.push(answer(`done ${turn}`))
      const messages = history.toArray()
      expect(resultsHaveCalls(messages)).toBe(true)
      expect(messages[0]).toEqual(prompt('You are a coding agent. Rules: …'))
      // After the pinned prompt, the history starts on a turn of its own.
      const second = messages[1]
      if (second !== undefined && history.evictedCount > 0) expect(startsTurn(second)).toBe(true)
      expect(history.tokens).toBeLessThanOrEqual(2_000)
    }
    expect(history.evictedCount).toBeGreaterThan(100)
  })

  it('a window for one model call honours whole exchanges as well', () => {
    const history = createAgentHistory(prompt('rules'), 50_000)
    for (let turn = 0; turn < 10; turn++) {
      history.push(prompt(`task ${turn}`), call(`c${turn}`), result(`c${turn}`, 800), answer('ok'))
    }
    const window = history.window({ maxTokens: 700 })
    expect(window[0]).toEqual(prompt('rules'))
    expect(resultsHaveCalls(window)).toBe(true)
    expect(window.length).toBeLessThan(history.length)
  })
})
