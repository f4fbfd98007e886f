import { describe, expect, it } from 'vitest'
import { InvalidOptionsError, RingBufferHistory, type RingBufferHistoryOptions } from '../src/index.js'

type AnyOptions = Record<string, unknown>

function construct(options: AnyOptions): RingBufferHistory<unknown> {
  return new RingBufferHistory<unknown>(options as RingBufferHistoryOptions<unknown>)
}

function constructionError(options: AnyOptions): InvalidOptionsError {
  let err: unknown
  try {
    construct(options)
  } catch (e) {
    err = e
  }
  expect(err, `options ${String(Object.keys(options))} should be rejected`).toBeInstanceOf(InvalidOptionsError)
  return err as InvalidOptionsError
}

const numericFields = ['maxMessages', 'maxBytes', 'maxTokens'] as const
const badNumbers: Array<[label: string, value: unknown, shown: string]> = [
  ['0', 0, '`0` (number)'],
  ['negative', -1, '`-1` (number)'],
  ['non-integer', 1.5, '`1.5` (number)'],
  ['NaN', Number.NaN, '`NaN` (number)'],
  ['Infinity', Number.POSITIVE_INFINITY, '`Infinity` (number)'],
  ['-Infinity', Number.NEGATIVE_INFINITY, '`-Infinity` (number)'],
]

describe('RingBufferHistory: options validation', () => {
  it('accepts no options, empty options and every valid option', () => {
    expect(new RingBufferHistory().capacity).toBe(50)
    expect(new RingBufferHistory({}).capacity).toBe(50)
    const h = new RingBufferHistory<{ content: string }>({
      maxMessages: 10,
      maxBytes: 1000,
      maxTokens: 100,
      sizeOf: () => 1,
      countTokens: () => 1,
      pin: () => false,
      maxPinned: 0,
      startOn: () => true,
      onTrim: () => {},
    })
    expect(h.capacity).toBe(10)
  })

  it('accepts maxPinned up to maxMessages - 1', () => {
    expect(() => construct({ maxMessages: 3, maxPinned: 2 })).not.toThrow()
  })

  it('accepts maxMessages 1 with the default maxPinned', () => {
    const h = new RingBufferHistory<string>({ maxMessages: 1, pin: () => true })
    h.push('a', 'b')
    expect(h.toArray()).toEqual(['b'])
  })

  for (const field of numericFields) {
    for (const [label, value, shown] of badNumbers) {
      it(`rejects ${field} = ${label}`, () => {
        const err = constructionError({ [field]: value })
        expect(err).toBeInstanceOf(TypeError)
        expect(err.code).toBe('ERR_INVALID_OPTIONS')
        expect(err.field).toBe(field)
        expect(Object.is(err.value, value)).toBe(true)
        expect(err.message).toContain(`\`${field}\``)
        expect(err.message).toContain(shown)
        expect(err.message).toMatch(new RegExp(`^Expected \`${field}\` to be .+, got `))
      })
    }

    it(`rejects ${field} of the wrong type`, () => {
      for (const value of ['5', null, true, {}, [], 5n]) {
        const err = constructionError({ [field]: value })
        expect(err.code).toBe('ERR_INVALID_OPTIONS')
        expect(err.field).toBe(field)
        expect(err.value).toBe(value)
        expect(err.message).toContain(field)
      }
    })
  }

  it('the message names the field and the value in one shape', () => {
    const err = constructionError({ maxMessages: 0 })
    expect(err.message).toBe('Expected `maxMessages` to be a positive integer, got `0` (number)')
  })

  it('a string value is shown in the message', () => {
    const err = constructionError({ maxBytes: 'lots' })
    expect(err.message).toContain('maxBytes')
    expect(err.message).toContain('lots')
    expect(err.message).toContain('(string)')
  })

  for (const field of ['sizeOf', 'countTokens', 'pin', 'startOn', 'onTrim']) {
    it(`rejects a ${field} that is not a function`, () => {
      for (const value of [3, 'fn', {}, null, true]) {
        const err = constructionError({ [field]: value })
        expect(err.code).toBe('ERR_INVALID_OPTIONS')
        expect(err.field).toBe(field)
        expect(err.value).toBe(value)
        expect(err.message).toContain(field)
      }
    })
  }

  for (const [label, value, shown] of [
    ['negative', -1, '`-1` (number)'],
    ['non-integer', 0.5, '`0.5` (number)'],
    ['NaN', Number.NaN, '`NaN` (number)'],
    ['Infinity', Number.POSITIVE_INFINITY, '`Infinity` (number)'],
    ['a string', '1', '1'],
  ] as const) {
    it(`rejects maxPinned = ${label}`, () => {
      const err = constructionError({ maxPinned: value })
      expect(err.code).toBe('ERR_INVALID_OPTIONS')
      expect(err.field).toBe('maxPinned')
      expect(Object.is(err.value, value)).toBe(true)
      expect(err.message).toContain('`maxPinned`')
      expect(err.message).toContain(shown)
    })
  }

  it('rejects maxPinned >= maxMessages', () => {
    for (const [maxMessages, maxPinned] of [
      [3, 3],
      [3, 4],
      [1, 1],
    ] as const) {
      const err = constructionError({ maxMessages, maxPinned })
      expect(err.code).toBe('ERR_INVALID_OPTIONS')
      expect(err.field).toBe('maxPinned')
      expect(err.value).toBe(maxPinned)
      expect(err.message).toContain('maxPinned')
      expect(err.message).toContain(String(maxPinned))
    }
  })

  it('rejects maxPinned >= the default maxMessages of 50', () => {
    const err = constructionError({ maxPinned: 50 })
    expect(err.field).toBe('maxPinned')
  })

  it('rejects an unknown key (a typo), naming it', () => {
    const err = constructionError({ maxMesages: 5 })
    expect(err).toBeInstanceOf(TypeError)
    expect(err.code).toBe('ERR_INVALID_OPTIONS')
    expect(err.field).toBe('maxMesages')
    expect(err.message).toContain('maxMesages')
  })

  it('rejects options that are not an object', () => {
    for (const value of [5, 'options', true]) {
      let err: unknown
      try {
        new RingBufferHistory(value as unknown as RingBufferHistoryOptions<unknown>)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(InvalidOptionsError)
      expect(err).toMatchObject({ code: 'ERR_INVALID_OPTIONS' })
    }
  })

  it('RingBufferHistory.from validates its options too, before consuming the items', () => {
    let consumed = false
    function* items(): Generator<number> {
      consumed = true
      yield 1
    }
    expect(() => RingBufferHistory.from(items(), { maxMessages: 0 })).toThrow(InvalidOptionsError)
    expect(consumed).toBe(false)
  })
})
