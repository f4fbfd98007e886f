import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ABSURD_FACTOR,
  CORRECTION_MAX,
  CORRECTION_MIN,
  MARGIN_MAX,
  MARGIN_MIN,
  MIN_CALIBRATION_TOKENS,
  TokenCalibration,
} from '../src/history/calibration.js'
import { RingBufferHistory } from '../src/index.js'
import { assertProperty } from './helpers/property.js'

const stateOf = (c: TokenCalibration) => ({ ...c.state() })

describe('TokenCalibration', () => {
  it('starts at 1 and takes the first reading as it is', () => {
    const c = new TokenCalibration()
    expect(c.correction).toBe(1)
    expect(c.calibrate(1_500, 1_000)).toEqual({ outcome: 'applied', correction: 1.5, ratio: 1.5 })
    expect(c.readings).toBe(1)
  })

  it('takes a higher reading at once and moves half way towards a lower one', () => {
    const c = new TokenCalibration()
    c.calibrate(1_000, 1_000)
    expect(c.calibrate(1_200, 1_000).correction).toBe(1.2)
    expect(c.calibrate(1_000, 1_000).correction).toBeCloseTo(1.1)
    expect(c.calibrate(1_000, 1_000).correction).toBeCloseTo(1.05)
  })

  it('takes the overhead off every reported count before dividing', () => {
    const c = new TokenCalibration(2_000)
    expect(c.calibrate(3_000, 1_000).correction).toBe(1)
    expect(c.calibrate(4_000, 1_000).correction).toBe(2)
  })

  it('ignores requests estimated below the minimum, and counts not above the overhead', () => {
    const c = new TokenCalibration(500)
    expect(c.calibrate(5_000, MIN_CALIBRATION_TOKENS - 1)).toEqual({ outcome: 'tooSmall', correction: 1, ratio: undefined })
    expect(c.calibrate(500, 1_000).outcome).toBe('tooSmall')
    expect(c.readings).toBe(0)
  })

  it('clamps the correction to [0.5, 4]', () => {
    const c = new TokenCalibration()
    expect(c.calibrate(10_000, 1_000).correction).toBe(CORRECTION_MAX)
    const d = new TokenCalibration()
    expect(d.calibrate(100, 1_000).correction).toBe(CORRECTION_MIN)
  })

  it('sets an outlier aside, and applies the second one on the same side', () => {
    const c = new TokenCalibration()
    c.calibrate(1_000, 1_000)
    expect(c.calibrate(2_500, 1_000)).toEqual({ outcome: 'outlier', correction: 1, ratio: 2.5 })
    // A reading back in line forgets it.
    expect(c.calibrate(1_000, 1_000).outcome).toBe('applied')
    expect(c.calibrate(2_500, 1_000).outcome).toBe('outlier')
    expect(c.calibrate(2_600, 1_000)).toEqual({ outcome: 'applied', correction: 2.6, ratio: 2.6 })
    // Down, twice: the second starts again from its own reading (no smoothing from the old content).
    expect(c.calibrate(1_000, 1_000).outcome).toBe('outlier')
    expect(c.calibrate(900, 1_000)).toEqual({ outcome: 'applied', correction: 0.9, ratio: 0.9 })
    // An outlier up, then a reading down: the outlier is forgotten.
    expect(c.calibrate(2_000, 1_000).outcome).toBe('outlier')
    expect(c.calibrate(800, 1_000).correction).toBeCloseTo(0.85)
    expect(c.calibrate(2_000, 1_000).outcome).toBe('outlier')
  })

  it.each([NaN, Infinity, -1, -Infinity, '1000', null, undefined])('refuses a reported count of %s, unchanged', (bad) => {
    const c = new TokenCalibration()
    c.calibrate(1_200, 1_000)
    const before = stateOf(c)
    expect(() => c.calibrate(bad as number, 1_000)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'reportedInputTokens' }))
    expect(stateOf(c)).toEqual(before)
  })

  it('refuses a count more than 32× away from the estimate (not of these messages), unchanged', () => {
    const c = new TokenCalibration(100)
    c.calibrate(1_300, 1_000)
    const before = stateOf(c)
    expect(() => c.calibrate(100 + 1_000 * 1_000, 1_000)).toThrow(/within 32× of the estimate/)
    expect(() => c.calibrate(100 + 1_000 / (ABSURD_FACTOR + 1), 1_000)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    expect(stateOf(c)).toEqual(before)
    // At the factor itself: clamped, not refused.
    expect(c.calibrate(100 + 32_000, 1_000).outcome).toBe('outlier')
  })

  it('loads a state made elsewhere, and refuses one out of range, unchanged', () => {
    const c = new TokenCalibration()
    c.load({ correction: 1.7, readings: 3 })
    expect(c.state()).toEqual({ correction: 1.7, readings: 3, margin: 0.03 })
    for (const bad of [{ correction: 0.1, readings: 1 }, { correction: 9, readings: 1 }, { correction: NaN, readings: 1 }, { correction: 1, readings: -1 }, { correction: 1, readings: 1.5 }, null, 'x']) {
      expect(() => c.load(bad as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    }
    expect(c.state()).toEqual({ correction: 1.7, readings: 3, margin: 0.03 })
  })

  it('property: the correction stays in range, and after an applied reading it is at least the reading (never counts less than was just measured)', () => {
    const reading = fc.record({
      reported: fc.oneof(fc.double({ min: 0, max: 1e7, noNaN: true }), fc.constantFrom(NaN, -1, Infinity)),
      estimated: fc.integer({ min: 0, max: 1e6 }),
    })
    assertProperty(
      fc.property(fc.integer({ min: 0, max: 5_000 }), fc.array(reading, { maxLength: 40 }), (overhead, readings) => {
        const c = new TokenCalibration(overhead)
        for (const { reported, estimated } of readings) {
          const before = stateOf(c)
          let result
          try {
            result = c.calibrate(reported, estimated)
          } catch (error) {
            expect((error as { code?: string }).code).toBe('ERR_INVALID_ARGUMENT')
            expect(stateOf(c)).toEqual(before)
            continue
          }
          expect(c.correction).toBeGreaterThanOrEqual(CORRECTION_MIN)
          expect(c.correction).toBeLessThanOrEqual(CORRECTION_MAX)
          expect(result.correction).toBe(c.correction)
          if (result.outcome === 'applied') {
            const ratio = result.ratio as number
            expect(c.correction).toBeGreaterThanOrEqual(Math.min(CORRECTION_MAX, Math.max(CORRECTION_MIN, ratio)) - 1e-12)
            expect(c.readings).toBe(before.readings + 1)
          } else expect(stateOf(c)).toEqual(before)
        }
      }),
    )
  })
})

describe('TokenCalibration margin', () => {
  it('property: the margin stays in [MARGIN_MIN, MARGIN_MAX], and a history never holds more than maxTokens / (c × (1 + m)) by its calibrated count', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('push' as const), tokens: fc.integer({ min: 1, max: 2_000 }) }),
      fc.record({ op: fc.constant('calibrate' as const), factor: fc.double({ min: 0.02, max: 40, noNaN: true }) }),
    )
    assertProperty(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const h = new RingBufferHistory<string>({ maxTokens: 20_000 })
        for (const s of steps) {
          if (s.op === 'push') {
            h.push('x'.repeat(4 * s.tokens))
            continue
          }
          const estimated = h.toArray().reduce((n, m) => n + m.length / 4, 0)
          const before = [h.tokenCorrection, h.tokenMargin]
          try {
            const result = h.calibrate(Math.round(estimated * s.factor))
            if (result.outcome !== 'applied') expect([h.tokenCorrection, h.tokenMargin]).toEqual(before)
          } catch (error) {
            expect((error as { code?: string }).code).toBe('ERR_INVALID_ARGUMENT')
            expect([h.tokenCorrection, h.tokenMargin]).toEqual(before)
          }
          if (h.snapshot().calibration !== undefined) {
            expect(h.tokenMargin).toBeGreaterThanOrEqual(MARGIN_MIN)
            expect(h.tokenMargin).toBeLessThanOrEqual(MARGIN_MAX)
          }
        }
        // A push applies the budget: after one, the calibrated count is within it.
        h.push('y'.repeat(4))
        const estimated = h.toArray().reduce((n, m) => n + m.length / 4, 0)
        const limit = h.snapshot().calibration === undefined ? 20_000 : Math.floor(20_000 / (h.tokenCorrection * (1 + h.tokenMargin)))
        expect(estimated).toBeLessThanOrEqual(limit)
      }),
    )
  })
})
