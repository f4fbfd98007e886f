import { type Ring, relativeIndex } from './ring.js'
import type { HistoryView } from './view.js'
import type { RingBufferHistory } from './ring-buffer-history.js'

// The array readers of a history, over its ring: everything of `ReadonlyArray` that
// RingBufferHistory offers (see HistoryView), oldest first unless said otherwise. Each callback
// sees the history as it is when it is called (a callback that pushes changes what later calls
// see), and `find`/`findLast` return the message the predicate was given.

/**
 * The array readers of {@link RingBufferHistory}, which extends this class: a history reads like
 * the array it replaces.
 *
 * @typeParam T - the message type
 */
export abstract class HistoryReaders<T> implements Omit<HistoryView<T>, 'length'> {
  readonly #ring: Ring<T>

  /** @param ring - the history's storage, shared with the history */
  protected constructor(ring: Ring<T>) {
    this.#ring = ring
  }

  /**
   * The message at `index`; a negative index counts back from the newest, as on arrays.
   *
   * @returns the message, or `undefined` when the index is out of range
   */
  at(index: number): T | undefined {
    const len = this.#ring.len
    let i = Math.trunc(index) || 0
    if (i < 0) i += len
    if (i < 0 || i >= len) return undefined
    return this.#ring.at(i)
  }

  /** Iterates the messages, oldest first. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#ring.len; i++) yield this.#ring.at(i)
  }

  /** Iterates the messages, oldest first (as `Array#values`). */
  values(): IterableIterator<T> {
    return this[Symbol.iterator]()
  }

  /** Iterates the indexes, `0` to `length - 1` (as `Array#keys`). */
  *keys(): IterableIterator<number> {
    for (let i = 0; i < this.#ring.len; i++) yield i
  }

  /** Iterates `[index, message]` pairs, oldest first (as `Array#entries`). */
  *entries(): IterableIterator<[number, T]> {
    for (let i = 0; i < this.#ring.len; i++) yield [i, this.#ring.at(i)]
  }

  /** Like `Array.prototype.map`, oldest first. */
  map<U>(fn: (message: T, index: number, history: this) => U): U[] {
    const n = this.#ring.len
    const out = new Array<U>(n)
    const buf = this.#ring.buf
    const cap = buf.length
    let p = this.#ring.head
    for (let i = 0; i < n; i++) {
      out[i] = fn(buf[p] as T, i, this)
      if (++p === cap) p = 0
    }
    return out
  }

  /** Like `Array.prototype.flatMap`, oldest first: arrays the callback returns are spread one level. */
  flatMap<U>(fn: (message: T, index: number, history: this) => U | ReadonlyArray<U>): U[] {
    const out: U[] = []
    for (let i = 0; i < this.#ring.len; i++) {
      const result = fn(this.#ring.at(i), i, this)
      if (Array.isArray(result)) for (const item of result as ReadonlyArray<U>) out.push(item)
      else out.push(result as U)
    }
    return out
  }

  /** Like `Array.prototype.filter`, oldest first. */
  filter<S extends T>(fn: (message: T, index: number, history: this) => message is S): S[]
  filter(fn: (message: T, index: number, history: this) => unknown): T[]
  filter(fn: (message: T, index: number, history: this) => unknown): T[] {
    const out: T[] = []
    for (let i = 0; i < this.#ring.len; i++) {
      const message = this.#ring.at(i)
      if (fn(message, i, this)) out.push(message)
    }
    return out
  }

  /**
   * Like `Array.prototype.reduce`, oldest first.
   *
   * @throws TypeError when the history is empty and no initial value is given
   */
  reduce(fn: (accumulator: T, message: T, index: number, history: this) => T): T
  reduce<U>(fn: (accumulator: U, message: T, index: number, history: this) => U, initial: U): U
  reduce<U>(fn: (accumulator: U, message: T, index: number, history: this) => U, ...rest: [U?]): U {
    let i = 0
    let acc: U
    if (rest.length > 0) acc = rest[0] as U
    else if (this.#ring.len === 0) throw new TypeError('Reduce of empty history with no initial value')
    else acc = this.#ring.at(i++) as unknown as U
    for (; i < this.#ring.len; i++) acc = fn(acc, this.#ring.at(i), i, this)
    return acc
  }

  /** Like `Array.prototype.forEach`, oldest first. */
  forEach(fn: (message: T, index: number, history: this) => void): void {
    for (let i = 0; i < this.#ring.len; i++) fn(this.#ring.at(i), i, this)
  }

  /** Like `Array.prototype.some`, oldest first. */
  some(fn: (message: T, index: number, history: this) => unknown): boolean {
    for (let i = 0; i < this.#ring.len; i++) if (fn(this.#ring.at(i), i, this)) return true
    return false
  }

  /** Like `Array.prototype.every`, oldest first. */
  every(fn: (message: T, index: number, history: this) => unknown): boolean {
    for (let i = 0; i < this.#ring.len; i++) if (!fn(this.#ring.at(i), i, this)) return false
    return true
  }

  /**
   * Like `Array.prototype.find`, oldest first: returns the very message the predicate matched,
   * even if the predicate changed the history (each call sees the history as it is then).
   */
  find<S extends T>(fn: (message: T, index: number, history: this) => message is S): S | undefined
  find(fn: (message: T, index: number, history: this) => unknown): T | undefined
  find(fn: (message: T, index: number, history: this) => unknown): T | undefined {
    for (let i = 0; i < this.#ring.len; i++) {
      const message = this.#ring.at(i)
      if (fn(message, i, this)) return message
    }
    return undefined
  }

  /** Like `Array.prototype.findIndex`, oldest first. */
  findIndex(fn: (message: T, index: number, history: this) => unknown): number {
    for (let i = 0; i < this.#ring.len; i++) if (fn(this.#ring.at(i), i, this)) return i
    return -1
  }

  /** Like `Array.prototype.findLast`, newest first: returns the very message the predicate matched, as `find` does. */
  findLast<S extends T>(fn: (message: T, index: number, history: this) => message is S): S | undefined
  findLast(fn: (message: T, index: number, history: this) => unknown): T | undefined
  findLast(fn: (message: T, index: number, history: this) => unknown): T | undefined {
    for (let i = this.#ring.len - 1; i >= 0; i--) {
      const message = this.#ring.at(i)
      if (fn(message, i, this)) return message
    }
    return undefined
  }

  /** Like `Array.prototype.findLastIndex`, newest first. */
  findLastIndex(fn: (message: T, index: number, history: this) => unknown): number {
    for (let i = this.#ring.len - 1; i >= 0; i--) if (fn(this.#ring.at(i), i, this)) return i
    return -1
  }

  /** Like `Array.prototype.indexOf`: the first index of `message` (by `===`) from `fromIndex`, or -1. */
  indexOf(message: T, fromIndex?: number): number {
    const ring = this.#ring
    for (let i = relativeIndex(fromIndex, 0, ring.len); i < ring.len; i++) if (ring.at(i) === message) return i
    return -1
  }

  /** Like `Array.prototype.lastIndexOf`: the last index of `message` (by `===`) at or before `fromIndex`, or -1. */
  lastIndexOf(message: T, fromIndex?: number): number {
    const n = this.#ring.len
    let from = n - 1
    if (arguments.length > 1) {
      const i = Math.trunc(fromIndex ?? 0) || 0
      from = i < 0 ? n + i : Math.min(i, n - 1)
    }
    for (let i = from; i >= 0; i--) if (this.#ring.at(i) === message) return i
    return -1
  }

  /** Like `Array.prototype.includes` (SameValueZero: finds `NaN`). */
  includes(message: T, fromIndex?: number): boolean {
    const ring = this.#ring
    for (let i = relativeIndex(fromIndex, 0, ring.len); i < ring.len; i++) {
      const m = ring.at(i)
      if (m === message || (m !== m && message !== message)) return true
    }
    return false
  }

  /** Like `Array.prototype.join`: the messages as strings, joined by `separator` (default `,`). */
  join(separator?: string): string {
    return this.#ring.slice().join(separator)
  }

  /**
   * Like `Array.prototype.concat`: a new array of the messages, then each item; arrays and
   * histories among the items are spread one level. (`[].concat(history)` does not spread a
   * history: use `[...history]` or `history.toArray()` there.)
   */
  concat(...items: (T | ConcatArray<T> | RingBufferHistory<T>)[]): T[] {
    const out = this.#ring.slice()
    for (const item of items) {
      if (Array.isArray(item) || item instanceof HistoryReaders) for (const m of item as Iterable<T>) out.push(m)
      else out.push(item as T)
    }
    return out
  }

  /** Like `Array.prototype.toReversed`: a new array of the messages, newest first. */
  toReversed(): T[] {
    return this.#ring.slice().reverse()
  }

  /** Like `Array.prototype.slice`: a new array of the messages from `start` up to `end`. */
  slice(start?: number, end?: number): T[] {
    return this.#ring.slice(start, end)
  }

  /** A new array of the messages, oldest first. */
  toArray(): T[] {
    return this.#ring.slice()
  }

  /** The messages as an array, so that `JSON.stringify(history)` writes them as one (pins are not written: see {@link RingBufferHistory.snapshot}). */
  toJSON(): T[] {
    return this.#ring.slice()
  }
}
