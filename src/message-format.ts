import type { ShrinkMessage } from './history/types.js'

/**
 * What ties one message to others, so that trimming and `window()` keep or drop them as one
 * group: a tool call with its results (by id, parallel calls and results in later messages
 * included), and a reasoning item with the item it produced.
 *
 * Returned by a {@link GroupRule} once per message, when it is pushed.
 */
export interface MessageLinks {
  /** The ids of the tool calls this message makes. */
  readonly calls?: readonly string[] | undefined
  /** The ids of the tool calls this message answers (each made by an earlier message). */
  readonly results?: readonly string[] | undefined
  /**
   * `true` when this message belongs with the message after it (a reasoning item before the
   * call or message it produced; a model turn of calls whose results carry no ids).
   */
  readonly withNext?: boolean | undefined
}

/**
 * The history option `group`: reads the {@link MessageLinks} of one message, or `undefined`
 * when it stands alone.
 *
 * @typeParam T - the message type
 */
export type GroupRule<T> = (message: T) => MessageLinks | undefined

/** One thing a provider would refuse in a list of messages, as {@link MessageFormat.check} finds it. */
export interface FormatProblem {
  /** The index, in the list checked, of the message the problem is found at. */
  readonly index: number
  /** A stable code, such as `'ORPHAN_RESULT'` or `'UNANSWERED_CALL'`. */
  readonly code: string
  /** What is wrong, for a person. */
  readonly message: string
}

/**
 * Everything a history needs to know about one provider's or framework's message shape: how to
 * measure a message, what ties messages together, how to shrink one, and what the provider
 * refuses. `bounded-session/formats` ships one for each common SDK; a host with its own shape
 * writes one.
 *
 * @typeParam T - the message type
 */
export interface MessageFormat<T> {
  /** A short name, such as `'anthropic'`. */
  readonly name: string
  /** The size of one message in bytes (an estimate of the heap it holds). */
  sizeOf(message: T): number
  /** The tokens of one message, by the provider's rules where the format knows them. */
  countTokens(message: T): number
  /** What ties a message to others (see {@link MessageLinks}). */
  group: GroupRule<T>
  /** Marks the messages a window may start with (such as the provider's first-message rule). */
  startOn?: ((message: T) => boolean) | undefined
  /** Marks the messages to keep, such as system messages. */
  pin?: ((message: T) => boolean) | undefined
  /** Shortens the largest text or tool-result part of a message, keeping its ids and structure. */
  shrink: ShrinkMessage<T>
  /** The problems the provider would refuse in `messages`: empty when they are valid. */
  check(messages: readonly T[]): FormatProblem[]
}
