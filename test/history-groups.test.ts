import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type GroupRule, type MessageFormat, OrphanResultError, RingBufferHistory, type RingBufferHistoryOptions } from '../src/index.js'
import { assertProperty } from './helpers/property.js'

// The `group` and `format` options (issue 20 items 3 and 4): a call and its results, and a
// `withNext` message with the next one, are kept or dropped whole by trimming and window().

interface M {
  id: number
  role: 'user' | 'assistant' | 'tool'
  content: string
  calls?: string[]
  results?: string[]
  withNext?: boolean
}
const group: GroupRule<M> = (m) => (m.calls || m.results || m.withNext ? { calls: m.calls, results: m.results, withNext: m.withNext } : undefined)
let next = 0
const u = (content = 'u'): M => ({ id: next++, role: 'user', content })
const call = (...calls: string[]): M => ({ id: next++, role: 'assistant', content: 'c', calls })
const result = (...results: string[]): M => ({ id: next++, role: 'tool', content: 'r', results })
const ids = (ms: readonly M[]): number[] => ms.map((m) => m.id)

/** The problems a provider would refuse: a result whose call is not before it in `ms`, a split withNext. */
function problems(ms: readonly M[]): string[] {
  const made = new Set<string>()
  const out: string[] = []
  ms.forEach((m, i) => {
    for (const id of m.results ?? []) if (!made.has(id)) out.push(`orphan result ${id} at ${i}`)
    for (const id of m.calls ?? []) made.add(id)
    if (m.withNext && i === ms.length - 1 && i !== ms.length - 1) out.push('split')
  })
  return out
}

describe('group: trimming keeps a call and its results together', () => {
  it('trims a call with its parallel results in later messages, never leaving an orphan result first', () => {
    const h = new RingBufferHistory<M>({ maxMessages: 4, group })
    const a = u(), c = call('1', '2'), r1 = result('1'), r2 = result('2')
    h.push(a, c, r1, r2)
    const b = u()
    h.push(b) // over by one: trimming a leaves c first, fine
    expect(ids(h.toArray())).toEqual(ids([c, r1, r2, b]))
    h.push(u()) // trimming c takes r1 and r2 with it
    expect(problems(h.toArray())).toEqual([])
    expect(h.toArray()[0]).toBe(b)
  })

  it('a withNext message goes with the next one', () => {
    const h = new RingBufferHistory<M>({ maxMessages: 3, group })
    const reasoning: M = { id: next++, role: 'assistant', content: 'think', withNext: true }
    const answer: M = { id: next++, role: 'assistant', content: 'a' }
    h.push(u(), reasoning, answer)
    h.push(u()) // trims the user message; the reasoning leads, fine
    h.push(u()) // trimming the reasoning takes the answer with it
    expect(h.toArray().includes(answer)).toBe(false)
  })

  it('window() never starts inside a group, and the newest group may be in flight', () => {
    const h = new RingBufferHistory<M>({ maxMessages: 50, group })
    h.push(u(), call('a'), result('a'), u(), call('b', 'c'), result('b'))
    // From 2 messages on, the newest group (call b and c, result b, c in flight) fits whole.
    for (let n = 2; n <= 6; n++) expect(problems(h.window({ maxMessages: n }))).toEqual([])
    expect(h.window({ maxMessages: 2 }).at(-1)?.results).toEqual(['b'])
  })

  it('a result whose call is not in the history throws OrphanResultError and changes nothing; a late one too', () => {
    const h = new RingBufferHistory<M>({ maxMessages: 2, group })
    h.push(u())
    const before = h.toArray()
    let error: unknown
    try {
      h.push(result('x'))
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(OrphanResultError)
    expect(error).toMatchObject({ code: 'ERR_ORPHAN_RESULT', callId: 'x' })
    expect(h.toArray()).toEqual(before)
    h.push(call('late'), u(), u()) // the call is trimmed before its result comes
    expect(() => h.push(result('late'))).toThrow(expect.objectContaining({ code: 'ERR_ORPHAN_RESULT' }))
    // A call and its results in one push are fine.
    expect(() => h.push(call('z'), result('z'))).not.toThrow()
  })

  it('works with startOn: trimming stops at a user turn that starts no group', () => {
    const h = new RingBufferHistory<M>({ maxMessages: 4, group, startOn: (m) => m.role === 'user' })
    h.push(u(), call('a'), result('a'), u('q'))
    h.push(call('b'))
    expect(h.toArray()[0]?.content).toBe('q')
  })
})

describe('group: the trimTo target never cuts into the newest group', () => {
  const bytes = (m: M): number => m.content.length
  const tokens = (m: M): number => m.content.length
  // Three user turns (4 bytes each), then a call with three results in flight (1 byte each): the
  // push of the third goes over every budget.
  const inFlight = (): { before: M[]; group: M[]; last: M } => {
    const before = [u('uuuu'), u('uuuu'), u('uuuu')]
    return { before, group: [call('x', 'y', 'z'), result('x'), result('y')], last: result('z') }
  }
  for (const [name, options] of [
    ['maxMessages', { maxMessages: 6 }],
    ['maxBytes', { maxBytes: 15, sizeOf: bytes }],
    ['maxTokens', { maxTokens: 15, countTokens: tokens }],
  ] as const) {
    for (const trimTo of [0, 0.25, 0.5]) {
      it(`${name}, trimTo ${trimTo}: trimming stops at the start of the in-flight group while the budget holds it`, () => {
        const h = new RingBufferHistory<M>({ ...options, trimTo, group })
        const { before, group: g, last } = inFlight()
        for (const m of [...before, ...g]) h.push(m)
        h.push(last)
        expect(problems(h.toArray())).toEqual([])
        expect(ids(h.toArray())).toEqual(ids([...g, last]))
      })
    }
  }

  it('calls in flight in separate messages are kept while the budget holds them, so their results are accepted', () => {
    const h = new RingBufferHistory<M>({ maxMessages: 3, trimTo: 0, group })
    const a = call('a')
    const b = call('b')
    h.push(u(), u(), a)
    h.push(b) // over: trimming to 0 stops at call a, still unanswered
    expect(ids(h.toArray())).toEqual(ids([a, b]))
    expect(() => h.push(result('a'))).not.toThrow()
    expect(problems(h.toArray())).toEqual([])
  })

  it('a rollback past a result puts its call in flight again: trimming to the target keeps it', () => {
    const h = new RingBufferHistory<M>({ maxMessages: 3, trimTo: 0, group })
    const a = call('a')
    h.push(u(), a)
    const mark = h.checkpoint()
    h.push(result('a'))
    h.rollback(mark)
    const b = call('b')
    h.push(u(), b) // over: trimming to 0 stops at call a, unanswered again
    expect(ids(h.toArray())).toEqual(ids([a, h.toArray()[1]!, b]))
    expect(() => h.push(result('a'))).not.toThrow()
  })

  it('with startOn, trimming to the target keeps the newest turn while the budget holds it, and goes on to a turn start when it does not', () => {
    const reply = (): M => ({ id: next++, role: 'assistant', content: 'ok' })
    const startOn = (m: M): boolean => m.role === 'user'
    const h = new RingBufferHistory<M>({ maxMessages: 5, trimTo: 0, group, startOn })
    const q = u('q')
    const turn = [q, call('a'), result('a'), reply()]
    h.push(u('old'), ...turn)
    const last = reply()
    h.push(last) // over: the target (0) would leave the reply alone; the newest turn fits
    expect(ids(h.toArray())).toEqual(ids([...turn, last]))
    const q2 = u('q2')
    h.push(q2) // over the hard budget with the newest turn whole: on to the next turn start
    expect(ids(h.toArray())).toEqual(ids([q2]))
  })

  it('a group alone over the hard budget is cut at its start, as the newest message is kept; window() leaves it out', () => {
    const h = new RingBufferHistory<M>({ maxMessages: 3, trimTo: 0.5, group })
    const c = call('a', 'b', 'c')
    h.push(u(), c, result('a'), result('b'))
    expect(ids(h.toArray())).toEqual(ids([c, ...h.toArray().slice(1)]))
    h.push(result('c')) // call + 3 results: 4 messages, over maxMessages 3
    expect(h.toArray().map((m) => m.results?.[0])).toEqual(['c'])
    for (const max of [1, 2, 3]) expect(h.window({ maxMessages: max })).toEqual([])
    h.push(u()) // the rest of the cut group goes once a message starts another one
    expect(problems(h.toArray())).toEqual([])
  })

  it('window() whose budget cannot hold the newest group returns the messages before it (none here), never part of it', () => {
    const h = new RingBufferHistory<M>({ group })
    const c = call('a', 'b', 'c')
    h.push(u(), c, result('a'), result('b'))
    expect(h.window({ maxMessages: 2 })).toEqual([])
    expect(ids(h.window({ maxMessages: 3 }))).toEqual(ids(h.toArray().slice(1)))
    // A stable window's trimTo target is only a target: it starts at the group when the budget holds it.
    expect(ids(h.window({ maxMessages: 3, trimTo: 0.25 }))).toEqual(ids(h.toArray().slice(1)))
  })
})

describe('group: with rollback, clone, restore and reset', () => {
  it('a call rolled back is no longer in the history: its result is refused', () => {
    const h = new RingBufferHistory<M>({ maxMessages: 10, group })
    h.push(u())
    const mark = h.checkpoint()
    h.push(call('a'))
    h.rollback(mark)
    expect(() => h.push(result('a'))).toThrow(OrphanResultError)
    h.push(call('a'), result('a'))
    expect(h.length).toBe(3)
  })

  it('clone() and restore() keep the groups: a result of a held call is accepted, trimming keeps them whole', () => {
    const h = new RingBufferHistory<M>({ maxMessages: 4, group })
    h.push(u(), call('a', 'b'), result('a'))
    for (const copy of [h.clone(), RingBufferHistory.restore(JSON.parse(JSON.stringify(h.snapshot())), { maxMessages: 4, group })]) {
      copy.push(result('b'))
      copy.push(u())
      expect(problems(copy.toArray())).toEqual([])
      expect(() => copy.push(result('zz'))).toThrow(OrphanResultError)
    }
  })

  it('clone() and restore() of a history whose group was cut at its start keep the results it starts with; a later orphan is still refused', () => {
    const h = new RingBufferHistory<M>({ maxMessages: 1, group })
    h.push(call('a'))
    h.push(result('a')) // the group alone exceeds maxMessages: cut at its start
    expect(ids(h.toArray())).toHaveLength(1)
    const snapshot = JSON.parse(JSON.stringify(h.snapshot()))
    for (const copy of [h.clone(), RingBufferHistory.restore<M>(snapshot, { maxMessages: 1, group })]) {
      expect(copy.toArray()).toEqual(h.toArray())
    }
    const bad = { ...snapshot, messages: [u(), result('zz')] }
    expect(() => RingBufferHistory.restore<M>(bad, { maxMessages: 4, group })).toThrow(OrphanResultError)
  })

  it('reset() and clear() forget the calls', () => {
    const h = new RingBufferHistory<M>({ maxMessages: 4, group })
    h.push(call('a'))
    h.reset([u()])
    expect(() => h.push(result('a'))).toThrow(OrphanResultError)
    h.push(call('b'))
    h.clear()
    expect(() => h.push(result('b'))).toThrow(OrphanResultError)
    expect(() => h.reset([result('c')])).toThrow(OrphanResultError)
    expect(h.reset([call('c'), result('c')])).toBe(2)
  })
})

describe('format: supplies the options, an explicit option overrides', () => {
  const format: MessageFormat<M> = {
    name: 'test',
    sizeOf: (m) => m.content.length,
    countTokens: () => 1,
    group,
    startOn: (m) => m.role === 'user',
    pin: () => false,
    shrink: (m) => m,
    check: () => [],
  }
  it('measures with the format, and groups by it', () => {
    const h = new RingBufferHistory<M>({ format, maxMessages: 10 })
    h.push(u('abc'))
    expect(h.bytes).toBe(3)
    expect(h.tokens).toBe(1)
    expect(() => h.push(result('nope'))).toThrow(OrphanResultError)
  })
  it('an explicit countTokens overrides the format', () => {
    const h = new RingBufferHistory<M>({ format, countTokens: (m) => m.content.length * 10 })
    h.push(u('abc'))
    expect(h.tokens).toBe(30)
    expect(h.bytes).toBe(3)
  })
  it('a format that is not one is refused', () => {
    expect(() => new RingBufferHistory<M>({ format: {} as MessageFormat<M> })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', field: 'format' }))
  })
})

// The model of the history's invariants with groups: after every step of random conversations
// (calls answered now, later or in parallel; withNext items; user turns) under random budgets and
// trimTo, toArray() and every window() have no orphan result at the start and no split group
// before their newest message, and every push either fits or is refused with nothing changed.
describe('group: property', () => {
  type Step = { t: 'user' } | { t: 'call'; n: number } | { t: 'answer'; pick: number } | { t: 'reason' } | { t: 'window'; max: number; trimTo: number } | { t: 'orphan' }
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 3, arbitrary: fc.constant({ t: 'user' as const }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('call' as const), n: fc.integer({ min: 1, max: 3 }) }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant('answer' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.constant({ t: 'reason' as const }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('window' as const), max: fc.integer({ min: 1, max: 10 }), trimTo: fc.constantFrom(1, 0.5) }) },
    { weight: 1, arbitrary: fc.constant({ t: 'orphan' as const }) },
  )
  it('no window and no toArray() ever starts inside a group', () => {
    assertProperty(
      fc.property(
        fc.integer({ min: 2, max: 12 }),
        fc.constantFrom(1, 0.5, 0),
        fc.boolean(),
        fc.array(step, { maxLength: 60 }),
        (maxMessages, trimTo, turns, steps) => {
          const options: RingBufferHistoryOptions<M> = { maxMessages, trimTo, group, ...(turns ? { startOn: (m: M) => m.role === 'user' } : {}) }
          const h = new RingBufferHistory<M>(options)
          const open: string[] = []
          let id = 0
          // Every message accepted, in order: the reference for which message is tied to the one
          // before it (after a withNext, or between a call and a result of it, the result included).
          const log: M[] = []
          const tiedInLog = (): Set<M> => {
            const tied = new Set<M>()
            log.forEach((m, i) => {
              if (i > 0 && log[i - 1]!.withNext) tied.add(m)
              for (const r of m.results ?? []) {
                const j = log.findIndex((c) => c.calls?.includes(r))
                for (let k = j + 1; k <= i; k++) tied.add(log[k]!)
              }
            })
            return tied
          }
          // A suffix of the log starts at a message not tied to the one before it. Only toArray()
          // may be wholly inside the newest group, and only when that group alone is larger than
          // maxMessages (cut at its start); trimTo never is a reason to cut into it. A window
          // never starts inside a group.
          const startsWell = (ms: readonly M[], where: string, hard?: number): void => {
            if (ms.length === 0) return
            const tied = tiedInLog()
            if (!tied.has(ms[0]!)) return
            expect(hard, `${where}: starts inside a group`).toBeDefined()
            expect(ms.every((m) => tied.has(m)), `${where}: starts inside a group that is not the newest`).toBe(true)
            let start = log.length - 1
            while (start > 0 && tied.has(log[start]!)) start--
            expect(log.length - start, `${where}: cuts into the newest group, which fits maxMessages ${hard}`).toBeGreaterThan(hard!)
          }
          const pushing = (...ms: M[]): void => {
            h.push(...ms)
            log.push(...ms)
          }
          for (const s of steps) {
            const held = new Set(h.toArray().flatMap((m) => m.calls ?? []))
            if (s.t === 'user') pushing(u())
            else if (s.t === 'call') {
              const made = Array.from({ length: s.n }, () => `c${id++}`)
              pushing(call(...made))
              open.push(...made)
            } else if (s.t === 'answer') {
              if (open.length === 0) continue
              const [callId] = open.splice(s.pick % open.length, 1)
              const before = h.toArray()
              if (held.has(callId!)) pushing(result(callId!))
              else {
                expect(() => h.push(result(callId!))).toThrow(OrphanResultError)
                expect(h.toArray()).toEqual(before)
              }
            } else if (s.t === 'reason') pushing({ id: next++, role: 'assistant', content: 'think', withNext: true }, u())
            else if (s.t === 'orphan') expect(() => h.push(result('never'))).toThrow(OrphanResultError)
            else startsWell(h.window({ maxMessages: s.max, trimTo: s.trimTo }), `window(${s.max}, ${s.trimTo})`)
            startsWell(h.toArray(), 'toArray', maxMessages)
            expect(h.length).toBeLessThanOrEqual(maxMessages)
          }
        },
      ),
      { numRuns: 200 },
    )
  })
})
