// The public surface of `bounded-session/openai-agents`. The package root never imports this
// file, so a host that does not use the Agents SDK installs nothing for it.
export { BoundedSession } from './bounded-session.js'
export type {
  AppendItemsTransaction,
  BoundedSessionOptions,
  BoundedSessionTransactionArgs,
  ReplaceSuffixTransaction,
} from './bounded-session.js'
export { openaiAgents } from './format.js'
export type { FormatProblem, GroupRule, MessageFormat, MessageLinks } from '../message-format.js'
export type { HistoryMeasure, RingBufferHistoryOptions, ShrinkMessage, TrimReason, TrimSummary } from '../ring-buffer-history.js'
export { truncateContent } from '../truncate-content.js'
export type { ContentMessage } from '../truncate-content.js'
export {
  InvalidArgumentError,
  InvalidMessageError,
  InvalidOptionsError,
  MessageTooLargeError,
  OrphanResultError,
  SessionTransactionError,
  TrimCallbackError,
} from '../errors.js'
