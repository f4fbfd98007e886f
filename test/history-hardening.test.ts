import { describe, expect, it } from 'vitest'
import { type HistoryBudget, type HistoryCheckpoint, RingBufferHistory, type RingBufferHistoryOptions, TrimCallbackError } from '../src/index.js'
import { asst, isSystem, type Msg, names, stateOf, sys, user } from './helpers/messages.js'

const invalidOptions = (field: string) => expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field })

describe('RingBufferHistory hardening: options are read once', () => {
  it('an inherited invalid value is checked: Object.create({ maxMessages: 0 })', () => {
    const options = Object.create({ maxMessages: 0 }) as RingBufferHistoryOptions<string>
    expect(() => new RingBufferHistory(options)).toThrow(invalidOptions('maxMessages'))
  })

  it('an inherited valid value is used', () => {
    const h = new RingBufferHistory<string>(Object.create({ maxMessages: 2 }) as RingBufferHistoryOptions<string>)
    h.push('a', 'b', 'c')
    expect(h.toArray()).toEqual(['b', 'c'])
  })

  it('a getter is read once: 5 then 0 gives a capacity of 5 that works', () => {
    let reads = 0
    const options = {
      get maxMessages() {
        reads++
        return reads === 1 ? 5 : 0
      },
    }
    const h = new RingBufferHistory<string>(options)
    expect(reads).toBe(1)
    expect(h.capacity).toBe(5)
    for (let i = 0; i < 7; i++) h.push(`m${i}`)
    expect(h.toArray()).toEqual(['m2', 'm3', 'm4', 'm5', 'm6'])
    expect(reads).toBe(1)
  })

  it('a Proxy that answers differently on every read cannot slip a bad value past the check', () => {
    const reads: string[] = []
    let n = 0
    const answers = [3, 0, -1, Number.NaN]
    const options = new Proxy({} as RingBufferHistoryOptions<string>, {
      get(_target, key) {
        if (typeof key === 'string') reads.push(key)
        return key === 'maxMessages' ? answers[n++ % answers.length] : undefined
      },
    })
    const h = new RingBufferHistory<string>(options)
    expect(reads.filter((k) => k === 'maxMessages')).toHaveLength(1)
    expect(h.capacity).toBe(3)
    h.push('a', 'b', 'c', 'd')
    expect(h.toArray()).toEqual(['b', 'c', 'd'])

    // and one whose first answer is bad is refused
    n = 1
    expect(() => new RingBufferHistory<string>(options)).toThrow(invalidOptions('maxMessages'))
  })

  it('a getter for a callback is read once too', () => {
    let reads = 0
    const h = new RingBufferHistory<Msg>({
      maxMessages: 2,
      get pin() {
        reads++
        return reads === 1 ? isSystem : undefined
      },
    })
    h.push(sys('init'), user('u1'), user('u2'))
    expect(names(h)).toEqual(['init', 'u2'])
    expect(reads).toBe(1)
  })

  it('later changes to the options object are not seen', () => {
    const options: { maxMessages: number } = { maxMessages: 2 }
    const h = new RingBufferHistory<string>(options)
    options.maxMessages = 0
    h.push('a', 'b', 'c')
    expect(h.toArray()).toEqual(['b', 'c'])
  })

  it('an unknown own key is an error naming it', () => {
    expect(() => new RingBufferHistory({ maxMesages: 3 } as RingBufferHistoryOptions<string>)).toThrow(invalidOptions('maxMesages'))
  })
})

describe('RingBufferHistory hardening: rollback takes only its own checkpoints', () => {
  function withCheckpoint() {
    const h = new RingBufferHistory<Msg>({ maxMessages: 10, pin: isSystem })
    h.push(sys('instructions'), user('u1'))
    const mark = h.checkpoint()
    h.push(asst('a1'), user('u2'))
    return { h, mark }
  }

  const forged: Array<[string, (mark: HistoryCheckpoint) => unknown]> = [
    ['a copy ({ ...cp })', (mark) => ({ ...mark })],
    ['{ position: -Infinity }', () => ({ position: -Infinity })],
    ['{ position: NaN }', () => ({ position: Number.NaN })],
    ['{ position: 0 }', () => ({ position: 0 })],
    ['a frozen copy', (mark) => Object.freeze({ ...mark })],
    ['null', () => null],
    ['a number', () => 0],
  ]

  it.each(forged)('%s is ERR_INVALID_CHECKPOINT and the history, instructions included, is unchanged', (_name, make) => {
    const { h, mark } = withCheckpoint()
    const before = stateOf(h)
    expect(() => h.rollback(make(mark) as HistoryCheckpoint)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CHECKPOINT' }))
    expect(stateOf(h)).toEqual(before)
    expect(names(h)).toEqual(['instructions', 'u1', 'a1', 'u2'])
    // the real checkpoint still works, and the instructions are still protected
    expect(h.rollback(mark)).toBe(2)
    expect(names(h)).toEqual(['instructions', 'u1'])
    for (let i = 0; i < 12; i++) h.push(user(`m${i}`))
    expect(h.at(0)).toEqual(sys('instructions'))
  })

  it('another history’s checkpoint is refused', () => {
    const { mark } = withCheckpoint()
    const { h } = withCheckpoint()
    const before = stateOf(h)
    expect(() => h.rollback(mark)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CHECKPOINT' }))
    expect(stateOf(h)).toEqual(before)
  })
})

describe('RingBufferHistory hardening: window validates its budget', () => {
  const bad: Array<[string, unknown, string]> = [
    ['null', null, 'budget'],
    ['a number', 1, 'budget'],
    ['a string', 'maxMessages', 'budget'],
    ['an array', [3], 'budget'],
    ['a typo', { maxMesages: 3 }, 'maxMesages'],
    ['maxMessages 0', { maxMessages: 0 }, 'maxMessages'],
    ['maxBytes -1', { maxBytes: -1 }, 'maxBytes'],
    ['maxTokens 1.5', { maxTokens: 1.5 }, 'maxTokens'],
    ['maxMessages NaN', { maxMessages: Number.NaN }, 'maxMessages'],
    ['maxMessages "3"', { maxMessages: '3' }, 'maxMessages'],
    ['trimTo 2', { trimTo: 2 }, 'trimTo'],
    ['trimTo NaN', { trimTo: Number.NaN }, 'trimTo'],
  ]

  it.each(bad)('window(%s) is ERR_INVALID_OPTIONS, never the whole history', (_name, budget, field) => {
    const h = new RingBufferHistory<string>()
    h.push('a', 'b', 'c')
    expect(() => h.window(budget as HistoryBudget)).toThrow(invalidOptions(field))
  })

  it('window(undefined) and window({}) are the whole history', () => {
    const h = new RingBufferHistory<string>()
    h.push('a', 'b', 'c')
    expect(h.window(undefined)).toEqual(['a', 'b', 'c'])
    expect(h.window({})).toEqual(['a', 'b', 'c'])
    expect(h.window({ maxMessages: undefined })).toEqual(['a', 'b', 'c'])
  })

  it('an empty history still refuses a bad budget', () => {
    const h = new RingBufferHistory<string>()
    expect(() => h.window(null as unknown as HistoryBudget)).toThrow(invalidOptions('budget'))
  })
})

describe('RingBufferHistory hardening: an onTrim that throws', () => {
  const failure = new Error('listener failed')
  function throwing(options: RingBufferHistoryOptions<string> = {}) {
    let calls = 0
    const h = new RingBufferHistory<string>({
      maxMessages: 2,
      onTrim: () => {
        calls++
        throw failure
      },
      ...options,
    })
    return { h, calls: () => calls }
  }

  it('push throws ERR_TRIM_CALLBACK with the original error as cause, and the message was appended', () => {
    const { h } = throwing()
    h.push('a', 'b')
    let thrown: unknown
    try {
      h.push('c')
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(TrimCallbackError)
    expect(thrown).toMatchObject({ code: 'ERR_TRIM_CALLBACK', cause: failure })
    expect((thrown as Error).message).toMatch(/appended/)
    expect(h.length).toBe(2)
    expect(h.toArray()).toEqual(['b', 'c'])
    expect(h.evictedCount).toBe(1)
  })

  it('a push of several messages: every message appended, every trim reported, then the first error', () => {
    const { h, calls } = throwing()
    expect(() => h.push('a', 'b', 'c', 'd')).toThrow(expect.objectContaining({ code: 'ERR_TRIM_CALLBACK', cause: failure }))
    expect(h.toArray()).toEqual(['c', 'd'])
    expect(calls()).toBe(2)
    // and the history goes on working
    expect(() => h.push('e')).toThrow(TrimCallbackError)
    expect(h.toArray()).toEqual(['d', 'e'])
  })

  it('pushPinned and reset report it the same way', () => {
    const { h } = throwing()
    h.push('a', 'b')
    expect(() => h.pushPinned('p')).toThrow(expect.objectContaining({ code: 'ERR_TRIM_CALLBACK', cause: failure }))
    expect(h.toArray()).toEqual(['b', 'p'])
    expect(() => h.reset(['x', 'y', 'z'])).toThrow(expect.objectContaining({ code: 'ERR_TRIM_CALLBACK', cause: failure }))
    expect(h.toArray()).toEqual(['y', 'z'])
  })

  it('a push that trims nothing does not call it and does not throw', () => {
    const { h, calls } = throwing({ maxMessages: 10 })
    expect(h.push('a', 'b', 'c')).toBe(3)
    expect(calls()).toBe(0)
  })
})
