// Messages shaped like a host's `{ role, content }` and the few readers the history tests share.
import type { RingBufferHistory } from '../../src/index.js'

export interface Msg {
  role: 'system' | 'user' | 'assistant' | 'tool'
  content: string
}

export const sys = (content: string): Msg => ({ role: 'system', content })
export const user = (content: string): Msg => ({ role: 'user', content })
export const asst = (content: string): Msg => ({ role: 'assistant', content })
export const tool = (content: string): Msg => ({ role: 'tool', content })
export const isUser = (m: Msg): boolean => m.role === 'user'
export const isSystem = (m: Msg): boolean => m.role === 'system'

/** The contents, oldest first: what a test compares. */
export const names = (ms: Iterable<Msg>): string[] => Array.from(ms, (m) => m.content)

/** Everything a user can observe of a history, to compare before and after a refused call. */
export function stateOf<T>(h: RingBufferHistory<T>) {
  return { items: h.toArray(), length: h.length, bytes: h.bytes, tokens: h.tokens, evicted: h.evictedCount }
}
