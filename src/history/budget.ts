import type { InvalidOptionsError } from '../errors.js'
import { checkOptions, fractionRule, positiveIntegerRule } from '../validate.js'

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

/** No limit at all. */
export const noBudget: Readonly<Budget> = { maxMessages: Infinity, maxBytes: Infinity, maxTokens: Infinity, trimTo: 1 }

/**
 * What a trim goes down to (and where a stable window steps to): `floor(trimTo × budget)`, or
 * `Infinity` for no budget.
 */
export const trimTarget = (trimTo: number, budget: number): number => (budget === Infinity ? Infinity : Math.floor(trimTo * budget))

/**
 * Checks the budget of one `window()` call: each field read once, with the options' rules and
 * error ({@link InvalidOptionsError}).
 */
export function budgetOf(budget: unknown): Budget {
  if (budget === undefined) return noBudget
  return { ...noBudget, ...checkOptions(budget, budgetRules, budgetRules, 'budget', 'a known budget field') }
}
