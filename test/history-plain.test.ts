import fc from 'fast-check'
import { assertProperty } from './helpers/property.js'
import { describe, expect, it } from 'vitest'
import { defaultSizeOf, type RingBufferHistoryOptions, RingBufferHistory } from '../src/index.js'

// A history without pin, startOn or onTrim takes shorter paths (a full ring overwrites its oldest
// slot in place; a copy of a wrapped ring lays the ring out again first). Giving the same history
// an onTrim that does nothing sends every push through the general path instead: both must agree
// on everything observable, step by step.

type Msg = { role: 'user' | 'assistant'; content: string } | string | null | number

const msgArb: fc.Arbitrary<Msg> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ role: fc.constantFrom('user' as const, 'assistant' as const), content: fc.string({ maxLength: 120 }) }) },
  // More than 65,535 tokens: the token column widens.
  { weight: 1, arbitrary: fc.integer({ min: 262_141, max: 270_000 }).map((n): Msg => ({ role: 'user', content: 'x'.repeat(n) })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom<Msg>(null, 7) },
)

type Op =
  | { t: 'push'; msgs: Msg[] }
  | { t: 'clear' }
  | { t: 'checkpoint' }
  | { t: 'rollback'; pick: number }
  | { t: 'slice'; start: number | undefined; end: number | undefined }
  | { t: 'window'; maxMessages: number | undefined; maxTokens: number | undefined }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 14, arbitrary: fc.record({ t: fc.constant('push' as const), msgs: fc.array(msgArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'clear' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'checkpoint' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('rollback' as const), pick: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('slice' as const),
      start: fc.option(fc.integer({ min: -12, max: 12 }), { nil: undefined }),
      end: fc.option(fc.integer({ min: -12, max: 12 }), { nil: undefined }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('window' as const),
      maxMessages: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
      maxTokens: fc.option(fc.integer({ min: 1, max: 300_000 }), { nil: undefined }),
    }),
  },
)

const configArb = fc.record({
  maxMessages: fc.integer({ min: 1, max: 20 }),
  maxBytes: fc.option(fc.integer({ min: 1, max: 1_200_000 }), { nil: undefined }),
  maxTokens: fc.option(fc.integer({ min: 1, max: 300_000 }), { nil: undefined }),
  customMeasures: fc.boolean(),
})

function outcome(run: () => unknown): unknown {
  try {
    return { value: run() }
  } catch (error) {
    return { error: (error as Error).constructor.name, message: (error as Error).message }
  }
}

function state(h: RingBufferHistory<Msg>): unknown {
  return {
    items: h.toArray(),
    length: h.length,
    bytes: h.bytes,
    tokens: h.tokens,
    evicted: h.evictedCount,
    first: h.at(0),
    last: h.at(-1),
    mapped: h.map((m, i) => [i, m]),
  }
}

describe('RingBufferHistory: the plain paths agree with the general path', () => {
  it('after every step of random operation sequences', () => {
    assertProperty(
      fc.property(configArb, fc.array(opArb, { maxLength: 60 }), (cfg, ops) => {
        const options: RingBufferHistoryOptions<Msg> = { maxMessages: cfg.maxMessages, maxBytes: cfg.maxBytes, maxTokens: cfg.maxTokens }
        if (cfg.customMeasures) {
          options.sizeOf = (m) => (typeof m === 'object' && m !== null ? m.content.length + 1 : 3)
          options.countTokens = (m) => (typeof m === 'object' && m !== null ? Math.ceil(m.content.length / 3) : 1)
        }
        const plain = new RingBufferHistory<Msg>(options)
        const general = new RingBufferHistory<Msg>({ ...options, onTrim: () => {} })
        const marks: [ReturnType<RingBufferHistory<Msg>['checkpoint']>, ReturnType<RingBufferHistory<Msg>['checkpoint']>][] = []
        for (const [step, op] of ops.entries()) {
          const where = `step ${step} (${op.t})`
          if (op.t === 'push') {
            expect(outcome(() => plain.push(...op.msgs)), where).toEqual(outcome(() => general.push(...op.msgs)))
          } else if (op.t === 'clear') {
            plain.clear()
            general.clear()
          } else if (op.t === 'checkpoint') {
            marks.push([plain.checkpoint(), general.checkpoint()])
          } else if (op.t === 'rollback') {
            const mark = marks[op.pick % Math.max(marks.length, 1)]
            if (mark !== undefined) expect(outcome(() => plain.rollback(mark[0])), where).toEqual(outcome(() => general.rollback(mark[1])))
          } else if (op.t === 'slice') {
            expect(plain.slice(op.start, op.end), where).toEqual(general.slice(op.start, op.end))
          } else {
            const budget = { maxMessages: op.maxMessages, maxTokens: op.maxTokens }
            expect(plain.window(budget), where).toEqual(general.window(budget))
          }
          expect(state(plain), where).toEqual(state(general))
        }
      }),
      { numRuns: 300 },
    )
  })

  it('a full ring overwrites in place and copies in order after wrapping', () => {
    const h = new RingBufferHistory<string>({ maxMessages: 4 })
    for (let i = 0; i < 10; i++) h.push(`m${i}`)
    expect(h.toArray()).toEqual(['m6', 'm7', 'm8', 'm9'])
    expect(h.slice(1, 3)).toEqual(['m7', 'm8'])
    h.push('m10')
    expect(h.slice(-2)).toEqual(['m9', 'm10'])
    expect(h.toArray()).toEqual(['m7', 'm8', 'm9', 'm10'])
    expect(h.evictedCount).toBe(7)
    expect(h.bytes).toBe(4 * (16 + 2 * 2) + 2)
  })
})

describe('RingBufferHistory: a message whose content getter changes the history', () => {
  it('a getter that clears the history leaves it holding the message, and other histories untouched', () => {
    const h = new RingBufferHistory<unknown>({ maxMessages: 2 })
    h.push('a', 'b') // fully grown: the next push would take the steady-state path
    h.push({
      role: 'user',
      get content() {
        h.clear()
        return 'hi'
      },
    })
    expect(h.length).toBe(1)
    expect(h.bytes).toBe(defaultSizeOf({ role: 'user', content: 'hi' }))
    const x = new RingBufferHistory<string>({ maxMessages: 1 })
    const y = new RingBufferHistory<string>({ maxMessages: 1 })
    x.push('from-x')
    y.push('from-y')
    expect(x.at(0)).toBe('from-x')
    expect(y.at(0)).toBe('from-y')
    x.push('x2')
    expect(x.bytes).toBe(defaultSizeOf('x2'))
  })

  it('a checkpoint taken by a getter covers the message being pushed', () => {
    const g = new RingBufferHistory<unknown>({ maxMessages: 2 })
    g.push('a', 'b')
    let cp: ReturnType<typeof g.checkpoint> | undefined
    g.push({
      role: 'user',
      get content() {
        cp ??= g.checkpoint()
        return 'c'
      },
    })
    g.push('d')
    expect(g.rollback(cp as ReturnType<typeof g.checkpoint>)).toBe(2)
    expect(g.length).toBe(0)
  })
})
