import { describe, expect, expectTypeOf, it } from 'vitest'
import { inputBudget } from '../src/index.js'

describe('inputBudget', () => {
  it('is the window less the reserved output, the overhead and the headroom', () => {
    expect(inputBudget({ contextTokens: 200_000, reservedOutputTokens: 8_000 })).toBe(192_000)
    expect(inputBudget({ contextTokens: 200_000 })).toBe(200_000)
    expect(inputBudget({ contextTokens: 200_000, reservedOutputTokens: 8_000, overheadTokens: 2_000, headroom: 0.05 })).toBe(180_000)
    expect(inputBudget({ contextTokens: 1_001, headroom: 0.5 })).toBe(500)
  })

  it("reads one model of the host's own table", () => {
    const models = { big: { contextTokens: 200_000, reservedOutputTokens: 8_000 }, small: { contextTokens: 32_000 } } as const
    expect(inputBudget(models, 'big')).toBe(192_000)
    expect(inputBudget(models, 'small')).toBe(32_000)
    // @ts-expect-error: not a model of the table
    expect(() => inputBudget(models, 'other')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'model' }))
    expect(() => inputBudget(models, 'toString' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    expectTypeOf(inputBudget).toBeCallableWith(models, 'big')
  })

  it.each([
    [{}, 'contextTokens'],
    [{ contextTokens: 0 }, 'contextTokens'],
    [{ contextTokens: 1.5 }, 'contextTokens'],
    [{ contextTokens: NaN }, 'contextTokens'],
    [{ contextTokens: 100, reservedOutputTokens: -1 }, 'reservedOutputTokens'],
    [{ contextTokens: 100, reservedOutputTokens: 100 }, 'reservedOutputTokens'],
    [{ contextTokens: 100, overheadTokens: 60, reservedOutputTokens: 40 }, 'reservedOutputTokens'],
    [{ contextTokens: 100, headroom: 1 }, 'headroom'],
    [{ contextTokens: 100, headroom: -0.1 }, 'headroom'],
    [{ contextTokens: 100, maxTokens: 5 }, 'maxTokens'],
    [undefined, 'contextTokens'],
  ])('refuses %j with ERR_INVALID_OPTIONS naming %s', (options, field) => {
    expect(() => inputBudget(options as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field }))
  })
})
