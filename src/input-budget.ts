import { InvalidArgumentError, InvalidOptionsError } from './errors.js'
import { checkOptions, isFraction, nonNegativeIntegerRule, positiveIntegerRule, type Rule, wordsOf } from './validate.js'

/**
 * What {@link inputBudget} needs to know about one model: its context window and what a request
 * keeps out of it. Every count is in the provider's tokens.
 */
export interface InputBudgetOptions {
  /** The model's context window (input and output together): a positive integer. */
  contextTokens: number
  /**
   * The output a request reserves (its `max_tokens` / `max_output_tokens`), kept out of the
   * window: a non-negative integer.
   *
   * @defaultValue 0
   */
  reservedOutputTokens?: number | undefined
  /**
   * Tokens every request carries beside the history (system prompt, tool definitions), kept
   * out of the window: a non-negative integer. Pass the same number as the history's
   * `overheadTokens`.
   *
   * @defaultValue 0
   */
  overheadTokens?: number | undefined
  /**
   * A share of the window kept free against what an estimate can miss between two
   * calibrations (the messages pushed since the last one): a number from 0 to 1 (below 1).
   *
   * @defaultValue 0
   */
  headroom?: number | undefined
}

// Checked by a table of predicates (src/validate.ts), like the history's options: no zod in a
// bundle that imports only the history and this.
const rules = {
  contextTokens: positiveIntegerRule,
  reservedOutputTokens: nonNegativeIntegerRule,
  overheadTokens: nonNegativeIntegerRule,
  headroom: { test: (v) => isFraction(v) && v < 1, expected: 'a number from 0 to 1 (below 1)' },
} satisfies Record<keyof InputBudgetOptions, Rule>
const words = wordsOf(rules)

/**
 * The input budget of a model, for a history's `maxTokens`: the context window, less the output a
 * request reserves, the tokens it carries beside the history and the headroom, rounded down. No
 * model is built in: the numbers are the host's (a model's card, its own settings), and
 * `inputBudget(table, modelId)` reads them from the host's own table.
 *
 * @returns a positive integer
 * @throws {@link InvalidOptionsError} when a field is missing, out of range or unknown, or when
 * nothing of the window is left for the history
 * @throws {@link InvalidArgumentError} when `model` is not in `table`
 * @example
 * ```ts
 * const history = new RingBufferHistory({ maxTokens: inputBudget({ contextTokens: 200_000, reservedOutputTokens: 8_000 }) })
 *
 * const models = { 'big-model': { contextTokens: 200_000, reservedOutputTokens: 8_000 }, 'small-model': { contextTokens: 32_000 } }
 * const budget = inputBudget(models, session.model)
 * ```
 */
export function inputBudget(options: InputBudgetOptions): number
export function inputBudget<M extends string>(table: Readonly<Record<M, InputBudgetOptions>>, model: M): number
export function inputBudget(first: unknown, ...rest: unknown[]): number {
  let options = first
  if (rest.length > 0) {
    const model = rest[0]
    const table = first
    if (table === null || typeof table !== 'object' || Array.isArray(table)) {
      throw new InvalidArgumentError('table', table, 'an object of models')
    }
    if (typeof model !== 'string' || !Object.hasOwn(table, model)) {
      throw new InvalidArgumentError('model', model, `a model of the table (${Object.keys(table).join(', ')})`)
    }
    options = (table as Record<string, unknown>)[model]
  }
  const o = checkOptions(options, rules, words) as Partial<InputBudgetOptions>
  if (o.contextTokens === undefined) throw new InvalidOptionsError('contextTokens', undefined, rules.contextTokens.expected)
  const headroom = o.headroom ?? 0
  const budget = Math.floor(o.contextTokens * (1 - headroom)) - (o.reservedOutputTokens ?? 0) - (o.overheadTokens ?? 0)
  if (budget < 1) {
    throw new InvalidOptionsError(
      'reservedOutputTokens',
      o.reservedOutputTokens,
      `small enough to leave room for the history in \`contextTokens\` (${o.contextTokens}) beside \`overheadTokens\` and \`headroom\``,
    )
  }
  return budget
}
