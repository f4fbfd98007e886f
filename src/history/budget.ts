import { InvalidOptionsError } from '../errors.js'
import { fractionRule, positiveIntegerRule } from '../validate.js'

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

// The rules of a window's budget: the options' own rules for the same fields.
const budgetRules = {
  maxMessages: positiveIntegerRule,
  maxBytes: positiveIntegerRule,
  maxTokens: positiveIntegerRule,
  trimTo: fractionRule,
}
const budgetFields = Object.keys(budgetRules) as (keyof Budget)[]

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
 * checkOptions (whose generic snapshot took twice as long: `npx tsx` microbench, ~110 vs ~220 ns).
 */
export function budgetOf(budget: unknown): Budget {
  if (budget === undefined) return noBudget
  if (budget === null || typeof budget !== 'object' || Array.isArray(budget)) {
    throw new InvalidOptionsError('budget', budget, 'an object or undefined')
  }
  const record = budget as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(budgetRules, key)) {
      throw new InvalidOptionsError(key, record[key], `a known budget field (${budgetFields.join(', ')})`)
    }
  }
  const out = { ...noBudget }
  for (const key of budgetFields) {
    const value = record[key]
    if (value === undefined) continue
    const rule = budgetRules[key]
    if (!rule.test(value)) throw new InvalidOptionsError(key, value, rule.expected)
    out[key] = value as number
  }
  return out
}
