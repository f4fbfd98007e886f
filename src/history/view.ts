/**
 * The read-only array surface shared by `readonly T[]` and {@link RingBufferHistory}: type a
 * parameter with it and both a plain array (in a test) and a history (in production) can be
 * passed.
 *
 * Every member of `ReadonlyArray` that a history offers is here, with callbacks typed by the two
 * arguments both give (the value and its index). What is not here, and why:
 * - index access (`history[0]`): a history reads by `at(0)`. Answering `history[0]` would take a
 *   `Proxy`, which costs every read and every push; `at()` works on arrays too.
 * - the mutating methods other than `push` (`splice`, `shift`, `sort`, …).
 *
 * @typeParam T - the message type
 * @example
 * ```ts
 * import type { HistoryView } from 'bounded-session'
 *
 * function query(history: HistoryView<Message>) {
 *   return history.map((m) => ({ role: m.role, parts: [{ text: m.content }] }))
 * }
 * query([{ role: 'user', content: 'hi' }]) // a plain array, in a test
 * query(session.conversationHistory) // a RingBufferHistory, in production
 * ```
 */
export interface HistoryView<T> extends Iterable<T> {
  /** How many messages there are. */
  readonly length: number
  /** The message at `index`; a negative index counts back from the newest. */
  at(index: number): T | undefined
  /** A new array of the messages from `start` up to `end`. */
  slice(start?: number, end?: number): T[]
  /** A new array of the messages and the given items (arrays are spread, as by `Array#concat`). */
  concat(...items: (T | ConcatArray<T>)[]): T[]
  /** The messages joined into a string. */
  join(separator?: string): string
  /** The first index of `message` (by `===`), or -1. */
  indexOf(message: T, fromIndex?: number): number
  /** The last index of `message` (by `===`), or -1. */
  lastIndexOf(message: T, fromIndex?: number): number
  /** Whether `message` is held (SameValueZero, as `Array#includes`). */
  includes(message: T, fromIndex?: number): boolean
  /** Like `Array#map`. */
  map<U>(fn: (message: T, index: number) => U): U[]
  /** Like `Array#flatMap`. */
  flatMap<U>(fn: (message: T, index: number) => U | ReadonlyArray<U>): U[]
  /** Like `Array#filter`. */
  filter<S extends T>(fn: (message: T, index: number) => message is S): S[]
  /** Like `Array#filter`. */
  filter(fn: (message: T, index: number) => unknown): T[]
  /** Like `Array#reduce`. */
  reduce(fn: (accumulator: T, message: T, index: number) => T): T
  /** Like `Array#reduce`. */
  reduce<U>(fn: (accumulator: U, message: T, index: number) => U, initial: U): U
  /** Like `Array#forEach`. */
  forEach(fn: (message: T, index: number) => void): void
  /** Like `Array#some`. */
  some(fn: (message: T, index: number) => unknown): boolean
  /** Like `Array#every`. */
  every(fn: (message: T, index: number) => unknown): boolean
  /** Like `Array#find`. */
  find<S extends T>(fn: (message: T, index: number) => message is S): S | undefined
  /** Like `Array#find`. */
  find(fn: (message: T, index: number) => unknown): T | undefined
  /** Like `Array#findIndex`. */
  findIndex(fn: (message: T, index: number) => unknown): number
  /** Like `Array#findLast`. */
  findLast<S extends T>(fn: (message: T, index: number) => message is S): S | undefined
  /** Like `Array#findLast`. */
  findLast(fn: (message: T, index: number) => unknown): T | undefined
  /** Like `Array#findLastIndex`. */
  findLastIndex(fn: (message: T, index: number) => unknown): number
  /** A new array of the messages, newest first. */
  toReversed(): T[]
  /** Iterates `[index, message]` pairs, oldest first. */
  entries(): IterableIterator<[number, T]>
  /** Iterates the indexes. */
  keys(): IterableIterator<number>
  /** Iterates the messages, oldest first. */
  values(): IterableIterator<T>
}
