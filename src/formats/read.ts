// One pass per message for every format: a format's reader counts the fields of the parts it
// knows directly (named reads, no key arrays), by the rules of the walk (walk.ts: characters of
// every key and string outside media, 2 per scalar; 64 bytes an object, 16 an array, 8 a slot,
// 16 + 2 per character a string), and finds the message's links in the same pass. A part it
// does not know, or a known part with any field it does not know (its own keys, counted, differ
// from the fields it read), goes to the walk whole, so nothing a message carries is left out.
// The state of a read is module-level: a read allocates nothing but the id arrays of a message
// that has links.
import type { MessageLinks } from '../message-format.js'
import { type MediaRule, type Tally, OBJECT_BYTES, SCALAR_CHARS, SLOT_BYTES, STRING_BYTES, ancestors, invalid, tokensOf, visit } from './walk.js'

/** What the current read has found: the tally of the walk. */
export const found: Tally = { chars: 0, mediaTokens: 0, bytes: 0 }
// The ids of the calls and results the current read has found.
let calls: string[] | undefined
let results: string[] | undefined

/** The message read makes the call `id`. */
export function addCall(id: string): void {
  ;(calls ??= []).push(id)
}

/** The message read answers the call `id`. */
export function addResult(id: string): void {
  ;(results ??= []).push(id)
}

/** The links of the calls and results the read found (undefined: none), for the next read. */
export function takeLinks(): MessageLinks | undefined {
  const l = calls === undefined && results === undefined ? undefined : { calls, results }
  calls = results = undefined
  return l
}

/**
 * How many keys a `for…in` finds on `node`: its own enumerable keys and any enumerable inherited
 * ones. A reader compares it with the fields it knows the part carries (each own, enumerable and
 * defined in every SDK shape); any other key makes them differ, and the walk counts the part.
 */
export function plainKeys(node: object): number {
  let n = 0
  for (const _ in node) n++
  return n
}

/** Counts an object of `keys` keys (its strings are counted apart). */
export function addObject(keys: number): void {
  found.bytes += OBJECT_BYTES + SLOT_BYTES * keys
}

/** Counts an array of `length` elements (its elements are counted apart). */
export function addArray(length: number): void {
  found.bytes += STRING_BYTES + SLOT_BYTES * length
}

/** Counts a string field: its key (`keyLength` characters) and its value. */
export function addString(keyLength: number, value: string): void {
  found.chars += keyLength + value.length
  found.bytes += STRING_BYTES + 2 * value.length
}

/**
 * Counts a field of any value at `depth` below the root (the {@link ancestors} before it set):
 * an object or array is walked as text.
 */
export function addField(keyLength: number, value: unknown, depth: number, media: MediaRule): void {
  if (typeof value === 'string') addString(keyLength, value)
  else if (typeof value === 'object' && value !== null) {
    found.chars += keyLength
    visit(value, true, depth, media, found)
  } else if (value !== undefined && typeof value !== 'function' && typeof value !== 'symbol') found.chars += keyLength + SCALAR_CHARS
}

/** Walks a part at `depth` below the root (the {@link ancestors} before it set), as text. */
export function addPart(node: object, depth: number, media: MediaRule): void {
  visit(node, true, depth, media, found)
}

const noMessage = Symbol('no message')

/**
 * A format's `sizeOf`, `countTokens` and `group` from one read per message: whichever runs
 * first reads the message and leaves the others' answers for one call each with the same message
 * (a history asks for all three, one after the other, on every push). `group` called on its own
 * uses `links`, which never throws.
 *
 * @param format - the format's name, for errors
 * @param readMessage - fills {@link found} for a message and returns its links; throws
 *   InvalidMessageError or the walk's errors
 */
export function measuresOf<T>(
  format: string,
  readMessage: (message: T) => MessageLinks | undefined,
  links: (message: T) => MessageLinks | undefined,
): { sizeOf: (message: T) => number; countTokens: (message: T) => number; group: (message: T) => MessageLinks | undefined } {
  let bytesFor: unknown = noMessage
  let tokensFor: unknown = noMessage
  let linksFor: unknown = noMessage
  let bytes = 0
  let tokens = 0
  let linked: MessageLinks | undefined
  const run = (message: T): void => {
    bytesFor = tokensFor = linksFor = noMessage
    calls = results = undefined
    found.chars = 0
    found.mediaTokens = 0
    found.bytes = 0
    let l: MessageLinks | undefined
    try {
      l = readMessage(message)
    } catch (error) {
      throw invalid(format, message, error)
    }
    bytes = found.bytes
    tokens = tokensOf(found)
    linked = l
    bytesFor = tokensFor = linksFor = message
  }
  return {
    sizeOf(message: T): number {
      if (bytesFor !== message) run(message)
      bytesFor = noMessage
      return bytes
    },
    countTokens(message: T): number {
      if (tokensFor !== message) run(message)
      tokensFor = noMessage
      return tokens
    },
    group(message: T): MessageLinks | undefined {
      if (linksFor !== message) return links(message)
      linksFor = noMessage
      return linked
    },
  }
}

/** The links of a message that belongs with the next one (shared: links are only read). */
export const WITH_NEXT: MessageLinks = Object.freeze({ withNext: true })

/** Counts an array element of any value at `depth` (the {@link ancestors} before it set). */
export function addItem(value: unknown, depth: number, media: MediaRule): void {
  if (typeof value === 'string') {
    found.chars += value.length
    found.bytes += STRING_BYTES + 2 * value.length
  }
  else if (typeof value === 'object' && value !== null) visit(value, true, depth, media, found)
  else if (value !== undefined && typeof value !== 'function' && typeof value !== 'symbol') found.chars += SCALAR_CHARS
}

/** Counts `n` defined values: the fields a reader knows that a part carries. */
export const defined = (value: unknown): number => (value === undefined ? 0 : 1)

/**
 * Counts an array of content parts at `depth` (the {@link ancestors} before it set, the array's
 * key counted): `{ type, text }` parts field by field, any other part by the walk.
 */
export function readParts(parts: readonly unknown[], depth: number, media: MediaRule): void {
  addArray(parts.length)
  for (let i = 0; i < parts.length; i++) {
    const part: unknown = parts[i]
    if (typeof part !== 'object' || part === null) {
      addItem(part, depth, media)
      continue
    }
    const type = (part as { type?: unknown }).type
    if (typeof type !== 'string' || media(part) !== undefined || !readText(part as Record<string, unknown>, type)) visit(part, true, depth, media, found)
  }
}

/** Counts a `{ type, text }` part with no other field; false for any other part. */
export function readText(part: Record<string, unknown>, type: string): boolean {
  const text = part.text
  if (typeof text !== 'string' || plainKeys(part) !== 2) return false
  addObject(2)
  addString(4, type)
  addString(4, text)
  return true
}

/**
 * Counts a message of `role` and `content` and no other field, at the root: `content` a string,
 * or an array whose object elements `readPart` counts (when it returns false, the walk counts the
 * part). False, having counted nothing, for a message with any other field.
 */
export function readRoleContent(
  message: object,
  role: string,
  content: string | readonly unknown[],
  media: MediaRule,
  readPart: (part: Record<string, unknown>, role: string) => boolean,
): boolean {
  if (plainKeys(message) !== 2) return false
  addObject(2)
  addString(4, role)
  if (typeof content === 'string') {
    addString(7, content)
    return true
  }
  ancestors[0] = message
  ancestors[1] = content
  found.chars += 7
  addArray(content.length)
  for (let i = 0; i < content.length; i++) {
    const part: unknown = content[i]
    if (typeof part !== 'object' || part === null) addItem(part, 2, media)
    else if (!readPart(part as Record<string, unknown>, role)) visit(part, true, 2, media, found)
  }
  return true
}

/**
 * Counts an array of tool calls at depth 1 (the message its ancestor, the array's key counted):
 * `readCall` counts a call it knows (false: the walk counts it); a call with a string `id` is
 * one the message makes.
 */
export function readCalls(list: readonly unknown[], media: MediaRule, readCall: (call: Record<string, unknown>, id: unknown) => boolean): void {
  ancestors[1] = list
  addArray(list.length)
  for (let i = 0; i < list.length; i++) {
    const call: unknown = list[i]
    if (typeof call !== 'object' || call === null) {
      addItem(call, 2, media)
      continue
    }
    const id = (call as { id?: unknown }).id
    if (!readCall(call as Record<string, unknown>, id)) visit(call, true, 2, media, found)
    if (typeof id === 'string') addCall(id)
  }
}
