import { describe, expect, it } from 'vitest'
import { MessageTooLargeError, RingBufferHistory, type TrimReason } from '../src/index.js'
import { asst, isSystem, type Msg, names, stateOf, sys, user } from './helpers/messages.js'

const bytesOf = (m: Msg): number => m.content.length

describe('RingBufferHistory: pushPinned', () => {
  it('without the pin option, protects the message from trimming', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3 })
    expect(h.pushPinned(user('init prompt'))).toBe(1)
    for (let i = 1; i <= 5; i++) h.push(asst(`a${i}`))
    expect(names(h)).toEqual(['init prompt', 'a4', 'a5'])
  })

  it('with the pin option, protects a message pin does not recognise', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3, pin: isSystem })
    h.pushPinned(user('framing prompt, flagged by the host'))
    for (let i = 1; i <= 5; i++) h.push(asst(`a${i}`))
    expect(names(h)).toEqual(['framing prompt, flagged by the host', 'a4', 'a5'])
  })

  it('the same message pushed with push is trimmed like any other', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3 })
    h.push(user('init prompt'))
    for (let i = 1; i <= 5; i++) h.push(asst(`a${i}`))
    expect(names(h)).toEqual(['a3', 'a4', 'a5'])
  })

  it('counts toward maxPinned: the older pinned message loses protection and is trimmed as usual', () => {
    const trimmed: string[] = []
    const h = new RingBufferHistory<Msg>({ maxMessages: 4, onTrim: (ms) => trimmed.push(...names(ms)) })
    h.pushPinned(user('old init'))
    h.push(asst('a1'))
    h.pushPinned(user('new init'))
    h.push(asst('a2'))
    h.push(asst('a3'))
    // 'old init' is now the oldest unprotected message.
    expect(trimmed).toEqual(['old init'])
    h.push(asst('a4'), asst('a5'))
    expect(names(h)).toEqual(['new init', 'a3', 'a4', 'a5'])
  })

  it('shares maxPinned with messages pinned by the pin option', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 4, pin: isSystem })
    h.push(sys('by pin'))
    h.pushPinned(user('by pushPinned'))
    for (let i = 1; i <= 4; i++) h.push(asst(`a${i}`))
    expect(names(h)).toEqual(['by pushPinned', 'a2', 'a3', 'a4'])
    // and the other way round
    h.push(sys('by pin again'))
    for (let i = 5; i <= 8; i++) h.push(asst(`a${i}`))
    expect(names(h)).toEqual(['by pin again', 'a6', 'a7', 'a8'])
  })

  it('with maxPinned 2, the two newest pinned messages are protected', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 4, maxPinned: 2 })
    h.pushPinned(user('p1'))
    h.pushPinned(user('p2'))
    h.pushPinned(user('p3'))
    for (let i = 1; i <= 4; i++) h.push(asst(`a${i}`))
    expect(names(h)).toEqual(['p2', 'p3', 'a3', 'a4'])
  })

  it('with maxPinned 0 nothing is protected', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 2, maxPinned: 0 })
    h.pushPinned(user('p'))
    h.push(asst('a1'), asst('a2'))
    expect(names(h)).toEqual(['a1', 'a2'])
  })

  it('survives trimming by bytes, by tokens, and at trimTo 0', () => {
    const byBytes = new RingBufferHistory<Msg>({ maxBytes: 9, sizeOf: bytesOf })
    byBytes.pushPinned(user('init'))
    byBytes.push(asst('aaa'), asst('bbb'), asst('ccc'))
    expect(names(byBytes)).toEqual(['init', 'ccc'])

    const byTokens = new RingBufferHistory<Msg>({ maxTokens: 3, countTokens: () => 1 })
    byTokens.pushPinned(user('init'))
    byTokens.push(asst('a'), asst('b'), asst('c'))
    expect(names(byTokens)).toEqual(['init', 'b', 'c'])

    const generations = new RingBufferHistory<Msg>({ maxMessages: 4, trimTo: 0 })
    generations.pushPinned(user('init'))
    generations.push(asst('a'), asst('b'), asst('c'), asst('d'))
    expect(names(generations)).toEqual(['init', 'd'])
  })

  it('never reports a protected message to onTrim', () => {
    const reports: Array<[string[], TrimReason]> = []
    const h = new RingBufferHistory<Msg>({ maxMessages: 2, onTrim: (ms, reason) => reports.push([names(ms), reason]) })
    h.pushPinned(user('init'))
    h.push(asst('a'), asst('b'), asst('c'))
    expect(reports).toEqual([
      [['a'], 'count'],
      [['b'], 'count'],
    ])
  })

  it('several messages: each is pinned, in order, and returns the new length', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 5, maxPinned: 2 })
    h.push(asst('a0'))
    expect(h.pushPinned(user('p1'), user('p2'))).toBe(3)
    for (let i = 1; i <= 5; i++) h.push(asst(`a${i}`))
    expect(names(h)).toEqual(['p1', 'p2', 'a3', 'a4', 'a5'])
    expect(h.snapshot().pinned).toEqual([0, 1])
  })

  it('several messages beyond maxPinned: the later one takes the protection within the same call', () => {
    const h = new RingBufferHistory<Msg>({ maxBytes: 100, sizeOf: bytesOf })
    h.pushPinned(user('a'.repeat(60)), user('b'.repeat(60)))
    // Only the second is protected, so the first is trimmed to make room for it.
    expect(names(h)).toEqual(['b'.repeat(60)])
    expect(h.bytes).toBe(60)
  })

  it('all or nothing: one message that cannot fit beside the protected ones leaves the history unchanged', () => {
    const h = new RingBufferHistory<Msg>({ maxBytes: 100, maxPinned: 2, sizeOf: bytesOf })
    h.push(asst('before'))
    const before = stateOf(h)
    // Both stay protected: 60 + 60 > 100.
    expect(() => h.pushPinned(user('a'.repeat(60)), user('b'.repeat(60)))).toThrow(MessageTooLargeError)
    expect(stateOf(h)).toEqual(before)
    // Protection is unchanged too: nothing was pinned, and a pinned message of 94 bytes fits beside 'before'.
    expect(h.snapshot().pinned).toEqual([])
    h.pushPinned(user('c'.repeat(94)))
    expect(names(h)).toEqual(['before', 'c'.repeat(94)])
  })

  it('all or nothing: a throwing measure on a later message leaves the history unchanged', () => {
    const h = new RingBufferHistory<Msg>({
      maxMessages: 3,
      sizeOf: (m) => {
        if (m.content === 'boom') throw new Error('sizeOf failed')
        return m.content.length
      },
    })
    h.push(asst('a'), asst('b'), asst('c'))
    const before = stateOf(h)
    expect(() => h.pushPinned(user('p'), user('boom'))).toThrow('sizeOf failed')
    expect(stateOf(h)).toEqual(before)
    // Nothing was pinned: plain pushes still trim everything.
    h.push(asst('d'), asst('e'), asst('f'))
    expect(names(h)).toEqual(['d', 'e', 'f'])
  })

  it('with no message it changes nothing and returns the length', () => {
    const h = new RingBufferHistory<Msg>()
    h.push(asst('a'))
    expect(h.pushPinned()).toBe(1)
    expect(h.snapshot().pinned).toEqual([])
  })
})
