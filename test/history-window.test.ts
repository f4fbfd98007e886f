import { describe, expect, it, vi } from 'vitest'
import { RingBufferHistory } from '../src/index.js'

interface Msg {
  role: 'system' | 'user' | 'assistant'
  content: string
}
const sys = (content: string): Msg => ({ role: 'system', content })
const user = (content: string): Msg => ({ role: 'user', content })
const asst = (content: string): Msg => ({ role: 'assistant', content })
const isUser = (m: Msg): boolean => m.role === 'user'
const isSystem = (m: Msg): boolean => m.role === 'system'
const names = (ms: Msg[]): string[] => ms.map((m) => m.content)

function snapshot<T>(h: RingBufferHistory<T>) {
  return { items: h.toArray(), length: h.length, bytes: h.bytes, tokens: h.tokens, evicted: h.evictedCount }
}

describe('RingBufferHistory: window', () => {
  it('without a budget returns every retained message in order, as a new array', () => {
    const h = new RingBufferHistory<Msg>()
    h.push(user('u1'), asst('a1'), user('u2'))
    const w = h.window()
    expect(names(w)).toEqual(['u1', 'a1', 'u2'])
    expect(names(h.window({}))).toEqual(['u1', 'a1', 'u2'])
    w.pop()
    w.push(asst('injected'))
    expect(names(h.toArray())).toEqual(['u1', 'a1', 'u2'])
  })

  it('an empty history gives an empty window', () => {
    const h = new RingBufferHistory<Msg>()
    expect(h.window()).toEqual([])
    expect(h.window({ maxMessages: 1, maxBytes: 1, maxTokens: 1 })).toEqual([])
  })

  it('maxMessages keeps the newest messages', () => {
    const h = new RingBufferHistory<Msg>()
    h.push(user('u1'), asst('a1'), user('u2'), asst('a2'))
    expect(names(h.window({ maxMessages: 2 }))).toEqual(['u2', 'a2'])
    expect(names(h.window({ maxMessages: 10 }))).toEqual(['u1', 'a1', 'u2', 'a2'])
  })

  it('maxBytes keeps a contiguous run of the newest messages that fit', () => {
    const h = new RingBufferHistory<Msg>({ sizeOf: (m) => m.content.length })
    h.push(user('a'), asst('bbbbbbbbbb'), user('c'), asst('d'))
    // 'a' would fit in the budget, but 'bbbbbbbbbb' does not: the run stops there
    expect(names(h.window({ maxBytes: 5 }))).toEqual(['c', 'd'])
    expect(names(h.window({ maxBytes: 12 }))).toEqual(['bbbbbbbbbb', 'c', 'd'])
    expect(names(h.window({ maxBytes: 13 }))).toEqual(['a', 'bbbbbbbbbb', 'c', 'd'])
  })

  it('maxTokens keeps the newest messages that fit (default countTokens)', () => {
    const h = new RingBufferHistory<Msg>()
    h.push(user('x'.repeat(40)), asst('y'.repeat(40)), user('z'.repeat(40))) // 10 tokens each
    expect(h.window({ maxTokens: 25 }).map((m) => m.content[0])).toEqual(['y', 'z'])
    expect(h.window({ maxTokens: 30 }).map((m) => m.content[0])).toEqual(['x', 'y', 'z'])
  })

  it('every budget field given must be met', () => {
    const h = new RingBufferHistory<Msg>({ sizeOf: (m) => m.content.length, countTokens: () => 1 })
    h.push(user('aaaa'), asst('b'), user('c'), asst('d'))
    expect(names(h.window({ maxMessages: 3, maxBytes: 100, maxTokens: 100 }))).toEqual(['b', 'c', 'd'])
    expect(names(h.window({ maxMessages: 100, maxBytes: 2, maxTokens: 100 }))).toEqual(['c', 'd'])
    expect(names(h.window({ maxMessages: 100, maxBytes: 100, maxTokens: 1 }))).toEqual(['d'])
  })

  it('always includes the newest message, even when it alone exceeds the budget', () => {
    const h = new RingBufferHistory<Msg>({ sizeOf: (m) => m.content.length })
    h.push(user('u1'), asst('a long reply'))
    expect(names(h.window({ maxBytes: 1 }))).toEqual(['a long reply'])
    expect(names(h.window({ maxTokens: 1 }))).toEqual(['a long reply'])
  })

  it('always includes the protected pinned messages, which count toward the budget', () => {
    const h = new RingBufferHistory<Msg>({ pin: isSystem })
    h.push(sys('init'), user('u1'), asst('a1'), user('u2'), asst('a2'))
    expect(names(h.window({ maxMessages: 3 }))).toEqual(['init', 'u2', 'a2'])
    expect(names(h.window({ maxMessages: 1 }))).toEqual(['init', 'a2'])
  })

  it('pinned messages count toward the byte budget of the window', () => {
    const h = new RingBufferHistory<Msg>({ pin: isSystem, sizeOf: (m) => m.content.length })
    h.push(sys('iiiiii'), user('uu1'), asst('aa1'), user('uu2'))
    // 6 (pinned) + 3 (newest) = 9; adding aa1 would make 12 > 10
    expect(names(h.window({ maxBytes: 10 }))).toEqual(['iiiiii', 'uu2'])
    expect(names(h.window({ maxBytes: 12 }))).toEqual(['iiiiii', 'aa1', 'uu2'])
  })

  it('a pinned message that is no longer protected is treated like any other', () => {
    const h = new RingBufferHistory<Msg>({ pin: isSystem })
    h.push(sys('p1'), user('u1'), sys('p2'), asst('a1'))
    expect(names(h.window({ maxMessages: 2 }))).toEqual(['p2', 'a1'])
    expect(names(h.window({ maxMessages: 4 }))).toEqual(['p1', 'u1', 'p2', 'a1'])
  })

  it('protected messages inside the run do not break it', () => {
    const h = new RingBufferHistory<Msg>({ pin: isSystem })
    h.push(user('u1'), asst('a1'), sys('p'), user('u2'))
    expect(names(h.window({ maxMessages: 3 }))).toEqual(['a1', 'p', 'u2'])
  })

  it('honours startOn: the oldest unpinned message in the window satisfies it', () => {
    const h = new RingBufferHistory<Msg>({ startOn: isUser })
    h.push(user('u1'), asst('a1'), user('u2'), asst('a2'), user('u3'), asst('a3'))
    expect(names(h.window({ maxMessages: 3 }))).toEqual(['u3', 'a3'])
    expect(names(h.window({ maxMessages: 4 }))).toEqual(['u2', 'a2', 'u3', 'a3'])
  })

  it('honours startOn after the protected init prompt', () => {
    const h = new RingBufferHistory<Msg>({ pin: isSystem, startOn: isUser })
    h.push(sys('init'), user('u1'), asst('a1'), user('u2'), asst('a2'))
    expect(names(h.window({ maxMessages: 4 }))).toEqual(['init', 'u2', 'a2'])
  })

  it('honours startOn with a protected message inside the run', () => {
    const h = new RingBufferHistory<Msg>({ pin: isSystem, startOn: isUser })
    h.push(user('u1'), asst('a1'), sys('p'), user('u2'))
    expect(names(h.window({ maxMessages: 3 }))).toEqual(['p', 'u2'])
  })

  it('does not apply startOn when nothing was left out', () => {
    const h = new RingBufferHistory<Msg>({ startOn: isUser })
    h.push(asst('a0'), user('u1'), asst('a1'))
    expect(names(h.window())).toEqual(['a0', 'u1', 'a1'])
    expect(names(h.window({ maxMessages: 3 }))).toEqual(['a0', 'u1', 'a1'])
  })

  it('startOn never drops the newest message', () => {
    const h = new RingBufferHistory<Msg>({ startOn: isUser })
    h.push(asst('a1'), asst('a2'), asst('a3'))
    expect(names(h.window({ maxMessages: 2 }))).toEqual(['a3'])
  })

  it('leaves the history unchanged and calls no callback', () => {
    const onTrim = vi.fn()
    const sizeOf = vi.fn((m: Msg) => m.content.length)
    const h = new RingBufferHistory<Msg>({ pin: isSystem, startOn: isUser, onTrim, sizeOf })
    h.push(sys('init'), user('u1'), asst('a1'), user('u2'), asst('a2'))
    const before = snapshot(h)
    const sizeCalls = sizeOf.mock.calls.length
    h.window({ maxMessages: 2 })
    h.window({ maxBytes: 3 })
    h.window({ maxTokens: 1 })
    expect(snapshot(h)).toEqual(before)
    expect(onTrim).not.toHaveBeenCalled()
    expect(sizeOf).toHaveBeenCalledTimes(sizeCalls)
    h.push(user('u3'))
    expect(names(h.toArray())).toEqual(['init', 'u1', 'a1', 'u2', 'a2', 'u3'])
  })

  it('works after the buffer has wrapped around', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 4, pin: isSystem })
    h.push(sys('init'))
    for (let i = 1; i <= 20; i++) h.push(user(`u${i}`))
    expect(names(h.window({ maxMessages: 3 }))).toEqual(['init', 'u19', 'u20'])
    expect(names(h.window())).toEqual(['init', 'u18', 'u19', 'u20'])
  })
})
