// The one walk every format's measures share: it visits every string, key and number a message
// carries (so no part of a message it does not know is read as empty), asks the format which
// objects are media (an image is counted by the provider's rule, not by its base64 length), and
// turns cycles, absurd nesting and throwing getters into InvalidMessageError. The formats' own
// readers (read.ts) count the parts they know field by field, by the same rules, and hand every
// other part to this walk.
import { InvalidMessageError } from '../errors.js'

/** What one walk of a message finds. */
export interface Tally {
  /** Characters of every string value and key outside media, plus 2 per number, boolean or null. */
  chars: number
  /** The estimate, in tokens, of the media found (images, audio, files). */
  mediaTokens: number
  /** The heap estimate, in bytes, of everything walked (media payloads included). */
  bytes: number
}

/**
 * Tells the walk that an object is media: its token estimate, or `undefined` for an ordinary
 * object whose strings count as text.
 */
export type MediaRule = (node: object) => number | undefined

/** Bytes counted for a string beyond its characters. */
export const STRING_BYTES = 16
/** Bytes counted for an object beyond its slots. */
export const OBJECT_BYTES = 64
/** Bytes counted per array element or object key. */
export const SLOT_BYTES = 8
/** Characters counted for a number, boolean or null. */
export const SCALAR_CHARS = 2
const MAX_DEPTH = 256

/**
 * The objects on the path from the root to the node being visited: a cycle is a node that is
 * its own ancestor, among the first `depth` entries. Shared by every walk (walks never nest);
 * what a walk leaves past its depth is overwritten by the next, never read. A reader that
 * visits a part at `depth` first sets the entries before it.
 */
export const ancestors: object[] = []
const tooDeep = new Error('too deep')
const cycle = new Error('cycle')

/** Walks `root` (already known to be an object) and adds what it finds to `tally`. */
export function walk(format: string, root: object, media: MediaRule, tally: Tally): void {
  try {
    visit(root, true, 0, media, tally)
  } catch (error) {
    throw invalid(format, root, error)
  }
}

/** What a read of `root` that threw `error` throws: InvalidMessageError, with the reason. */
export function invalid(format: string, root: unknown, error: unknown): InvalidMessageError {
  if (error instanceof InvalidMessageError) return error
  if (error === tooDeep) return new InvalidMessageError(format, root, `nested at most ${MAX_DEPTH} levels deep`)
  if (error === cycle) return new InvalidMessageError(format, root, 'free of cycles (JSON cannot carry one)')
  return new InvalidMessageError(format, root, 'readable (a getter threw)', error)
}

/**
 * Visits `node` at `depth` below the root as text (the entries of {@link ancestors} before
 * `depth` set), adding what it finds to `tally`. Throws the walk's own errors: callers turn them
 * into InvalidMessageError with {@link invalid}.
 */
export function visit(node: object, text: boolean, depth: number, media: MediaRule, tally: Tally): void {
  for (let i = 0; i < depth; i++) if (ancestors[i] === node) throw cycle
  if (depth >= MAX_DEPTH) throw tooDeep
  ancestors[depth] = node
  const next = depth + 1
  if (Array.isArray(node)) {
    const inText = text
    tally.bytes += STRING_BYTES + SLOT_BYTES * node.length
    for (let i = 0; i < node.length; i++) {
      const value: unknown = node[i]
      if (typeof value === 'string') {
        if (inText) tally.chars += value.length
        tally.bytes += STRING_BYTES + 2 * value.length
      } else if (typeof value === 'object' && value !== null) visit(value, inText, next, media, tally)
      else if (inText && value !== undefined && typeof value !== 'function' && typeof value !== 'symbol') tally.chars += SCALAR_CHARS
    }
  } else if (ArrayBuffer.isView(node) || node instanceof ArrayBuffer) {
    tally.bytes += OBJECT_BYTES + node.byteLength
  } else {
    // Arrays and binary data are never media: only objects are asked.
    let inText = text
    if (text) {
      const estimate = media(node)
      if (estimate !== undefined) {
        tally.mediaTokens += estimate
        inText = false
      }
    }
    tally.bytes += OBJECT_BYTES
    // A plain object's own keys are what `for…in` finds while nothing enumerable was added to
    // Object.prototype; V8 reads `node[key]` there from the key cache, far faster than by name.
    if (Object.getPrototypeOf(node) === Object.prototype && prototypeIsClean()) {
      for (const key in node) visitField(key, (node as Record<string, unknown>)[key], inText, next, media, tally)
    } else {
      const keys = Object.keys(node)
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string
        visitField(key, (node as Record<string, unknown>)[key], inText, next, media, tally)
      }
    }
  }
}

function visitField(key: string, value: unknown, inText: boolean, depth: number, media: MediaRule, tally: Tally): void {
  tally.bytes += SLOT_BYTES
  if (typeof value === 'string') {
    if (inText) tally.chars += key.length + value.length
    tally.bytes += STRING_BYTES + 2 * value.length
  } else if (typeof value === 'object' && value !== null) {
    if (inText) tally.chars += key.length
    visit(value, inText, depth, media, tally)
  } else if (inText && value !== undefined && typeof value !== 'function' && typeof value !== 'symbol') tally.chars += key.length + SCALAR_CHARS
}

const EMPTY = {}

/** Whether Object.prototype carries no enumerable key (`for…in` then finds own keys only). */
export function prototypeIsClean(): boolean {
  for (const _ in EMPTY) return false
  return true
}

/** Tokens of a tally: characters / 4, rounded up, plus the media estimates. */
export const tokensOf = (tally: Tally): number => Math.ceil(tally.chars / 4) + tally.mediaTokens

/** Reads `object[key]`, turning a throwing getter into InvalidMessageError. */
export function read(format: string, object: object, key: string): unknown {
  try {
    return (object as Record<string, unknown>)[key]
  } catch (error) {
    throw new InvalidMessageError(format, object, `readable (its \`${key}\` getter threw)`, error)
  }
}

/** Whether `value` is a non-null object (an array included). */
export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null
