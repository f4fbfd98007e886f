import { describe, expect, it, vi } from 'vitest'
import { RingBufferHistory, type TrimReason } from '../src/index.js'
import { type Msg, asst, stateOf, user } from './helpers/messages.js'

// 4 characters a token by default: a message of n × 4 characters is estimated at n tokens.
const of = (tokens: number, tag = ''): string => `${tag}${'x'.repeat(tokens * 4 - tag.length)}`

describe('RingBufferHistory.calibrate', () => {
  it('makes tokens, the maxTokens check and window() count estimate × correction; each message keeps its estimate', () => {
    const trims: Array<[string[], TrimReason]> = []
    const h = new RingBufferHistory<Msg>({ maxTokens: 3_800, onTrim: (t, r) => trims.push([t.map((m) => m.content.slice(0, 1)), r]) })
    h.push(user(of(1_000, 'a')), asst(of(1_000, 'b')))
    expect(h.tokens).toBe(2_000)
    expect(h.tokenCorrection).toBe(1)
    expect(h.calibrate(3_000)).toEqual({ outcome: 'applied', correction: 1.5, ratio: 1.5 })
    expect(h.tokens).toBe(3_000)
    expect(h.tokenCorrection).toBe(1.5)
    // A first reading 50% off the estimate widens the margin to its largest (25%):
    // 3,800 provider tokens hold floor(3,800 / (1.5 × 1.25)) = 2,026 estimated.
    expect(h.fits()).toBe(true)
    expect(h.fits(user(of(26)))).toBe(true)
    expect(h.fits(user(of(27)))).toBe(false)
    // The next 1,000 push the oldest out.
    h.push(user(of(1_000, 'c')))
    expect(h.toArray().map((m) => m.content[0])).toEqual(['b', 'c'])
    expect(trims).toEqual([[['a'], 'tokens']])
    expect(h.tokens).toBe(3_000)
    expect(h.window({ maxTokens: 1_875 }).map((m) => m.content[0])).toEqual(['c'])
    expect(h.window({ maxTokens: 3_749 }).map((m) => m.content[0])).toEqual(['c'])
    expect(h.window({ maxTokens: 3_750 }).map((m) => m.content[0])).toEqual(['b', 'c'])
  })

  it('keeps a calibrated budget 3% (MARGIN_MIN) below maxTokens, so the drift between readings stays under it', () => {
    const h = new RingBufferHistory<Msg>({ maxTokens: 10_000 })
    for (let i = 0; i < 5; i++) h.push(user(of(1_000)))
    // Uncalibrated, the budget is maxTokens itself: 10 messages of 1,000 fit.
    expect(h.fits(user(of(1_000)), user(of(1_000)), user(of(1_000)), user(of(1_000)), user(of(1_000)))).toBe(true)
    expect(h.calibrate(5_000).correction).toBe(1)
    // Calibrated at 1: floor(10,000 / 1.03) = 9,708 estimated tokens, 9 messages.
    for (let i = 0; i < 5; i++) h.push(user(of(1_000)))
    expect(h.length).toBe(9)
    expect(h.tokens).toBe(9_000)
    expect(h.fits(user(of(709)))).toBe(false)
    expect(h.fits(user(of(708)))).toBe(true)
  })

  it('calibrates from a window that was sent, found in the history by identity', () => {
    const h = new RingBufferHistory<Msg>()
    const [a, b, c] = [user(of(1_000, 'a')), asst(of(500, 'b')), user(of(500, 'c'))]
    h.push(a, b, c)
    const sent = h.window({ maxTokens: 1_000 })
    expect(sent).toEqual([b, c])
    expect(h.calibrate(2_000, sent).correction).toBe(2)
    expect(h.tokens).toBe(4_000)
  })

  it('takes the overhead off every reported count', () => {
    const h = new RingBufferHistory<Msg>({ overheadTokens: 1_200 })
    h.push(user(of(1_000)))
    expect(h.calibrate(2_200).correction).toBe(1)
    expect(h.calibrate(3_200).correction).toBe(2)
  })

  it('ignores tiny prompts and keeps a history uncalibrated by them', () => {
    const h = new RingBufferHistory<Msg>({ maxTokens: 1_000 })
    h.push(user(of(10)))
    expect(h.calibrate(400).outcome).toBe('tooSmall')
    expect(h.tokenCorrection).toBe(1)
    expect(h.snapshot().calibration).toBeUndefined()
  })

  it('does not trim by itself: a history the correction puts over maxTokens trims at its next push', () => {
    const onTrim = vi.fn()
    const h = new RingBufferHistory<Msg>({ maxTokens: 2_000, onTrim })
    h.push(user(of(1_000, 'a')), asst(of(1_000, 'b')))
    h.calibrate(4_000)
    expect(h.length).toBe(2)
    expect(h.tokens).toBe(4_000)
    expect(h.fits()).toBe(false)
    expect(onTrim).not.toHaveBeenCalled()
    // 2,000 provider tokens now hold 1,000 estimated.
    h.push(user(of(500, 'c')))
    expect(h.toArray().map((m) => m.content[0])).toEqual(['c'])
    expect(h.tokens).toBe(1_000)
  })

  it('reports MessageTooLargeError in provider tokens, against maxTokens as given', () => {
    const h = new RingBufferHistory<Msg>({ maxTokens: 2_000 })
    h.push(user(of(1_000)))
    h.calibrate(2_000)
    // floor(2,000 / (2 × 1.25)) = 800 estimated tokens fit; 801 need ceil(801 × 2.5) = 2,003.
    h.push(user(of(800)))
    expect(() => h.push(user(of(801)))).toThrow(expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE', limit: 2_000, needed: 2_003 }))
  })

  it('snapshot/restore and clone carry the correction; clear and reset keep it', () => {
    const h = new RingBufferHistory<Msg>({ maxTokens: 10_000 })
    h.push(user(of(1_000)))
    h.calibrate(1_700)
    const snapshot = h.snapshot()
    expect(snapshot.calibration).toEqual({ correction: 1.7, readings: 1, margin: 0.25 })
    const restored = RingBufferHistory.restore(JSON.parse(JSON.stringify(snapshot)) as typeof snapshot, { maxTokens: 10_000 })
    expect(restored.tokenCorrection).toBe(1.7)
    expect(restored.tokens).toBe(1_700)
    expect(h.clone().tokenCorrection).toBe(1.7)
    expect(h.clone().tokens).toBe(1_700)
    // The copy's correction is its own.
    const copy = h.clone()
    copy.calibrate(3_000)
    expect(h.tokenCorrection).toBe(1.7)
    h.reset([user(of(100))])
    h.clear()
    expect(h.tokenCorrection).toBe(1.7)
  })

  it('restore trims with the restored correction', () => {
    const h = new RingBufferHistory<Msg>()
    h.push(user(of(1_000, 'a')), asst(of(1_000, 'b')))
    h.calibrate(4_000)
    // floor(2,600 / (2 × 1.25)) = 1,040 estimated tokens: one message of 1,000.
    const restored = RingBufferHistory.restore(h.snapshot(), { maxTokens: 2_600 })
    expect(restored.toArray().map((m) => m.content[0])).toEqual(['b'])
  })

  it.each([
    [{ correction: 0.1, readings: 1 }, 'calibration.correction'],
    [{ correction: 1, readings: -1 }, 'calibration.readings'],
    [null, 'calibration.correction'],
  ])('restore refuses a snapshot calibration of %j (ERR_INVALID_SNAPSHOT, field %s)', (calibration, field) => {
    expect(() => RingBufferHistory.restore({ version: 1, messages: [], pinned: [], evictedCount: 0, calibration: calibration as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_SNAPSHOT', field }),
    )
  })

  describe('bad input: a coded error, nothing changed', () => {
    const setup = () => {
      const h = new RingBufferHistory<Msg>({ maxTokens: 10_000 })
      h.push(user(of(1_000, 'a')), asst(of(1_000, 'b')))
      h.calibrate(2_400)
      return h
    }
    it.each([NaN, Infinity, -1, '100', undefined, 2_000 * 1_000])('reportedInputTokens %s', (bad) => {
      const h = setup()
      const before = { ...stateOf(h), correction: h.tokenCorrection, snapshot: h.snapshot() }
      expect(() => h.calibrate(bad as number)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'reportedInputTokens' }))
      expect({ ...stateOf(h), correction: h.tokenCorrection, snapshot: h.snapshot() }).toEqual(before)
    })

    it('sent messages the history does not hold, or not in its order', () => {
      const h = setup()
      const [a, b] = h.toArray() as [Msg, Msg]
      const before = { ...stateOf(h), correction: h.tokenCorrection }
      expect(() => h.calibrate(3_000, [user(of(1_000, 'a'))])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'sent[0]' }))
      expect(() => h.calibrate(3_000, [b, a])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'sent[1]' }))
      expect(() => h.calibrate(3_000, 'ab' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'sent' }))
      expect({ ...stateOf(h), correction: h.tokenCorrection }).toEqual(before)
      // A message pushed twice counts twice, in order.
      h.push(b)
      expect(h.calibrate(3 * 1_000 * 1.2, [a, b, b]).correction).toBeCloseTo(1.2)
    })
  })

  it('the overheadTokens option must be a finite number from 0 up', () => {
    for (const bad of [-1, NaN, Infinity, '5']) {
      expect(() => new RingBufferHistory({ overheadTokens: bad as number })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'overheadTokens' }))
    }
  })
})

describe('RingBufferHistory.fits', () => {
  it('says whether pushing the messages stays within every budget without trimming', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3, maxBytes: 2_000, maxTokens: 100 })
    h.push(user(of(40)))
    expect(h.fits()).toBe(true)
    expect(h.fits(user(of(60)))).toBe(true)
    expect(h.fits(user(of(61)))).toBe(false)
    expect(h.fits(user(of(10)), asst(of(10)))).toBe(true)
    expect(h.fits(user(''), asst(''), user(''))).toBe(false) // 4 messages > maxMessages
    expect(new RingBufferHistory<Msg>({ maxBytes: 100 }).fits(user('x'.repeat(20)))).toBe(false)
    expect(h.length).toBe(1)
  })

  it('measures with the history’s callbacks and reports a bad measure as a coded error', () => {
    const h = new RingBufferHistory<Msg>({ countTokens: () => NaN })
    expect(() => h.fits(user('a'))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_MEASUREMENT', measure: 'countTokens' }))
  })
})

describe('RingBufferHistory.calibrate: the adaptive margin', () => {
  // A deterministic "provider": each message's true token count, from a table by its tag.
  const trueTokens: Record<string, number> = { p: 450, q: 490 }
  const exact = (messages: readonly Msg[]): number => messages.reduce((n, m) => n + (trueTokens[m.content[0] as string] as number), 0)

  it('a history calibrated once on prose keeps within maxTokens by the exact count when later messages count higher', () => {
    const h = new RingBufferHistory<Msg>({ maxTokens: 10_000 })
    expect(h.tokenMargin).toBe(0)
    // 20 prose messages of 500 estimated tokens, 450 true ones each (ratio 0.9).
    for (let i = 0; i < 20; i++) h.push(user(of(500, 'p')))
    h.calibrate(exact(h.toArray()))
    expect(h.tokenCorrection).toBeCloseTo(0.9)
    // The reading was 10% off the estimate: the margin widens to 10% (a fixed 2% would hold 21
    // messages, 21 × 490 = 10,290 true tokens).
    expect(h.tokenMargin).toBeCloseTo(0.1)
    for (let i = 0; i < 40; i++) {
      h.push(user(of(500, 'q')))
      expect(exact(h.toArray())).toBeLessThanOrEqual(10_000)
    }
  })

  it('shrinks to the smallest margin as readings agree', () => {
    const h = new RingBufferHistory<Msg>({ maxTokens: 100_000 })
    for (let i = 0; i < 4; i++) h.push(user(of(1_000)))
    h.calibrate(6_000)
    expect(h.tokenMargin).toBe(0.25)
    const margins: number[] = []
    for (let i = 0; i < 40; i++) {
      h.calibrate(6_000)
      margins.push(h.tokenMargin)
    }
    for (let i = 1; i < margins.length; i++) expect(margins[i]).toBeLessThanOrEqual(margins[i - 1] as number)
    expect(margins.at(-1)).toBe(0.03)
  })

  it('bad readings, tiny prompts and outliers leave the correction and the margin as they were', () => {
    const h = new RingBufferHistory<Msg>({ maxTokens: 100_000 })
    for (let i = 0; i < 4; i++) h.push(user(of(1_000)))
    h.calibrate(4_400)
    const before = [h.tokenCorrection, h.tokenMargin]
    expect(() => h.calibrate(NaN)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    expect(() => h.calibrate(4_000 * 1_000)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    expect(h.calibrate(20_000).outcome).toBe('outlier')
    expect(h.calibrate(10, h.toArray().slice(0, 0)).outcome).toBe('tooSmall')
    expect([h.tokenCorrection, h.tokenMargin]).toEqual(before)
  })

  it('snapshot, restore and clone carry the margin; a snapshot without one restores with 3%', () => {
    const h = new RingBufferHistory<Msg>({ maxTokens: 10_000 })
    h.push(user(of(1_000)))
    h.calibrate(1_200)
    expect(h.tokenMargin).toBeCloseTo(0.2)
    expect(RingBufferHistory.restore(h.snapshot()).tokenMargin).toBe(h.tokenMargin)
    expect(h.clone().tokenMargin).toBe(h.tokenMargin)
    h.clear()
    expect(h.tokenMargin).toBeCloseTo(0.2)
    const old = { version: 1 as const, messages: [], pinned: [], evictedCount: 0, calibration: { correction: 1.2, readings: 1 } }
    expect(RingBufferHistory.restore(old).tokenMargin).toBe(0.03)
    expect(() => RingBufferHistory.restore({ ...old, calibration: { ...old.calibration, margin: 0.5 } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_SNAPSHOT', field: 'calibration.margin' }),
    )
  })
})
