// The one walk every format's measures share: it visits every string, key and number a message
// carries (so no part of a message it does not know is read as empty), asks the format which
// objects are media (an image is counted by the provider's rule, not by its base64 length), and
// turns cycles, absurd nesting and throwing getters into InvalidMessageError.
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

const STRING_HEADER_BYTES = 16
const OBJECT_BYTES = 64
const SLOT_BYTES = 8
const SCALAR_CHARS = 2
const MAX_DEPTH = 256

/** Walks `root` (already known to be an object) and adds what it finds to `tally`. */
export function walk(format: string, root: object, media: MediaRule, tally: Tally): void {
  const ancestors: object[] = []
  try {
    visit(root, true)
  } catch (error) {
    if (error instanceof InvalidMessageError) throw error
    throw new InvalidMessageError(format, root, 'readable (a getter threw)', error)
  }

  function visit(node: object, text: boolean): void {
    for (let i = 0; i < ancestors.length; i++) {
      if (ancestors[i] === node) throw new InvalidMessageError(format, root, 'free of cycles (JSON cannot carry one)')
    }
    if (ancestors.length >= MAX_DEPTH) throw new InvalidMessageError(format, root, `nested at most ${MAX_DEPTH} levels deep`)
    if (ArrayBuffer.isView(node) || node instanceof ArrayBuffer) {
      tally.bytes += OBJECT_BYTES + node.byteLength
      return
    }
    let inText = text
    if (text) {
      const estimate = media(node)
      if (estimate !== undefined) {
        tally.mediaTokens += estimate
        inText = false
      }
    }
    ancestors.push(node)
    if (Array.isArray(node)) {
      tally.bytes += STRING_HEADER_BYTES + SLOT_BYTES * node.length
      for (let i = 0; i < node.length; i++) child(node[i], inText)
    } else {
      tally.bytes += OBJECT_BYTES
      for (const key in node) {
        if (!Object.hasOwn(node, key)) continue
        const value = (node as Record<string, unknown>)[key]
        if (value === undefined || typeof value === 'function') continue
        if (inText) tally.chars += key.length
        tally.bytes += SLOT_BYTES
        child(value, inText)
      }
    }
    ancestors.pop()
  }

  function child(value: unknown, text: boolean): void {
    if (typeof value === 'string') {
      if (text) tally.chars += value.length
      tally.bytes += STRING_HEADER_BYTES + 2 * value.length
    } else if (typeof value === 'object' && value !== null) {
      visit(value, text)
    } else if (text && value !== undefined && typeof value !== 'function' && typeof value !== 'symbol') {
      tally.chars += SCALAR_CHARS
    }
  }
}

/** Tokens of a tally: characters / 4, rounded up, plus the media estimates. */
export const tokensOf = (tally: Tally): number => Math.ceil(tally.chars / 4) + tally.mediaTokens

/**
 * Both measures of a format from one walk per message: whichever of `sizeOf` and `countTokens`
 * runs first walks the message and leaves the other's answer for one call with the same message
 * (a history asks for both, one after the other, on every push).
 */
export function pairedMeasures<T>(measure: (message: T) => Tally): {
  sizeOf: (message: T) => number
  countTokens: (message: T) => number
} {
  let pendingBytesFor: unknown = noMessage
  let pendingBytes = 0
  let pendingTokensFor: unknown = noMessage
  let pendingTokens = 0
  return {
    sizeOf(message: T): number {
      if (pendingBytesFor === message) {
        pendingBytesFor = noMessage
        return pendingBytes
      }
      pendingBytesFor = noMessage
      const tally = measure(message)
      pendingTokensFor = message
      pendingTokens = tokensOf(tally)
      return tally.bytes
    },
    countTokens(message: T): number {
      if (pendingTokensFor === message) {
        pendingTokensFor = noMessage
        return pendingTokens
      }
      pendingTokensFor = noMessage
      const tally = measure(message)
      pendingBytesFor = message
      pendingBytes = tally.bytes
      return tokensOf(tally)
    },
  }
}

const noMessage = Symbol('no message')

/** A fresh tally. */
export const emptyTally = (): Tally => ({ chars: 0, mediaTokens: 0, bytes: 0 })

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
