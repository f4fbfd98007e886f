import { describe, expect, it, vi } from 'vitest'
import { RingBufferHistory, type TrimReason } from '../src/index.js'

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe('RingBufferHistory: trimming by count', () => {
  it('keeps only the newest maxMessages messages, oldest trimmed first', () => {
    const h = new RingBufferHistory<number>({ maxMessages: 3 })
    for (const n of range(1, 5)) h.push(n)
    expect(h.toArray()).toEqual([3, 4, 5])
    expect(h.length).toBe(3)
  })

  it('does not trim while below capacity', () => {
    const h = new RingBufferHistory<number>({ maxMessages: 3 })
    h.push(1, 2, 3)
    expect(h.toArray()).toEqual([1, 2, 3])
    expect(h.evictedCount).toBe(0)
  })

  it('push returns the new length, which stops growing at capacity', () => {
    const h = new RingBufferHistory<number>({ maxMessages: 3 })
    expect(h.push(1)).toBe(1)
    expect(h.push(2)).toBe(2)
    expect(h.push(3)).toBe(3)
    expect(h.push(4)).toBe(3)
    expect(h.push(5, 6)).toBe(3)
    expect(h.push()).toBe(3)
  })

  it('a multi-message push trims as consecutive single pushes would', () => {
    const a = new RingBufferHistory<number>({ maxMessages: 4 })
    const b = new RingBufferHistory<number>({ maxMessages: 4 })
    a.push(1, 2, 3)
    b.push(1, 2, 3)
    a.push(4, 5, 6, 7, 8, 9)
    for (const n of range(4, 9)) b.push(n)
    expect(a.toArray()).toEqual(b.toArray())
    expect(a.toArray()).toEqual([6, 7, 8, 9])
    expect(a.evictedCount).toBe(b.evictedCount)
  })

  it('capacity equals maxMessages and defaults to 50', () => {
    expect(new RingBufferHistory<number>({ maxMessages: 7 }).capacity).toBe(7)
    const h = new RingBufferHistory<number>()
    expect(h.capacity).toBe(50)
    for (const n of range(1, 60)) h.push(n)
    expect(h.length).toBe(50)
    expect(h.at(0)).toBe(11)
    expect(h.at(-1)).toBe(60)
    expect(h.evictedCount).toBe(10)
  })

  it('maxMessages 1 keeps only the newest message', () => {
    const h = new RingBufferHistory<string>({ maxMessages: 1 })
    h.push('a')
    h.push('b', 'c')
    expect(h.toArray()).toEqual(['c'])
    expect(h.evictedCount).toBe(2)
  })

  it('evictedCount counts every trimmed message since creation', () => {
    const h = new RingBufferHistory<number>({ maxMessages: 2 })
    h.push(1, 2)
    expect(h.evictedCount).toBe(0)
    h.push(3)
    expect(h.evictedCount).toBe(1)
    h.push(4, 5, 6)
    expect(h.evictedCount).toBe(4)
  })

  it('clear and rollback do not count as evictions', () => {
    const h = new RingBufferHistory<number>({ maxMessages: 2 })
    h.push(1, 2, 3)
    expect(h.evictedCount).toBe(1)
    const cp = h.checkpoint()
    h.push(4)
    expect(h.evictedCount).toBe(2)
    h.rollback(cp)
    expect(h.evictedCount).toBe(2)
    h.clear()
    expect(h.evictedCount).toBe(2)
    expect(h.length).toBe(0)
  })

  it('keeps trimming correctly after the buffer wraps around many times', () => {
    const h = new RingBufferHistory<number>({ maxMessages: 5 })
    for (const n of range(1, 1003)) h.push(n)
    expect(h.toArray()).toEqual([999, 1000, 1001, 1002, 1003])
    expect(h.evictedCount).toBe(998)
  })

  it('capacity is unchanged by clear', () => {
    const h = new RingBufferHistory<number>({ maxMessages: 3 })
    h.push(1, 2, 3, 4)
    h.clear()
    expect(h.capacity).toBe(3)
    h.push(5, 6, 7, 8)
    expect(h.toArray()).toEqual([6, 7, 8])
  })
})

describe('RingBufferHistory: onTrim with reason count', () => {
  it('is called with the trimmed messages and reason "count"', () => {
    const onTrim = vi.fn<(trimmed: number[], reason: TrimReason) => void>()
    const h = new RingBufferHistory<number>({ maxMessages: 3, onTrim })
    h.push(1, 2, 3)
    expect(onTrim).not.toHaveBeenCalled()
    h.push(4)
    expect(onTrim).toHaveBeenCalledTimes(1)
    expect(onTrim).toHaveBeenCalledWith([1], 'count', { messages: 1, bytes: 64, tokens: 0 })
  })

  it('is called once per push step that trimmed, in order', () => {
    const calls: Array<[number[], TrimReason]> = []
    const h = new RingBufferHistory<number>({ maxMessages: 2, onTrim: (t, r) => calls.push([[...t], r]) })
    h.push(1, 2, 3, 4)
    expect(calls).toEqual([
      [[1], 'count'],
      [[2], 'count'],
    ])
  })

  it('receives the same message objects that were pushed', () => {
    const first = { role: 'user', content: 'hi' }
    let got: unknown
    const h = new RingBufferHistory<{ role: string; content: string }>({
      maxMessages: 1,
      onTrim: (t) => {
        got = t[0]
      },
    })
    h.push(first)
    h.push({ role: 'assistant', content: 'hello' })
    expect(got).toBe(first)
  })

  it('is called after the history is consistent', () => {
    let seen: number[] | undefined
    let seenLength = -1
    const h: RingBufferHistory<number> = new RingBufferHistory<number>({
      maxMessages: 3,
      onTrim: () => {
        seen = h.toArray()
        seenLength = h.length
      },
    })
    h.push(1, 2, 3)
    h.push(4)
    expect(seen).toEqual([2, 3, 4])
    expect(seenLength).toBe(3)
  })

  it('a throwing onTrim cannot corrupt the history', () => {
    const h = new RingBufferHistory<number>({
      maxMessages: 2,
      onTrim: () => {
        throw new Error('listener failed')
      },
    })
    h.push(1, 2)
    try {
      h.push(3)
    } catch {
      // whether the listener's error propagates is not what this test checks
    }
    expect(h.toArray()).toEqual([2, 3])
    expect(h.length).toBe(2)
    expect(h.evictedCount).toBe(1)
    h.clear()
    expect(h.length).toBe(0)
  })

  it('is not called by clear or rollback', () => {
    const onTrim = vi.fn()
    const h = new RingBufferHistory<number>({ maxMessages: 5, onTrim })
    const cp = h.checkpoint()
    h.push(1, 2, 3)
    h.rollback(cp)
    h.push(4)
    h.clear()
    expect(onTrim).not.toHaveBeenCalled()
  })
})
