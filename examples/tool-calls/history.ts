// An agent host whose messages carry tool calls and tool results (Anthropic-style content
// blocks). A tool result must never be sent without the assistant turn that called the tool,
// so trimming must remove a call and its result together.
import { RingBufferHistory } from 'bounded-session'

export type Block =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content: string }

export interface AgentMessage {
  role: 'user' | 'assistant'
  content: string | Block[]
}

/** A user turn that starts a new exchange: not a tool result answering the turn before it. */
export function startsTurn(message: AgentMessage): boolean {
  if (message.role !== 'user') return false
  return typeof message.content === 'string' || !message.content.some((block) => block.type === 'tool_result')
}

function characters(message: AgentMessage): number {
  if (typeof message.content === 'string') return message.content.length
  let total = 0
  for (const block of message.content) {
    if (block.type === 'text') total += block.text.length
    else if (block.type === 'tool_result') total += block.content.length
    else total += block.name.length + JSON.stringify(block.input).length
  }
  return total
}

/**
 * The history for one agent session: it starts with the agent's instructions, which stay pinned,
 * and trims whole exchanges.
 */
export function createAgentHistory(instructions: AgentMessage, maxTokens: number): RingBufferHistory<AgentMessage> {
  const history = new RingBufferHistory<AgentMessage>({
    maxMessages: 200,
    maxTokens,
    // Content blocks are not a string `content`, so give the measures of this shape.
    sizeOf: (m) => 96 + 2 * characters(m),
    countTokens: (m) => Math.ceil(characters(m) / 4),
    pin: (m) => m === instructions,
    startOn: startsTurn,
  })
  history.push(instructions)
  return history
}
