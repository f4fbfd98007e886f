import type { HistoryMeasure } from './ring-buffer-history.js'

/** What {@link truncateContent} shrinks: a message with a string `content`. */
export interface ContentMessage {
  /** The text to shorten. */
  content: string
}

const marker = (elided: number): string => `…[${elided} characters elided]…`

/**
 * A ready `shrink` option for messages with a string `content` (`{ role, content }`): it keeps
 * the head and the tail of `content` and marks the cut with `…[N characters elided]…`, so that the
 * result fits `room` as the history measures it (its own `sizeOf` and `countTokens` included).
 * Every other field of the message is kept; the message itself is not changed (a copy is
 * returned).
 *
 * It keeps as much text as fits (found by bisection over the kept length, so it calls `measure`
 * about log2(length) times), two thirds of it from the head, where prompts put their instructions.
 * A message whose shape leaves no room even for the marker is returned with empty `content`
 * (the history then refuses it if even that does not fit).
 *
 * @param message - the message that does not fit
 * @param room - the bytes and tokens it may take
 * @param measure - the history's measures
 * @returns a shortened copy of the message
 * @example
 * ```ts
 * import { RingBufferHistory, truncateContent } from 'bounded-session'
 * const history = new RingBufferHistory<Message>({ maxBytes: 2_000_000, shrink: truncateContent })
 * history.push(hugeToolResult) // stored shortened instead of throwing
 * ```
 */
export function truncateContent<M extends ContentMessage>(message: M, room: HistoryMeasure, measure: (message: M) => HistoryMeasure): M {
  const text = message.content
  const fits = (candidate: M): boolean => {
    const m = measure(candidate)
    return m.bytes <= room.bytes && m.tokens <= room.tokens
  }
  const cut = (kept: number): M => {
    if (kept >= text.length) return { ...message }
    const head = Math.ceil((kept * 2) / 3)
    const tail = kept - head
    return { ...message, content: text.slice(0, head) + marker(text.length - kept) + (tail > 0 ? text.slice(text.length - tail) : '') }
  }
  if (fits(message)) return { ...message }
  // The largest kept length in [0, text.length) whose result fits.
  let low = 0
  let high = text.length - 1
  if (!fits(cut(0))) return { ...message, content: '' }
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (fits(cut(mid))) low = mid
    else high = mid - 1
  }
  return cut(low)
}
