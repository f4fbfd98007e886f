import { describe, expectTypeOf, it } from 'vitest'
import {
  type CalibrationState,
  type HistorySnapshot,
  type HistoryView,
  RingBufferHistory,
  type RingBufferHistoryOptions,
  type ShrinkMessage,
  type TrimReason,
  type TrimSummary,
  truncateContent,
} from '../src/index.js'

interface Msg {
  role: 'user' | 'assistant'
  content: string
}

declare const history: RingBufferHistory<Msg>
declare const array: Msg[]
declare const readonlyArray: readonly Msg[]
declare const snapshot: HistorySnapshot<Msg>

// What provider code looks like once it takes the view: a plain array in its tests, a history in production.
function query(messages: HistoryView<Msg>): string[] {
  return messages.map((m, i) => `${i}:${m.content}`)
}

class Sub extends RingBufferHistory<Msg> {
  extra(): number {
    return 1
  }
}

describe('HistoryView', () => {
  it('readonly T[], T[] and RingBufferHistory<T> are all a HistoryView<T>', () => {
    expectTypeOf(readonlyArray).toExtend<HistoryView<Msg>>()
    expectTypeOf(array).toExtend<HistoryView<Msg>>()
    expectTypeOf(history).toExtend<HistoryView<Msg>>()
  })

  it('a function taking HistoryView<Msg> accepts both an array and a history', () => {
    expectTypeOf(query).toBeCallableWith(array)
    expectTypeOf(query).toBeCallableWith(readonlyArray)
    expectTypeOf(query).toBeCallableWith(history)
    expectTypeOf(query).toBeCallableWith([{ role: 'user', content: 'hi' }])
  })

  it('a history is not an array: it has no index access', () => {
    // @ts-expect-error `history[0]` is not supported (a Proxy would cost every read), so a history lacks the number index signature of T[]
    const asArray: Msg[] = history
    // @ts-expect-error the same for readonly T[]: its `readonly [n: number]: T` index signature has no counterpart; use HistoryView<T>
    const asReadonly: readonly Msg[] = history
    void asArray
    void asReadonly
    // @ts-expect-error and no index access on the view either: read with at()
    void ((history as HistoryView<Msg>)[0])
  })

  it('the readers keep the element type', () => {
    const view: HistoryView<Msg> = history
    expectTypeOf(view.at(0)).toEqualTypeOf<Msg | undefined>()
    expectTypeOf(view.concat([array[0]!])).toEqualTypeOf<Msg[]>()
    expectTypeOf(view.findLast((m) => m.role === 'user')).toEqualTypeOf<Msg | undefined>()
    expectTypeOf(view.flatMap((m) => [m.content])).toEqualTypeOf<string[]>()
    expectTypeOf([...view.entries()]).toEqualTypeOf<Array<[number, Msg]>>()
    expectTypeOf(view.toReversed()).toEqualTypeOf<Msg[]>()
    expectTypeOf(history.concat(history, array)).toEqualTypeOf<Msg[]>()
  })
})

describe('RingBufferHistory types for issue 10', () => {
  it('Sub.from() and Sub.restore() return Sub, and clone() keeps the class', () => {
    expectTypeOf(Sub.from(array)).toEqualTypeOf<Sub>()
    expectTypeOf(Sub.from(array, { maxMessages: 5 })).toEqualTypeOf<Sub>()
    expectTypeOf(Sub.restore(snapshot)).toEqualTypeOf<Sub>()
    expectTypeOf(Sub.restore(snapshot, { trimTo: 0.5 })).toEqualTypeOf<Sub>()
    expectTypeOf(Sub.from(array).clone()).toEqualTypeOf<Sub>()
    expectTypeOf(RingBufferHistory.from(array)).toEqualTypeOf<RingBufferHistory<Msg>>()
    expectTypeOf(RingBufferHistory.restore(snapshot)).toEqualTypeOf<RingBufferHistory<Msg>>()
  })

  it('a generic subclass needs its type arguments spelled out (TypeScript cannot infer them through `this`)', () => {
    class Generic<T> extends RingBufferHistory<T> {}
    expectTypeOf(Generic.from<Msg, Generic<Msg>>(array)).toEqualTypeOf<Generic<Msg>>()
    expectTypeOf(Generic.restore<Msg, Generic<Msg>>(snapshot)).toEqualTypeOf<Generic<Msg>>()
  })

  it('length is assignable, as on arrays', () => {
    history.length = 0
    expectTypeOf(history.length).toEqualTypeOf<number>()
  })

  it('onTrim gets a TrimSummary as its third parameter', () => {
    type OnTrim = NonNullable<RingBufferHistoryOptions<Msg>['onTrim']>
    expectTypeOf<Parameters<OnTrim>[2]>().toEqualTypeOf<TrimSummary>()
    expectTypeOf<TrimSummary>().toEqualTypeOf<{ readonly messages: number; readonly bytes: number; readonly tokens: number; readonly cold?: true }>()
    new RingBufferHistory<Msg>({
      onTrim: (trimmed, reason, summary) => {
        expectTypeOf(trimmed).toEqualTypeOf<Msg[]>()
        expectTypeOf(reason).toEqualTypeOf<TrimReason>()
        expectTypeOf(summary.bytes).toEqualTypeOf<number>()
      },
    })
  })

  it('the new options and methods have the documented types', () => {
    type O = RingBufferHistoryOptions<Msg>
    expectTypeOf<O['trimTo']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<O['shrink']>().toEqualTypeOf<ShrinkMessage<Msg> | undefined>()
    expectTypeOf(truncateContent<Msg>).toExtend<ShrinkMessage<Msg>>()
    new RingBufferHistory<Msg>({ shrink: truncateContent })
    expectTypeOf(history.pushPinned).parameters.toEqualTypeOf<Msg[]>()
    expectTypeOf(history.pushPinned).returns.toEqualTypeOf<number>()
    expectTypeOf(history.reset).toBeCallableWith()
    expectTypeOf(history.reset).toBeCallableWith(new Set<Msg>())
    expectTypeOf(history.snapshot()).toEqualTypeOf<HistorySnapshot<Msg>>()
    expectTypeOf(history.clone()).toEqualTypeOf<RingBufferHistory<Msg>>()
    expectTypeOf<HistorySnapshot<Msg>>().toEqualTypeOf<{
      version: 1
      messages: Msg[]
      pinned: number[]
      evictedCount: number
      calibration?: CalibrationState | undefined
    }>()
  })
})
