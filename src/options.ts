import * as z from 'zod/mini'
import { InvalidOptionsError } from './errors.js'
import { readOptions } from './validate.js'

// The zod side of option checking, for the store and Redis: a zod/mini schema built on first use
// (so importing the package costs nothing until a constructor runs) checks the snapshot that
// src/validate.ts reads (the front shared with the history, which checks with a table of
// predicates instead, so that its bundle carries no zod), and the error is in our own words. Only zod/mini APIs
// present since zod 4.0.0 are used here, so hosts that bundle an older zod 4 can share theirs.

/** zod check shapes shared by the options schemas. */
export const positiveInteger = () => z.optional(z.number().check(z.int(), z.positive()))
export const nonNegativeInteger = () => z.optional(z.number().check(z.int(), z.nonnegative()))
export const positiveNumber = () => z.optional(z.number().check(z.positive()))
export const fraction = () => z.optional(z.number().check(z.gte(0), z.lte(1)))
// Not z.function(): zod wraps a function schema's output in a validating proxy, which would put a
// parse on every call of the user's callback.
export const callback = () =>
  z.optional(z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function'))

/** A schema with the words for what each field expects. Its keys are the known options. */
export interface OptionsSpec<S extends z.ZodMiniType> {
  schema: S
  expected: Record<string, string>
}

/**
 * Parses `input` with the spec made by `build` (built once, on the first call), or throws
 * {@link InvalidOptionsError} naming the first field at fault.
 *
 * The input is read once: every known option is read a single time (own or inherited, so a
 * getter runs once) into a plain snapshot, and only the snapshot is checked and returned. A getter
 * that answers differently the second time, an inherited value or a Proxy cannot slip an unchecked
 * value past the check. An own key that is not a known option is an error (a typo).
 */
export function lazyOptionsParser<S extends z.ZodMiniType>(build: () => OptionsSpec<S>) {
  let spec: OptionsSpec<S> | undefined
  return (input: unknown): z.infer<S> => {
    spec ??= build()
    const known = spec.expected
    const snapshot = readOptions(input, known)
    const result = spec.schema.safeParse(snapshot)
    if (result.success) return result.data
    const field = String(result.error.issues[0]?.path[0] ?? 'options')
    throw new InvalidOptionsError(field, snapshot[field], known[field] ?? 'valid')
  }
}
