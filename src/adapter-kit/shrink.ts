import type { HistoryMeasure } from '../ring-buffer-history.js'

// Fields that identify or type a message or part: never shortened.
const KEEP = new Set(['id', 'type', 'role', 'name', 'status', 'callId', 'call_id', 'toolCallId', 'toolName', 'tool_call_id', 'approvalId', 'mediaType'])

/**
 * The adapters' `shrink`: shortens the longest string inside a message (its text, tool input or
 * output) until it fits the room, keeping its ids, type, role and every other field. The message
 * given is never changed; the copy shares what it did not shorten.
 */
export function shrinkLongestString<T>(item: T, room: HistoryMeasure, measure: (item: T) => HistoryMeasure): T {
  let current = item
  for (let attempt = 0; attempt < 8; attempt++) {
    const m = measure(current)
    if (m.tokens <= room.tokens && m.bytes <= room.bytes) return current
    const path = longestString(current)
    if (path === undefined) return current
    const text = path.get()
    const ratio = Math.min(room.tokens / Math.max(m.tokens, 1), room.bytes / Math.max(m.bytes, 1), 0.9)
    const keep = Math.max(0, Math.floor(text.length * ratio) - 32)
    current = path.set(`${text.slice(0, keep)}… [truncated]`)
  }
  return current
}

interface StringPath<T> {
  get(): string
  set(text: string): T
}

function longestString<T>(item: T): StringPath<T> | undefined {
  let best: { keys: (string | number)[]; length: number } | undefined
  const visit = (value: unknown, keys: (string | number)[], depth: number): void => {
    if (typeof value === 'string') {
      const key = keys[keys.length - 1]
      if (typeof key === 'string' && KEEP.has(key)) return
      if (best === undefined || value.length > best.length) best = { keys, length: value.length }
      return
    }
    if (typeof value !== 'object' || value === null || depth > 16) return
    if (Array.isArray(value)) value.forEach((v, i) => visit(v, [...keys, i], depth + 1))
    else for (const k of Object.keys(value)) visit((value as Record<string, unknown>)[k], [...keys, k], depth + 1)
  }
  visit(item, [], 0)
  const found = best
  if (found === undefined) return undefined
  const read = (root: unknown) => found.keys.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], root) as string
  return {
    get: () => read(item),
    set(text) {
      // Copy along the path only: the original item is never changed.
      const copy = (value: unknown, depth: number): unknown => {
        if (depth === found.keys.length) return text
        const key = found.keys[depth] as string | number
        const next = copy((value as Record<string | number, unknown>)[key], depth + 1)
        if (Array.isArray(value)) return value.map((v, i) => (i === key ? next : v))
        return { ...(value as object), [key]: next }
      }
      return copy(item, 0) as T
    },
  }
}

