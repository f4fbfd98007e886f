import { describe, expect, it } from 'vitest'
import { RingBufferHistory, type RingBufferHistoryOptions } from '../src/index.js'
import { type Msg, names, sys, user, asst } from './helpers/messages.js'

// A subclass whose constructor pushes its own messages (its pinned instructions): restore() and
// clone() give back exactly the history they copy, not the constructor's messages beside it
// (issue 17 item 5).
class Framed extends RingBufferHistory<Msg> {
  constructor(options?: RingBufferHistoryOptions<Msg>) {
    super(options)
    this.pushPinned(sys('instructions'))
  }
}

describe('RingBufferHistory subclasses that push in their constructor', () => {
  it('Sub.restore(snapshot) holds the snapshot only, its pins and counters', () => {
    const h = new Framed({ maxMessages: 5, maxPinned: 2 })
    h.push(user('u1'), asst('a1'))
    const snapshot = JSON.parse(JSON.stringify(h.snapshot()))
    const restored = Framed.restore<Msg, Framed>(snapshot, { maxMessages: 5, maxPinned: 2 })
    expect(restored).toBeInstanceOf(Framed)
    expect(names(restored)).toEqual(['instructions', 'u1', 'a1'])
    expect(restored.snapshot()).toEqual(h.snapshot())
    expect(restored.bytes).toBe(h.bytes)
    expect(restored.tokens).toBe(h.tokens)
  })

  it('Sub.restore stays within maxBytes with maxPinned 2, so later pushes still work', () => {
    const options = { maxMessages: 10, maxPinned: 2, maxBytes: 300 }
    const h = new Framed(options)
    h.push(user('u1'))
    const restored = Framed.restore<Msg, Framed>(h.snapshot(), options)
    expect(restored.bytes).toBe(h.bytes)
    expect(restored.push(user('u2'))).toBe(3)
  })

  it('clone() of a cleared history is empty', () => {
    const h = new Framed({ maxMessages: 5 })
    h.push(user('u1'))
    h.clear()
    const copy = h.clone()
    expect(copy).toBeInstanceOf(Framed)
    expect(copy.length).toBe(0)
    expect(copy.bytes).toBe(0)
    expect(copy.snapshot()).toEqual(h.snapshot())
  })

  it('clone() holds the source only, whatever the constructor pushed', () => {
    const h = new Framed({ maxMessages: 5, maxPinned: 2 })
    h.length = 0
    h.push(user('u1'))
    const copy = h.clone()
    expect(names(copy)).toEqual(['u1'])
    expect(copy.snapshot()).toEqual(h.snapshot())
  })
})
