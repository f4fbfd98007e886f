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

// The token estimate of text, in units of 1/40 token so that every weight is an integer and
// the sum is exact. The weights approximate how BPE tokenizers (o200k, cl100k, Claude's) split
// text: test/history-token-estimate.test.ts holds each weight to o200k on a corpus of every kind.
/** Units of {@link textTokenUnits} per token. */
export const TOKEN_UNITS = 40
const WORD_UNITS = 40 // a run of ASCII letters: one token (a space before it joins it)
const LONG_WORD_UNITS = 5 // each letter of a run beyond its 8th: a long word or identifier splits
const LONG_WORD = 8
const NUMBER_UNITS = 60 // a run of digits: numbers split in groups of 3 and take no space
const PUNCT_UNITS = 16 // an ASCII symbol or punctuation mark: many merge with their neighbours
const BREAK_UNITS = 80 // a line break, tab or second space, with the run of white space it starts
const CJK_UNITS = 28 // a CJK ideograph, kana, hangul syllable or full-width form
const OTHER_UNITS = 10 // any other character of the BMP (accented Latin, Cyrillic, Greek, symbols)
const ASTRAL_UNITS = 70 // a character beyond the BMP (an emoji, a rare ideograph): a surrogate pair
const JOINER_UNITS = 60 // a zero-width joiner, a variation selector or a keycap mark inside an emoji

/**
 * The estimate of `text` in 1/{@link TOKEN_UNITS} tokens (see {@link estimateTextTokens}): one
 * pass over its UTF-16 code units, no allocation.
 */
export function textTokenUnits(text: string): number {
  let units = 0
  // What the previous code unit was: 0 other, 1 letter, 2 digit, 3 one space, 4 white space run.
  let previous = 0
  let run = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) {
      if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) {
        if (previous === 1) {
          if (++run > LONG_WORD) units += LONG_WORD_UNITS
        } else {
          units += WORD_UNITS
          run = 1
          previous = 1
        }
      } else if (c >= 0x30 && c <= 0x39) {
        if (previous !== 2) units += NUMBER_UNITS
        previous = 2
      } else if (c === 0x20 && previous !== 3 && previous !== 4) {
        previous = 3
      } else if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) {
        if (previous !== 4) units += BREAK_UNITS
        previous = 4
      } else {
        units += PUNCT_UNITS
        previous = 0
      }
      continue
    }
    previous = 0
    if (c >= 0xd800 && c <= 0xdbff) {
      units += ASTRAL_UNITS
      // The low half of the pair is part of the same character.
      const low = text.charCodeAt(i + 1)
      if (low >= 0xdc00 && low <= 0xdfff) i++
    } else if (c === 0x200d || (c >= 0xfe00 && c <= 0xfe0f) || c === 0x20e3) units += JOINER_UNITS
    else if ((c >= 0x2e80 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff00 && c <= 0xffef)) units += CJK_UNITS
    else units += OTHER_UNITS
  }
  return units
}

/**
 * An estimate of the tokens of `text`, rounded up, closer than characters ÷ 4 (the estimate of
 * {@link defaultCountTokens}): one pass over its characters, no allocation, no tokenizer. Use it
 * as `countTokens: (m) => estimateTextTokens(m.content)` for string messages
 * (`npm run bench -- --only=tokens` measures both). It counts what BPE tokenizers split on rather
 * than characters, so
 * that one ratio to a provider's count holds across kinds of text (characters ÷ 4 is 0.7× the
 * o200k count on English prose, 1.1× on code and JSON, 2.5× on CJK text):
 *
 * - a run of ASCII letters (a word, with the space before it): 1 token, plus 1/8 per letter
 *   beyond the 8th;
 * - a run of digits: 1.5; an ASCII punctuation mark or symbol: 0.4;
 * - a line break, tab or second space, with the white space that follows it: 2; a single space: 0;
 * - a CJK ideograph, kana, hangul syllable or full-width form: 0.7;
 * - a character beyond the BMP (an emoji): 1.75; a zero-width joiner, variation selector or
 *   keycap mark: 1.5; any other non-ASCII character: 0.25.
 *
 * On the corpus of `test/fixtures/token-corpus.ts` and on real files (TypeScript, Markdown, JSON,
 * the Chinese, Japanese, Korean and Russian messages of the TypeScript compiler) the median
 * ratio of the o200k count to this estimate lies between 0.95 and 1.10 for every kind of text; a
 * single message can be 15% off either way, which {@link RingBufferHistory.calibrate} corrects
 * for a whole history.
 *
 * @example
 * ```ts
 * estimateTextTokens('Hello, world.') // 2 words + 2 marks = 2.8, so 3
 * estimateTextTokens('会话历史') // 4 × 0.7 = 2.8, so 3
 * ```
 */
export function estimateTextTokens(text: string): number {
  return Math.ceil(textTokenUnits(text) / TOKEN_UNITS)
}

// The walk of a message that is not the plain string case: module-level accumulators, so that a
// walk allocates nothing but the set of objects seen (made only for nested objects).
let walkBytes = 0
let walkChars = 0
let seen: Set<object> | undefined
const MAX_DEPTH = 64

// Fields that name a kind (`role: 'user'`, `type: 'text'`): strings shared between messages,
// not counted, as the role of `{ role, content }` never was.
const isKindKey = (key: string): boolean => key === 'role' || key === 'type'

function walk(value: unknown, depth: number): void {
  if (typeof value === 'string') {
    walkBytes += STRING_HEADER_BYTES + 2 * value.length
    walkChars += value.length
    return
  }
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    // Bytes (an image, audio or a file): their length, as bytes and as characters.
    walkBytes += MESSAGE_OBJECT_BYTES + value.byteLength
    walkChars += value.byteLength
    return
  }
  if (depth > 0) {
    seen ??= new Set()
    if (seen.has(value)) return
    seen.add(value)
  }
  walkBytes += MESSAGE_OBJECT_BYTES
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i], depth + 1)
    return
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key) || isKindKey(key)) continue
    walk((value as Record<string, unknown>)[key], depth + 1)
  }
}

/**
 * Both default measures of one message at once: `bytes` in {@link measured.bytes}, tokens in
 * {@link measured.tokens}. The hot path of the history calls this once per push.
 */
export const measured = { bytes: 0, tokens: 0 }

/** Fills {@link measured} with the default measures of `message`. */
export function measureDefault(message: unknown): void {
  if (typeof message === 'object' && message !== null) {
    const content = (message as { content?: unknown }).content
    if (typeof content === 'string' && content.length > 0) {
      measured.bytes = MESSAGE_OBJECT_BYTES + STRING_HEADER_BYTES + 2 * content.length
      measured.tokens = Math.ceil(content.length / 4)
      return
    }
  } else {
    // A string; anything else that is not an object counts as a small object.
    const n = typeof message === 'string' ? message.length : -1
    measured.bytes = n < 0 ? MESSAGE_OBJECT_BYTES : STRING_HEADER_BYTES + 2 * n
    measured.tokens = n < 0 ? 0 : Math.ceil(n / 4)
    return
  }
  walkBytes = 0
  walkChars = 0
  seen = undefined
  try {
    walk(message, 0)
  } finally {
    seen = undefined
  }
  measured.bytes = Math.min(walkBytes, MAX_MEASURE)
  measured.tokens = Math.min(Math.ceil(walkChars / 4), MAX_MEASURE)
}

/**
 * The default `sizeOf`: an estimate of the heap bytes a message holds, cheap enough to run on
 * every push (it never serialises).
 *
 * - a string: 16 bytes of header plus 2 bytes per UTF-16 code unit;
 * - an object with a non-empty string `content` (`{ role, content }`): 64 bytes for the object
 *   plus the same count for `content` (the other fields are not read: the fast case);
 * - any other message (content parts or blocks, tool calls and their arguments, tool results,
 *   Gemini `parts`, a message with no or empty `content`): 64 bytes per object or array, plus
 *   every string it carries, nested at any depth, counted as above; bytes (`Uint8Array`,
 *   `ArrayBuffer`: an image, audio or a file) by their length. The fields `role` and `type`
 *   name a kind, shared between messages, and are not counted. An object met twice is counted
 *   once; nesting deeper than 64 levels is not counted.
 *
 * V8 keeps Latin-1 text at 1 byte per character and other text at 2, so for ASCII text this
 * counts up to twice the string's real size, and never less: a byte budget built on it is a
 * safe upper bound. A `format` gives a provider's own measures.
 *
 * @example
 * ```ts
 * defaultSizeOf({ role: 'user', content: 'hello' }) // 64 + 16 + 10 = 90
 * defaultSizeOf({ role: 'user', content: [{ type: 'text', text: 'hello' }] }) // 64 + 64 + 64 + 26 = 218
 * ```
 */
export function defaultSizeOf(message: unknown): number {
  // measureDefault takes the string case first, without the walk.
  measureDefault(message)
  return measured.bytes
}

/**
 * The default `countTokens`: the usual estimate of one token per 4 characters, rounded up, of
 * the text {@link defaultSizeOf} counts: the string `content` of `{ role, content }`, or every
 * string the message carries (content parts, tool inputs and arguments, tool results), and one
 * token per 4 bytes of binary data. An image sent as base64 text counts as that text, well above
 * what providers bill for it: a safe upper bound, which a `format` replaces with the provider's
 * rule.
 *
 * @example
 * ```ts
 * defaultCountTokens({ role: 'user', content: 'hello' }) // 2
 * defaultCountTokens({ role: 'user', content: [{ type: 'text', text: 'x'.repeat(10_000) }] }) // 2500
 * ```
 */
export function defaultCountTokens(message: unknown): number {
  measureDefault(message)
  return measured.tokens
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
