// What redis-concurrency.test.ts and its workers share: the options of every history, and the
// worker's input.
import type { RingBufferHistoryOptions } from '../../../src/index.js'

export interface Message {
  role: 'user' | 'assistant'
  content: string
}

export const historyOptions = {
  maxMessages: 12,
  maxBytes: 1_500,
  maxTokens: 120,
  maxPinned: 1,
  pin: (m: Message) => m.content.startsWith('!'),
  startOn: (m: Message) => m.role === 'user',
} satisfies RingBufferHistoryOptions<Message>

export interface ConcurrencyInput {
  port: number
  prefix: string
  worker: number
  sessions: string[]
  pushes: number
}
