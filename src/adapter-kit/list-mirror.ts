import { RingBufferHistory, type RingBufferHistoryOptions } from '../ring-buffer-history.js'

/**
 * Keeps a bounded history in step with a list a framework hands over on every call (the messages
 * of a step, the messages of a chain), and answers with the history's content: bounded,
 * cache-stable with `trimTo`, groups whole. A call costs O(new messages), not O(list):
 *
 * - the list is the previous answer plus new messages (a framework that carries the answer
 *   forward, as the AI SDK 7 does): the new ones are pushed;
 * - the list is the previous list plus new messages (a framework that rebuilds the list from
 *   everything, as LangChain and the AI SDK 5 and 6 do): the new ones are pushed;
 * - anything else (another conversation, an edited list): the history is reset from the list.
 *
 * Lists are recognised by the identity of their last known message, so messages must not be
 * changed in place between calls (the frameworks do not).
 */
export class ListMirror<T> {
  #history: RingBufferHistory<T>
  #options: RingBufferHistoryOptions<T>
  #inLength = 0
  #inLast: T | undefined
  #out: T[] = []

  /** @param options - the bounded history's options */
  constructor(options: RingBufferHistoryOptions<T>) {
    this.#options = options
    this.#history = new RingBufferHistory(options)
  }

  /** The history that holds the answer. */
  get history(): RingBufferHistory<T> {
    return this.#history
  }

  /** Brings the history in step with `list` and returns its messages (a new array). */
  sync(list: readonly T[]): T[] {
    const out = this.#out
    const outLength = out.length
    let from = -1
    if (outLength > 0 && list.length >= outLength && list[outLength - 1] === out[outLength - 1] && list[0] === out[0]) from = outLength
    else if (this.#inLength > 0 && list.length >= this.#inLength && list[this.#inLength - 1] === this.#inLast) from = this.#inLength
    if (from < 0) this.#history.reset(list)
    else if (from < list.length) this.#history.push(...list.slice(from))
    this.#inLength = list.length
    this.#inLast = list[list.length - 1]
    this.#out = this.#history.toArray()
    return this.#out.slice()
  }

  /** Replaces the history with one of new options, keeping (and trimming to them) what it holds. */
  rebuild(options: RingBufferHistoryOptions<T>): void {
    this.#options = options
    this.#history = RingBufferHistory.from(this.#history.toArray(), options)
    this.#out = this.#history.toArray()
  }

  /** The options the history was made with. */
  get options(): RingBufferHistoryOptions<T> {
    return this.#options
  }
}
