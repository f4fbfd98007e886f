import * as z from 'zod/mini'
import { InvalidOptionsError } from './errors.js'

// Every options object is checked by a zod schema built on first use (so importing the package
// costs nothing until a constructor runs), then reported in our own words: the field, what it
// expects and what it got.

/** zod check shapes shared by the options schemas. */
export const positiveInteger = () => z.optional(z.number().check(z.int(), z.positive()))
export const positiveNumber = () => z.optional(z.number().check(z.positive()))
// Not z.function(): zod wraps a function schema's output in a validating proxy, which would put a
// parse on every call of the user's callback.
export const callback = () =>
  z.optional(z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function'))

/** A schema with the words for what each field expects. */
export interface OptionsSpec<S extends z.ZodMiniType> {
  schema: S
  expected: Record<string, string>
}

/**
 * Parses `input` with the spec made by `build` (built once, on the first call), or throws
 * {@link InvalidOptionsError} naming the first field at fault.
 */
export function lazyOptionsParser<S extends z.ZodMiniType>(build: () => OptionsSpec<S>) {
  let spec: OptionsSpec<S> | undefined
  return (input: unknown): z.infer<S> => {
    spec ??= build()
    if (input === undefined) input = {}
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw new InvalidOptionsError('options', input, 'an object or undefined')
    }
    const result = spec.schema.safeParse(input)
    if (result.success) return result.data
    const issue = result.error.issues[0]
    const record = input as Record<string, unknown>
    if (issue?.code === 'unrecognized_keys') {
      const field = issue.keys[0] ?? '?'
      const known = Object.keys(spec.expected).join(', ')
      throw new InvalidOptionsError(field, record[field], `a known option (${known})`)
    }
    const field = String(issue?.path[0] ?? 'options')
    throw new InvalidOptionsError(field, record[field], spec.expected[field] ?? 'valid')
  }
}
