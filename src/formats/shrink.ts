// The `shrink` every format shares: it finds the text and tool-result strings of a message (the
// format says where they are, as paths), cuts the largest one (head and tail kept, the cut marked)
// until the message fits, then the next largest, and copies only the objects on the path, so ids,
// calls and every other part stay as they were.
import type { HistoryMeasure } from '../ring-buffer-history.js'

/** A path from a message to one of its strings: keys and array indexes. */
export type TextPath = readonly (string | number)[]

/** A string a format allows `shrink` to cut, and where it is. */
export interface TextSlot {
  readonly path: TextPath
  readonly text: string
}

const marker = (elided: number): string => `…[${elided} characters elided]…`

function splitsPair(text: string, index: number): boolean {
  const before = text.charCodeAt(index - 1)
  const after = text.charCodeAt(index)
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff
}

/** `text` with only `kept` of its characters, two thirds from the head, the cut marked. */
export function cutText(text: string, kept: number): string {
  if (kept >= text.length) return text
  let head = Math.ceil((kept * 2) / 3)
  let from = text.length - (kept - head)
  // Never split a surrogate pair: a lone surrogate is invalid text a provider may refuse.
  if (splitsPair(text, head)) head--
  if (splitsPair(text, from)) from++
  return text.slice(0, head) + marker(from - head) + text.slice(from)
}

/** A copy of `root` with the string at `path` replaced, copying only the objects on the path. */
export function replaceAt<T>(root: T, path: TextPath, value: string, copy: (node: object) => object = plainCopy): T {
  if (path.length === 0) return value as T
  const [key, ...rest] = path as [string | number, ...TextPath]
  const node = root as Record<string | number, unknown>
  const next = copy(node as object) as Record<string | number, unknown>
  next[key] = replaceAt(node[key], rest, value)
  return next as T
}

const plainCopy = (node: object): object => (Array.isArray(node) ? node.slice() : { ...node })

// A string of its own: V8 slices can keep the whole original alive, defeating the shrink.
const detach = (text: string): string => (text.length === 0 ? '' : (JSON.parse(JSON.stringify(text)) as string))

/**
 * Shrinks `message` to fit `room`: cuts the largest slot (by bisection over its kept length),
 * then, if even an empty cut does not fit, the next largest, and so on. Returns the message
 * unchanged (the same object) when it already fits or has no slots; the history then refuses it
 * if it still does not fit.
 */
export function shrinkSlots<T>(
  message: T,
  room: HistoryMeasure,
  measure: (message: T) => HistoryMeasure,
  slots: (message: T) => TextSlot[],
  replace: (message: T, path: TextPath, text: string) => T,
): T {
  const fits = (candidate: T): boolean => {
    const m = measure(candidate)
    return m.bytes <= room.bytes && m.tokens <= room.tokens
  }
  if (fits(message)) return message
  const ordered = slots(message).sort((a, b) => b.text.length - a.text.length)
  let current = message
  for (const slot of ordered) {
    const { path, text } = slot
    const at = (kept: number): T => replace(current, path, cutText(text, kept))
    const emptied = at(0)
    if (!fits(emptied)) {
      current = emptied
      continue
    }
    let low = 0
    let high = text.length - 1
    while (low < high) {
      const mid = Math.ceil((low + high) / 2)
      if (fits(at(mid))) low = mid
      else high = mid - 1
    }
    return replace(current, path, detach(cutText(text, low)))
  }
  return current
}
