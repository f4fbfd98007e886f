import { describe, expectTypeOf, it } from 'vitest'
import {
  InvalidCheckpointError,
  InvalidMeasurementError,
  InvalidOptionsError,
  MessageTooLargeError,
  RingBufferHistory,
  defaultCountTokens,
  estimateTextTokens,
  defaultSizeOf,
  type ErrorCode,
  type HistoryBudget,
  type HistoryCheckpoint,
  type RingBufferHistoryOptions,
  type TrimReason,
  type TrimSummary,
} from '../src/index.js'

interface UserMsg {
  role: 'user'
  content: string
}
interface AssistantMsg {
  role: 'assistant'
  content: string
  model: string
}
type Msg = UserMsg | AssistantMsg

declare const h: RingBufferHistory<Msg>

describe('RingBufferHistory types', () => {
  it('TrimReason is the union of the three budgets', () => {
    expectTypeOf<TrimReason>().toEqualTypeOf<'count' | 'bytes' | 'tokens'>()
  })

  it('options type: every field optional, with the documented types', () => {
    type O = RingBufferHistoryOptions<Msg>
    expectTypeOf<{}>().toExtend<O>()
    expectTypeOf<O['maxMessages']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<O['maxBytes']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<O['maxTokens']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<O['maxPinned']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<NonNullable<O['sizeOf']>>().toEqualTypeOf<(message: Msg) => number>()
    expectTypeOf<NonNullable<O['countTokens']>>().toEqualTypeOf<(message: Msg) => number>()
    expectTypeOf<NonNullable<O['pin']>>().toEqualTypeOf<(message: Msg) => boolean>()
    expectTypeOf<NonNullable<O['startOn']>>().toEqualTypeOf<(message: Msg) => boolean>()
    expectTypeOf<NonNullable<O['onTrim']>>().parameters.toEqualTypeOf<[Msg[], TrimReason, TrimSummary]>()
    expectTypeOf<NonNullable<O['onTrim']>>().returns.toEqualTypeOf<void>()
  })

  it('HistoryBudget has three optional numeric fields', () => {
    expectTypeOf<{}>().toExtend<HistoryBudget>()
    expectTypeOf<{ maxMessages: number; maxBytes: number; maxTokens: number }>().toExtend<HistoryBudget>()
    expectTypeOf<HistoryBudget['maxMessages']>().toEqualTypeOf<number | undefined>()
  })

  it('wrong option types are compile errors', () => {
    // @ts-expect-error maxMessages must be a number
    new RingBufferHistory<Msg>({ maxMessages: '5' })
    // @ts-expect-error maxBytes must be a number
    new RingBufferHistory<Msg>({ maxBytes: true })
    // @ts-expect-error a typo is an unknown key
    new RingBufferHistory<Msg>({ maxMesages: 5 })
    // @ts-expect-error sizeOf must return a number
    new RingBufferHistory<Msg>({ sizeOf: (m: Msg) => m.content })
    // @ts-expect-error pin must be a function
    new RingBufferHistory<Msg>({ pin: true })
    // @ts-expect-error startOn takes a message of the history's type
    new RingBufferHistory<Msg>({ startOn: (m: number) => m > 0 })
    // @ts-expect-error onTrim must accept every TrimReason
    new RingBufferHistory<Msg>({ onTrim: (_t: Msg[], _r: 'count') => {} })
  })

  it('infers T from a typed callback and from from()', () => {
    const a = new RingBufferHistory({ sizeOf: (m: Msg) => m.content.length })
    expectTypeOf(a).toEqualTypeOf<RingBufferHistory<Msg>>()
    const b = RingBufferHistory.from([1, 2, 3])
    expectTypeOf(b).toEqualTypeOf<RingBufferHistory<number>>()
    const c = RingBufferHistory.from(new Set<Msg>(), { maxMessages: 3 })
    expectTypeOf(c).toEqualTypeOf<RingBufferHistory<Msg>>()
    expectTypeOf(RingBufferHistory.from<Msg>).parameter(1).toEqualTypeOf<RingBufferHistoryOptions<Msg> | undefined>()
  })

  it('is an Iterable of T with array-like members', () => {
    expectTypeOf(h).toExtend<Iterable<Msg>>()
    expectTypeOf(h[Symbol.iterator]()).toExtend<IterableIterator<Msg>>()
    expectTypeOf([...h]).toEqualTypeOf<Msg[]>()
    for (const m of h) expectTypeOf(m).toEqualTypeOf<Msg>()
    expectTypeOf(h.push).parameters.toEqualTypeOf<Msg[]>()
    expectTypeOf(h.push).returns.toEqualTypeOf<number>()
    expectTypeOf(h.length).toEqualTypeOf<number>()
    expectTypeOf(h.capacity).toEqualTypeOf<number>()
    expectTypeOf(h.bytes).toEqualTypeOf<number>()
    expectTypeOf(h.tokens).toEqualTypeOf<number>()
    expectTypeOf(h.evictedCount).toEqualTypeOf<number>()
  })

  it('read-only properties cannot be assigned', () => {
    // @ts-expect-error capacity is read-only
    h.capacity = 10
    // @ts-expect-error bytes is read-only
    h.bytes = 0
    // @ts-expect-error tokens is read-only
    h.tokens = 0
    // @ts-expect-error evictedCount is read-only
    h.evictedCount = 0
  })

  it('at() returns T | undefined', () => {
    expectTypeOf(h.at(0)).toEqualTypeOf<Msg | undefined>()
    expectTypeOf(h.at).parameters.toEqualTypeOf<[index: number]>()
  })

  it('map returns U[] and passes (message, index, history)', () => {
    expectTypeOf(h.map((m) => m.content.length)).toEqualTypeOf<number[]>()
    h.map((m, i, self) => {
      expectTypeOf(m).toEqualTypeOf<Msg>()
      expectTypeOf(i).toEqualTypeOf<number>()
      expectTypeOf(self).toExtend<RingBufferHistory<Msg>>()
      return null
    })
    expectTypeOf(h.map((m) => ({ role: m.role, parts: [{ text: m.content }] }))).toEqualTypeOf<
      Array<{ role: 'user' | 'assistant'; parts: Array<{ text: string }> }>
    >()
  })

  it('filter: a plain predicate gives T[], a type guard narrows', () => {
    expectTypeOf(h.filter((m) => m.content.length > 0)).toEqualTypeOf<Msg[]>()
    expectTypeOf(h.filter((m): m is AssistantMsg => m.role === 'assistant')).toEqualTypeOf<AssistantMsg[]>()
    expectTypeOf(h.filter(() => 1)).toEqualTypeOf<Msg[]>()
  })

  it('find: a plain predicate gives T | undefined, a type guard narrows', () => {
    expectTypeOf(h.find((m) => m.content.length > 0)).toEqualTypeOf<Msg | undefined>()
    expectTypeOf(h.find((m): m is UserMsg => m.role === 'user')).toEqualTypeOf<UserMsg | undefined>()
  })

  it('reduce has the overloads of Array#reduce', () => {
    expectTypeOf(h.reduce((a, b) => (a.content.length > b.content.length ? a : b))).toEqualTypeOf<Msg>()
    expectTypeOf(h.reduce((n, m) => n + m.content.length, 0)).toEqualTypeOf<number>()
    expectTypeOf(h.reduce<string[]>((acc, m) => [...acc, m.content], [])).toEqualTypeOf<string[]>()
    expectTypeOf(h.reduce((acc, m) => acc + m.content, '')).toEqualTypeOf<string>()
    h.reduce((acc, m, i, self) => {
      expectTypeOf(acc).toEqualTypeOf<number>()
      expectTypeOf(m).toEqualTypeOf<Msg>()
      expectTypeOf(i).toEqualTypeOf<number>()
      expectTypeOf(self).toExtend<RingBufferHistory<Msg>>()
      return acc
    }, 0)
  })

  it('forEach, some, every, slice, toArray, toJSON, window', () => {
    expectTypeOf(h.forEach((m) => m)).toEqualTypeOf<void>()
    expectTypeOf(h.some((m) => m.role === 'user')).toEqualTypeOf<boolean>()
    expectTypeOf(h.every((m) => m.role === 'user')).toEqualTypeOf<boolean>()
    expectTypeOf(h.slice()).toEqualTypeOf<Msg[]>()
    expectTypeOf(h.slice(-2)).toEqualTypeOf<Msg[]>()
    expectTypeOf(h.slice(1, 2)).toEqualTypeOf<Msg[]>()
    expectTypeOf(h.toArray()).toEqualTypeOf<Msg[]>()
    expectTypeOf(h.toJSON()).toEqualTypeOf<Msg[]>()
    expectTypeOf(h.window()).toEqualTypeOf<Msg[]>()
    expectTypeOf(h.window({ maxTokens: 100_000 })).toEqualTypeOf<Msg[]>()
    expectTypeOf(h.clear()).toEqualTypeOf<void>()
    // @ts-expect-error window budgets are numbers
    h.window({ maxMessages: '20' })
    // @ts-expect-error a typo in a window budget is an error
    h.window({ maxMessage: 20 })
  })

  it('checkpoint returns an opaque HistoryCheckpoint that rollback takes', () => {
    const cp = h.checkpoint()
    expectTypeOf(cp).toEqualTypeOf<HistoryCheckpoint>()
    expectTypeOf(h.rollback(cp)).toEqualTypeOf<number>()
    expectTypeOf(cp.position).toEqualTypeOf<number>()
    // @ts-expect-error the checkpoint is read-only
    cp.position = 0
    // @ts-expect-error rollback does not take a bare number
    h.rollback(0)
    // @ts-expect-error rollback needs a checkpoint
    h.rollback()
  })

  it('a checkpoint cannot be forged from a plain object', () => {
    // @ts-expect-error only checkpoint() makes a HistoryCheckpoint
    h.rollback({ position: 0 })
  })

  it('the default measures take any value', () => {
    expectTypeOf(defaultSizeOf).toEqualTypeOf<(message: unknown) => number>()
    expectTypeOf(defaultCountTokens).toEqualTypeOf<(message: unknown) => number>()
    expectTypeOf(estimateTextTokens).toEqualTypeOf<(text: string) => number>()
  })

  it('errors carry stable codes and their fields', () => {
    expectTypeOf<InvalidOptionsError>().toExtend<TypeError>()
    expectTypeOf<InvalidOptionsError['code']>().toEqualTypeOf<'ERR_INVALID_OPTIONS'>()
    expectTypeOf<InvalidOptionsError['field']>().toEqualTypeOf<string>()
    expectTypeOf<InvalidOptionsError['value']>().toEqualTypeOf<unknown>()
    expectTypeOf<MessageTooLargeError>().toExtend<RangeError>()
    expectTypeOf<MessageTooLargeError['code']>().toEqualTypeOf<'ERR_MESSAGE_TOO_LARGE'>()
    expectTypeOf<MessageTooLargeError['budget']>().toEqualTypeOf<'bytes' | 'tokens'>()
    expectTypeOf<MessageTooLargeError['limit']>().toEqualTypeOf<number>()
    expectTypeOf<MessageTooLargeError['needed']>().toEqualTypeOf<number>()
    expectTypeOf<InvalidMeasurementError>().toExtend<TypeError>()
    expectTypeOf<InvalidMeasurementError['code']>().toEqualTypeOf<'ERR_INVALID_MEASUREMENT'>()
    expectTypeOf<InvalidMeasurementError['measure']>().toEqualTypeOf<'sizeOf' | 'countTokens'>()
    expectTypeOf<InvalidCheckpointError>().toExtend<TypeError>()
    expectTypeOf<InvalidCheckpointError['code']>().toEqualTypeOf<'ERR_INVALID_CHECKPOINT'>()
    expectTypeOf<ErrorCode>().toEqualTypeOf<
      | 'ERR_INVALID_OPTIONS'
      | 'ERR_MESSAGE_TOO_LARGE'
      | 'ERR_INVALID_MEASUREMENT'
      | 'ERR_INVALID_CHECKPOINT'
      | 'ERR_INVALID_ARGUMENT'
      | 'ERR_INVALID_SNAPSHOT'
      | 'ERR_TRIM_CALLBACK'
      | 'ERR_SESSION_LIMIT'
      | 'ERR_STORE_CLOSED'
      | 'ERR_SESSION_CLOSING'
      | 'ERR_SESSION_CREATING'
      | 'ERR_DISPOSE_TIMEOUT'
      | 'ERR_INVALID_CLOCK'
      | 'ERR_ORPHAN_RESULT'
      | 'ERR_REDIS_COMMAND'
      | 'ERR_REDIS_DATA'
      | 'ERR_REDIS_CONFIG'
      | 'ERR_FENCED'
      | 'ERR_REGISTRY_CLOSED'
      | 'ERR_SESSION_TRANSACTION'
      | 'ERR_INVALID_MESSAGE'
    >()
  })
})
