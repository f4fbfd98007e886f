import { InvalidOptionsError } from '../errors.js'
import { fractionRule, isFraction, isPositiveInteger, positiveIntegerRule } from '../validate.js'

// The budget rules: what a window's budget may hold, and where a trim stops. One definition, used
// by RingBufferHistory and by bounded-session/redis (src/redis/ imports this module; its Lua
// scripts apply the same rules to the numbers it passes them, and the Redis model test checks
// the two against each other).

/** A window's budget, checked: a missing limit is `Infinity`, a missing `trimTo` is 1. */
export interface Budget {
  maxMessages: number
  maxBytes: number
  maxTokens: number
  trimTo: number
}

const budgetExpected = {
  maxMessages: positiveIntegerRule.expected,
  maxBytes: positiveIntegerRule.expected,
  maxTokens: positiveIntegerRule.expected,
  trimTo: fractionRule.expected,
} as const

/** No limit at all. */
export const noBudget: Readonly<Budget> = { maxMessages: Infinity, maxBytes: Infinity, maxTokens: Infinity, trimTo: 1 }

/**
 * What a trim goes down to (and where a stable window steps to): `floor(trimTo × budget)`, or
 * `Infinity` for no budget.
 */
export const trimTarget = (trimTo: number, budget: number): number => (budget === Infinity ? Infinity : Math.floor(trimTo * budget))

/**
 * Checks the budget of one `window()` call: each field read once, with the options' rules and
 * error ({@link InvalidOptionsError}). Runs once per model call, so by hand rather than through
 * the options table.
 */
export function budgetOf(budget: unknown): Budget {
  if (budget === undefined) return noBudget
  if (budget === null || typeof budget !== 'object' || Array.isArray(budget)) {
    throw new InvalidOptionsError('budget', budget, 'an object or undefined')
  }
  const record = budget as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(budgetExpected, key)) {
      throw new InvalidOptionsError(key, record[key], `a known budget field (${Object.keys(budgetExpected).join(', ')})`)
    }
  }
  const out = { ...noBudget }
  for (const key of ['maxMessages', 'maxBytes', 'maxTokens'] as const) {
    const value = record[key]
    if (value === undefined) continue
    if (!isPositiveInteger(value)) throw new InvalidOptionsError(key, value, budgetExpected[key])
    out[key] = value
  }
  const trimTo = record.trimTo
  if (trimTo !== undefined) {
    if (!isFraction(trimTo)) throw new InvalidOptionsError('trimTo', trimTo, budgetExpected.trimTo)
    out.trimTo = trimTo
  }
  return out
}
