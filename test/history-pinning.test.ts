import { describe, expect, it, vi } from 'vitest'
import { RingBufferHistory, type TrimReason } from '../src/index.js'

interface Msg {
  role: 'system' | 'user' | 'assistant'
  content: string
}
const sys = (content: string): Msg => ({ role: 'system', content })
const user = (content: string): Msg => ({ role: 'user', content })
const asst = (content: string): Msg => ({ role: 'assistant', content })
const isSystem = (m: Msg): boolean => m.role === 'system'
const contents = (h: RingBufferHistory<Msg>): string[] => h.toArray().map((m) => m.content)

describe('RingBufferHistory: pinning', () => {
  it('the init prompt survives trimming by count', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3, pin: isSystem })
    h.push(sys('init'))
    for (let i = 1; i <= 10; i++) h.push(i % 2 ? user(`u${i}`) : asst(`a${i}`))
    expect(contents(h)).toEqual(['init', 'u9', 'a10'])
    expect(h.length).toBe(3)
    expect(h.evictedCount).toBe(8)
  })

  it('without pin, the init prompt is trimmed like any other message', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3 })
    h.push(sys('init'), user('u1'), asst('a1'), user('u2'))
    expect(contents(h)).toEqual(['u1', 'a1', 'u2'])
  })

  it('the init prompt survives trimming by bytes and by tokens', () => {
    const byBytes = new RingBufferHistory<Msg>({ maxBytes: 10, sizeOf: (m) => m.content.length, pin: isSystem })
    byBytes.push(sys('init'), user('abc'), asst('def'), user('ghi'))
    expect(contents(byBytes)).toEqual(['init', 'def', 'ghi'])
    expect(byBytes.bytes).toBe(10)

    const byTokens = new RingBufferHistory<Msg>({ maxTokens: 3, countTokens: () => 1, pin: isSystem })
    byTokens.push(sys('init'), user('u1'), asst('a1'), user('u2'), asst('a2'))
    expect(contents(byTokens)).toEqual(['init', 'u2', 'a2'])
    expect(byTokens.tokens).toBe(3)
  })

  it('pinned messages keep their place in push order', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3, pin: isSystem })
    h.push(user('u1'), sys('init'), asst('a1'), user('u2'))
    expect(contents(h)).toEqual(['init', 'a1', 'u2'])
    h.push(asst('a2'))
    expect(contents(h)).toEqual(['init', 'u2', 'a2'])
  })

  it('only the newest maxPinned pinned messages are protected (default maxPinned 1)', () => {
    const trimmed: string[] = []
    const h = new RingBufferHistory<Msg>({
      maxMessages: 3,
      pin: isSystem,
      onTrim: (t) => trimmed.push(...t.map((m) => m.content)),
    })
    h.push(sys('p1'), user('u1'), sys('p2'))
    h.push(asst('a1')) // p1 is no longer protected: it is the oldest, so it goes
    expect(contents(h)).toEqual(['u1', 'p2', 'a1'])
    h.push(user('u2'), asst('a2'))
    expect(contents(h)).toEqual(['p2', 'u2', 'a2'])
    expect(trimmed).toEqual(['p1', 'u1', 'a1'])
  })

  it('maxPinned 2 protects the two newest pinned messages', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 4, maxPinned: 2, pin: isSystem })
    h.push(sys('p1'), sys('p2'), user('u1'), asst('a1'), user('u2'), asst('a2'))
    expect(contents(h)).toEqual(['p1', 'p2', 'u2', 'a2'])
    h.push(sys('p3')) // now p2 and p3 are protected; p1 is trimmed like any other
    expect(contents(h)).toEqual(['p2', 'u2', 'a2', 'p3'])
    h.push(user('u3'))
    expect(contents(h)).toEqual(['p2', 'a2', 'p3', 'u3'])
  })

  it('maxPinned 0 protects nothing', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 2, maxPinned: 0, pin: isSystem })
    h.push(sys('init'), user('u1'), asst('a1'))
    expect(contents(h)).toEqual(['u1', 'a1'])
  })

  it('pinned messages count toward the count budget', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3, pin: isSystem })
    h.push(sys('init'), user('u1'), asst('a1'), user('u2'), asst('a2'))
    expect(h.length).toBe(3)
    expect(contents(h)).toEqual(['init', 'u2', 'a2'])
  })

  it('pinned messages count toward the byte and token budgets', () => {
    const h = new RingBufferHistory<Msg>({
      maxBytes: 10,
      maxTokens: 100,
      sizeOf: (m) => m.content.length,
      countTokens: (m) => m.content.length,
      pin: isSystem,
    })
    h.push(sys('iiii'), user('aaa'), asst('bbb'))
    expect(h.bytes).toBe(10)
    expect(h.tokens).toBe(10)
    h.push(user('ccc'))
    expect(contents(h)).toEqual(['iiii', 'bbb', 'ccc'])
    expect(h.bytes).toBe(10)
  })

  it('a newly pushed pinned message is protected at once', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 2, pin: isSystem })
    h.push(user('u1'), asst('a1'))
    h.push(sys('p1'))
    expect(contents(h)).toEqual(['a1', 'p1'])
    h.push(user('u2'))
    expect(contents(h)).toEqual(['p1', 'u2'])
  })

  it('when every other message is protected, the newest unpinned message is still kept', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3, maxPinned: 2, pin: isSystem })
    h.push(sys('p1'), sys('p2'), user('u1'), asst('a1'), user('u2'))
    expect(contents(h)).toEqual(['p1', 'p2', 'u2'])
  })

  it('reports trims of unprotected messages with the right reason, never the protected ones', () => {
    const calls: Array<[string[], TrimReason]> = []
    const h = new RingBufferHistory<Msg>({
      maxMessages: 2,
      pin: isSystem,
      onTrim: (t, r) => calls.push([t.map((m) => m.content), r]),
    })
    h.push(sys('init'), user('u1'), asst('a1'), user('u2'))
    expect(calls).toEqual([
      [['u1'], 'count'],
      [['a1'], 'count'],
    ])
  })

  it('pin is called once per message, at push time', () => {
    const pin = vi.fn(isSystem)
    const h = new RingBufferHistory<Msg>({ maxMessages: 2, pin })
    h.push(sys('init'), user('u1'), asst('a1'))
    h.push(user('u2'))
    expect(pin).toHaveBeenCalledTimes(4)
    h.toArray()
    h.window({ maxMessages: 1 })
    expect(pin).toHaveBeenCalledTimes(4)
  })

  it('clear removes pinned messages too', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 2, pin: isSystem })
    h.push(sys('init'), user('u1'))
    h.clear()
    expect(h.length).toBe(0)
    h.push(user('u2'), asst('a2'), user('u3'))
    expect(contents(h)).toEqual(['a2', 'u3'])
  })
})
