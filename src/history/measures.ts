import { InvalidMeasurementError } from '../errors.js'

// The default measures and the rule every measure obeys (a finite number from 0 to 2^32 - 1,
// rounded up). One definition, used by RingBufferHistory and by bounded-session/redis
// (src/redis/ imports this module; its Lua scripts take the measured numbers).

/** Bytes counted for a string beyond its characters. */
export const STRING_HEADER_BYTES = 16
/** Bytes counted for a message object beyond its strings. */
export const MESSAGE_OBJECT_BYTES = 64
/** The largest measure a history accepts. */
export const MAX_MEASURE = 0xffff_ffff

/** The text of a string message or of the string `content` of an object message. */
export function textOf(message: unknown): string | undefined {
  // Objects first: the usual message is `{ role, content }`.
  if (typeof message === 'object' && message !== null) {
    const content = (message as { content?: unknown }).content
    return typeof content === 'string' ? content : undefined
  }
  return typeof message === 'string' ? message : undefined
}

/**
 * The default `sizeOf`: an estimate of the heap bytes a message holds, cheap enough to run on
 * every push (it reads one string length and never serialises).
 *
 * - a string: 16 bytes of header plus 2 bytes per UTF-16 code unit;
 * - an object with a string `content` (`{ role, content }`): 64 bytes for the object plus the
 *   same count for `content`;
 * - anything else: 64 bytes.
 *
 * V8 keeps Latin-1 text at 1 byte per character and other text at 2, so for ASCII content this
 * counts up to twice the string's real size, and never less: a byte budget built on it is a
 * safe upper bound. Strings shared between messages (role names) are not counted. For other
 * shapes (content blocks, tool calls), pass your own `sizeOf`.
 *
 * @example
 * ```ts
 * defaultSizeOf({ role: 'user', content: 'hello' }) // 64 + 16 + 10 = 90
 * ```
 */
export function defaultSizeOf(message: unknown): number {
  const text = textOf(message)
  return text === undefined ? MESSAGE_OBJECT_BYTES : textBytes(message, text)
}

/** {@link defaultSizeOf} of a message whose text is `text`. */
export function textBytes(message: unknown, text: string): number {
  const stringBytes = STRING_HEADER_BYTES + 2 * text.length
  return message === text ? stringBytes : MESSAGE_OBJECT_BYTES + stringBytes
}

/**
 * The default `countTokens`: the usual estimate of one token per 4 characters, rounded up, of a
 * string message or of the string `content` of an object message; 0 for anything else.
 *
 * @example
 * ```ts
 * defaultCountTokens({ role: 'user', content: 'hello' }) // 2
 * ```
 */
export function defaultCountTokens(message: unknown): number {
  const text = textOf(message)
  return text === undefined ? 0 : Math.ceil(text.length / 4)
}

/** Calls a measure and checks what it returns: rounded up, or {@link InvalidMeasurementError}. */
export function checkedMeasure<T>(fn: (message: T) => number, message: T, name: 'sizeOf' | 'countTokens'): number {
  const value = fn(message)
  // `!(x >= 0)` also catches NaN; a non-number fails the typeof test first.
  if (typeof value !== 'number' || !(value >= 0) || value > MAX_MEASURE) {
    throw new InvalidMeasurementError(name, value)
  }
  return Math.ceil(value)
}
