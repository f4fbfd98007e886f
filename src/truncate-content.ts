import type { HistoryMeasure } from './history/types.js'

/** What {@link truncateContent} shrinks: a message with a string `content`. */
export interface ContentMessage {
  /** The text to shorten. */
  content: string
}

const marker = (elided: number): string => `…[${elided} characters elided]…`

// Whether a cut at `index` falls between the two halves of a surrogate pair.
function splitsPair(text: string, index: number): boolean {
  const before = text.charCodeAt(index - 1)
  const after = text.charCodeAt(index)
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff
}

/**
 * A ready `shrink` option for messages with a string `content` (`{ role, content }`): it keeps
 * the head and the tail of `content` and marks the cut with `…[N characters elided]…`, so that the
 * result fits `room` as the history measures it (its own `sizeOf` and `countTokens` included).
 * Every other field of the message is kept; the message itself is not changed (a copy is
 * returned).
 *
 * It keeps as much text as fits (found by bisection over the kept length, so it calls `measure`
 * about log2(length) times), two thirds of it from the head, where prompts put their instructions.
 * It never cuts a surrogate pair (an emoji) in half; `N` counts UTF-16 code units, as `length` does.
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
    let head = Math.ceil((kept * 2) / 3)
    let from = text.length - (kept - head)
    // Never cut a surrogate pair in half: a lone surrogate is invalid text, which a provider's
    // JSON parser may refuse. Such a character goes with the elided part.
    if (splitsPair(text, head)) head--
    if (splitsPair(text, from)) from++
    return { ...message, content: text.slice(0, head) + marker(from - head) + text.slice(from) }
  }
  if (fits(message)) return { ...message }
  // The kept text as a string of its own: slices of a string can keep the whole original alive
  // (V8 shares the parent's storage), which would defeat the point of shrinking a huge payload.
  const detached = (m: M): M => ({ ...m, content: JSON.parse(JSON.stringify(m.content)) as string })
  // The largest kept length in [0, text.length) whose result fits.
  let low = 0
  let high = text.length - 1
  if (!fits(cut(0))) return { ...message, content: '' }
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (fits(cut(mid))) low = mid
    else high = mid - 1
  }
  return detached(cut(low))
}
