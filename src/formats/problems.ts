import type { FormatProblem } from '../message-format.js'

/**
 * The codes {@link MessageFormat.check} returns for the formats of `bounded-session/formats`.
 *
 * - `INVALID_MESSAGE`: the message matches no shape of the format (not an object, an unknown
 *   role or type, `content` of the wrong type, unreadable).
 * - `FIRST_NOT_USER`: the first message is not a user message (Anthropic, Gemini).
 * - `MISPLACED_SYSTEM`: a system message where the provider takes none (Anthropic: one that does
 *   not follow a user message).
 * - `EMPTY_CONTENT`: a message with no content where the provider needs some.
 * - `WRONG_ROLE`: a block in a message of the wrong role (a `tool_use` in a user message).
 * - `ORPHAN_RESULT`: a tool result whose call is not in the message (or turn) right before it.
 * - `UNANSWERED_CALL`: a tool call not answered where the provider needs its result. A call in
 *   the newest group (nothing but its own results after it) is in flight, not a problem.
 * - `RESULT_NOT_FIRST`: Anthropic `tool_result` blocks after other blocks in their turn.
 * - `RESPONSE_COUNT`: Gemini: a turn of function responses whose count differs from the calls'.
 * - `REASONING_WITHOUT_ITEM`: OpenAI Responses: a `reasoning` item not followed by the item it
 *   produced (allowed as the newest item, in flight).
 * - `DUPLICATE_CALL_ID`: two calls with one id.
 * - `DUPLICATE_RESULT`: two results for one call.
 * - `MISSING_CALL_ID`: a call or result without the id its provider needs.
 */
export type FormatProblemCode =
  | 'INVALID_MESSAGE'
  | 'FIRST_NOT_USER'
  | 'MISPLACED_SYSTEM'
  | 'EMPTY_CONTENT'
  | 'WRONG_ROLE'
  | 'ORPHAN_RESULT'
  | 'UNANSWERED_CALL'
  | 'RESULT_NOT_FIRST'
  | 'RESPONSE_COUNT'
  | 'REASONING_WITHOUT_ITEM'
  | 'DUPLICATE_CALL_ID'
  | 'DUPLICATE_RESULT'
  | 'MISSING_CALL_ID'

/** A {@link FormatProblem} whose `code` is one of {@link FormatProblemCode}. */
export interface KnownFormatProblem extends FormatProblem {
  readonly code: FormatProblemCode
}

/** Collects problems in index order. */
export class Problems {
  readonly list: KnownFormatProblem[] = []

  add(index: number, code: FormatProblemCode, message: string): void {
    this.list.push({ index, code, message })
  }

  sorted(): KnownFormatProblem[] {
    return this.list.sort((a, b) => a.index - b.index)
  }
}

/**
 * Tracks tool calls through a list: which ids were called, answered, still open, so each format's
 * check reports orphans, duplicates and unanswered calls the same way.
 */
export class CallLedger {
  readonly #calledAt = new Map<string, number>()
  readonly #answered = new Set<string>()

  constructor(readonly problems: Problems) {}

  /** Records a call; reports a duplicate id. */
  call(id: string, index: number): void {
    if (this.#calledAt.has(id)) this.problems.add(index, 'DUPLICATE_CALL_ID', `The call id \`${id}\` is used by an earlier call`)
    else this.#calledAt.set(id, index)
  }

  /** Records a result; reports a duplicate. Returns whether its call is known. */
  answer(id: string, index: number): boolean {
    if (this.#answered.has(id)) this.problems.add(index, 'DUPLICATE_RESULT', `The call \`${id}\` already has a result`)
    this.#answered.add(id)
    return this.#calledAt.has(id)
  }

  answered(id: string): boolean {
    return this.#answered.has(id)
  }
}

/** Reads `object[key]`, or `undefined` when the getter throws (check never throws). */
export function peek(object: unknown, key: string): unknown {
  if (typeof object !== 'object' || object === null) return undefined
  try {
    return (object as Record<string, unknown>)[key]
  } catch {
    return undefined
  }
}

/** `value` when it is an array, else `undefined`. */
export const arrayOr = (value: unknown): readonly unknown[] | undefined => (Array.isArray(value) ? value : undefined)

/** `value` when it is a string, else `undefined`. */
export const stringOr = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

/**
 * The calls of the assistant message that the current run of tool messages answers, for the
 * formats whose results follow their call with only other results between (OpenAI Chat, the AI
 * SDK, LangChain): a result outside the run of its call is an orphan, and a call the run leaves
 * unanswered is reported when the run closes (unless the list ends in it: in flight).
 */
export class ToolRun {
  #open: Map<string, number> | undefined

  constructor(
    readonly ledger: CallLedger,
    /** The message of an unanswered call's problem. */
    readonly unanswered: (id: string) => string,
  ) {}

  /** A call of the assistant message at `index` that this run's results must answer. */
  open(id: string, index: number): void {
    ;(this.#open ??= new Map()).set(id, index)
  }

  /** A result at `index`; reports an orphan, with `orphan` as its message, outside its call's run. */
  answer(id: string, index: number, orphan: string): void {
    this.ledger.answer(id, index)
    if (!(this.#open?.has(id) ?? false)) this.ledger.problems.add(index, 'ORPHAN_RESULT', orphan)
  }

  /**
   * The calls of the assistant message at `index`, each `{ id }`: one without a string `id` is
   * reported with `missing` as its message.
   */
  openCalls(calls: readonly unknown[], index: number, missing: string): void {
    for (const call of calls) {
      const id = stringOr(peek(call, 'id'))
      if (id === undefined) {
        this.ledger.problems.add(index, 'MISSING_CALL_ID', missing)
        continue
      }
      this.ledger.call(id, index)
      this.open(id, index)
    }
  }

  /** The run ends at a message that is not a result (`inFlight`: the list ends in it). */
  close(inFlight = false): void {
    if (this.#open !== undefined && !inFlight) {
      for (const [id, index] of this.#open) if (!this.ledger.answered(id)) this.ledger.problems.add(index, 'UNANSWERED_CALL', this.unanswered(id))
    }
    this.#open = undefined
  }
}

/** The string `id`s of a message's `tool_calls` (OpenAI Chat, LangChain), in order. */
export function toolCallIds(message: unknown): string[] {
  const ids: string[] = []
  for (const call of arrayOr(peek(message, 'tool_calls')) ?? []) {
    const id = stringOr(peek(call, 'id'))
    if (id !== undefined) ids.push(id)
  }
  return ids
}
