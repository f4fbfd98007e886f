import { InvalidOptionsError } from './errors.js'

// Plain checks for the history's options. The history does not use zod: zod's smallest schema
// weighs more (minified and gzipped) than the whole history, and a user of the history alone
// should not pay for it. The store, which validates more, uses zod (see options.ts); both
// report the same InvalidOptionsError.

/** A field's test and, in words, what it expects. */
export type FieldCheck = readonly [test: (value: unknown) => boolean, expected: string]

export const isPositiveInteger = (value: unknown): boolean =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0
export const isNonNegativeInteger = (value: unknown): boolean =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
export const isFunction = (value: unknown): boolean => typeof value === 'function'

/**
 * Checks `input` against `fields` (every field optional; `undefined` counts as absent) or throws
 * {@link InvalidOptionsError} for the first field at fault or the first unknown key.
 */
export function checkOptions<O extends object>(input: O | undefined, fields: Record<string, FieldCheck>): Partial<O> {
  if (input === undefined) return {}
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidOptionsError('options', input, 'an object or undefined')
  }
  const record = input as Record<string, unknown>
  for (const key of Object.keys(record)) {
    const check = Object.hasOwn(fields, key) ? fields[key] : undefined
    if (check === undefined) {
      throw new InvalidOptionsError(key, record[key], `a known option (${Object.keys(fields).join(', ')})`)
    }
    const value = record[key]
    if (value !== undefined && !check[0](value)) throw new InvalidOptionsError(key, value, check[1])
  }
  return input
}
