import { describe, expect, it, vi } from 'vitest'
import { RingBufferHistory, type TrimReason } from '../src/index.js'

interface Msg {
  role: 'system' | 'user' | 'assistant' | 'tool'
  content: string
}
const sys = (content: string): Msg => ({ role: 'system', content })
const user = (content: string): Msg => ({ role: 'user', content })
const asst = (content: string): Msg => ({ role: 'assistant', content })
const tool = (content: string): Msg => ({ role: 'tool', content })
const isUser = (m: Msg): boolean => m.role === 'user'
const isSystem = (m: Msg): boolean => m.role === 'system'
const contents = (h: RingBufferHistory<Msg>): string[] => h.toArray().map((m) => m.content)

function recorder() {
  const calls: Array<[string[], TrimReason]> = []
  const onTrim = (t: Msg[], r: TrimReason): void => {
    calls.push([t.map((m) => m.content), r])
  }
  return { calls, onTrim }
}

describe('RingBufferHistory: startOn (whole turns)', () => {
  it('after a trim, the first retained message satisfies startOn', () => {
    const { calls, onTrim } = recorder()
    const h = new RingBufferHistory<Msg>({ maxMessages: 4, startOn: isUser, onTrim })
    h.push(user('u1'), asst('a1'), user('u2'), asst('a2'))
    h.push(user('u3'))
    expect(contents(h)).toEqual(['u2', 'a2', 'u3'])
    expect(h.evictedCount).toBe(2)
    expect(calls).toEqual([[['u1', 'a1'], 'count']])
  })

  it('removes a whole turn including tool results', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 5, startOn: isUser })
    h.push(user('u1'), asst('call'), tool('result'), asst('a1'), user('u2'))
    h.push(asst('a2'))
    expect(contents(h)).toEqual(['u2', 'a2'])
  })

  it('stops as soon as the oldest message satisfies startOn', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3, startOn: isUser })
    h.push(user('u1'), user('u2'), asst('a2'))
    h.push(user('u3'))
    expect(contents(h)).toEqual(['u2', 'a2', 'u3'])
    expect(h.evictedCount).toBe(1)
  })

  it('does not trim for startOn when the push trimmed nothing', () => {
    const onTrim = vi.fn()
    const h = new RingBufferHistory<Msg>({ maxMessages: 4, startOn: isUser, onTrim })
    h.push(asst('a0'), user('u1'), asst('a1'))
    expect(contents(h)).toEqual(['a0', 'u1', 'a1'])
    expect(h.evictedCount).toBe(0)
    expect(onTrim).not.toHaveBeenCalled()
  })

  it('never removes the newest message, even when it fails startOn', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 2, startOn: isUser })
    h.push(asst('a1'), asst('a2'))
    h.push(asst('a3'))
    expect(contents(h)).toEqual(['a3'])
    expect(h.length).toBe(1)
    expect(h.evictedCount).toBe(2)
  })

  it('the first unpinned message after the pinned init prompt satisfies startOn', () => {
    const { calls, onTrim } = recorder()
    const h = new RingBufferHistory<Msg>({ maxMessages: 4, pin: isSystem, startOn: isUser, onTrim })
    h.push(sys('init'), user('u1'), asst('a1'), user('u2'))
    h.push(asst('a2'))
    expect(contents(h)).toEqual(['init', 'u2', 'a2'])
    expect(calls).toEqual([[['u1', 'a1'], 'count']])
  })

  it('an older pinned message that is no longer protected is trimmed by startOn like any other', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 4, pin: isSystem, startOn: isUser })
    h.push(user('u0'), sys('p1'), asst('a1'), sys('p2'))
    h.push(user('u2')) // u0 goes for count; p1 (unprotected) and a1 fail startOn
    expect(contents(h)).toEqual(['p2', 'u2'])
  })

  it('startOn trims carry the reason of the last budget trim (bytes)', () => {
    const { calls, onTrim } = recorder()
    const h = new RingBufferHistory<Msg>({
      maxBytes: 10,
      sizeOf: (m) => m.content.length,
      startOn: isUser,
      onTrim,
    })
    h.push(user('uu1'), asst('aa1'), user('uu2'))
    h.push(asst('aa2')) // 12 > 10: uu1 goes for bytes, then aa1 for startOn
    expect(contents(h)).toEqual(['uu2', 'aa2'])
    expect(h.bytes).toBe(6)
    expect(calls).toEqual([[['uu1', 'aa1'], 'bytes']])
  })

  it('startOn trims carry the reason of the last budget trim (tokens)', () => {
    const { calls, onTrim } = recorder()
    const h = new RingBufferHistory<Msg>({ maxTokens: 3, countTokens: () => 1, startOn: isUser, onTrim })
    h.push(user('u1'), asst('a1'), user('u2'))
    h.push(asst('a2'))
    expect(contents(h)).toEqual(['u2', 'a2'])
    expect(h.tokens).toBe(2)
    expect(calls).toEqual([[['u1', 'a1'], 'tokens']])
  })

  it('each step of a multi-message push applies startOn after its own trim', () => {
    const { calls, onTrim } = recorder()
    const h = new RingBufferHistory<Msg>({ maxMessages: 3, startOn: isUser, onTrim })
    h.push(user('u1'), asst('a1'), user('u2'), asst('a2'), user('u3'))
    // u2: no trim. a2: u1 for count, then a1 for startOn. u3: no trim (3 messages).
    expect(contents(h)).toEqual(['u2', 'a2', 'u3'])
    expect(calls).toEqual([[['u1', 'a1'], 'count']])
  })

  it('startOn is called once per message, at push time', () => {
    const startOn = vi.fn(isUser)
    const h = new RingBufferHistory<Msg>({ maxMessages: 2, startOn })
    h.push(user('u1'), asst('a1'), user('u2'), asst('a2'))
    expect(startOn).toHaveBeenCalledTimes(4)
    h.toArray()
    h.window({ maxMessages: 1 })
    expect(startOn).toHaveBeenCalledTimes(4)
  })

  it('after startOn trims the history has room again and fills up before trimming', () => {
    const onTrim = vi.fn()
    const h = new RingBufferHistory<Msg>({ maxMessages: 4, startOn: isUser, onTrim })
    h.push(user('u1'), asst('a1'), tool('t1'), asst('b1'), user('u2'))
    expect(contents(h)).toEqual(['u2'])
    onTrim.mockClear()
    h.push(asst('a2'), user('u3'), asst('a3'))
    expect(contents(h)).toEqual(['u2', 'a2', 'u3', 'a3'])
    expect(onTrim).not.toHaveBeenCalled()
  })
})
