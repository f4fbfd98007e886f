import { InvalidOptionsError } from './errors.js'

// The zod-free front of option checking, shared by every class of the package: read an options
// object once into a plain snapshot (refusing unknown keys), and the predicates and words that
// the history's table uses. The store and Redis check the snapshot with zod (src/options.ts);
// the history checks it with the table below, so its bundle carries no zod.

/** What each known field expects, in words: ``Expected `x` to be <words>, got …``. */
export type ExpectedWords = Readonly<Record<string, string>>

/** The known fields of an options object: its keys (the values are not read here). */
export type KnownFields = Readonly<Record<string, unknown>>

/**
 * Reads `input` once: every known field a single time (own or inherited, so a getter runs once)
 * into a plain snapshot. `undefined` is no options. Throws {@link InvalidOptionsError} for
 * anything but an object, and for an own key that is not a known field (a typo).
 *
 * @param what - the word for the object in the error (`'options'`, `'budget'`)
 * @param knownWord - how the unknown-key error names the known fields (`'a known option'`)
 */
export function readOptions(input: unknown, known: KnownFields, what = 'options', knownWord = 'a known option'): Record<string, unknown> {
  const snapshot: Record<string, unknown> = {}
  if (input === undefined) return snapshot
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidOptionsError(what, input, 'an object or undefined')
  }
  const record = input as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(known, key)) throw new InvalidOptionsError(key, record[key], `${knownWord} (${Object.keys(known).join(', ')})`)
  }
  for (const key in known) {
    const value = record[key]
    if (value !== undefined) snapshot[key] = value
  }
  return snapshot
}

/** One rule of a table: the predicate a defined value must pass, and its words. */
export interface Rule {
  readonly test: (value: unknown) => boolean
  readonly expected: string
}

export const isPositiveInteger = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value > 0
export const isNonNegativeInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
export const isFraction = (value: unknown): value is number => typeof value === 'number' && value >= 0 && value <= 1
export const isFunction = (value: unknown): value is (...args: never[]) => unknown => typeof value === 'function'

export const positiveIntegerRule: Rule = { test: isPositiveInteger, expected: 'a positive integer' }
export const nonNegativeIntegerRule: Rule = { test: isNonNegativeInteger, expected: 'a non-negative integer' }
export const fractionRule: Rule = { test: isFraction, expected: 'a number from 0 to 1' }
export const functionRule: Rule = { test: isFunction, expected: 'a function' }

/** The words of a table (for a caller that passes them to {@link checkOptions} apart from the table). */
export function wordsOf(rules: Readonly<Record<string, Rule>>): ExpectedWords {
  const words: Record<string, string> = {}
  for (const key in rules) words[key] = (rules[key] as Rule).expected
  return words
}

/**
 * Reads `input` with {@link readOptions} and checks every defined field against its rule, in the
 * table's order. Returns the snapshot; throws {@link InvalidOptionsError} naming the first
 * field at fault.
 *
 * @param known - the known fields; the table's own keys unless given
 */
export function checkOptions(
  input: unknown,
  rules: Readonly<Record<string, Rule>>,
  known: KnownFields = rules,
  what?: string,
  knownWord?: string,
): Record<string, unknown> {
  const snapshot = readOptions(input, known, what, knownWord)
  for (const key in rules) {
    const value = snapshot[key]
    if (value !== undefined && !(rules[key] as Rule).test(value)) throw new InvalidOptionsError(key, value, (rules[key] as Rule).expected)
  }
  return snapshot
}
