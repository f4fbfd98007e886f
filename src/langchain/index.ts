// The public surface of `bounded-session/langchain`. The package root never imports this file, so
// a host that does not use LangChain installs nothing for it.
export { BoundedChatMessageHistory } from './bounded-chat-message-history.js'
export type { BoundedChatMessageHistoryOptions } from './bounded-chat-message-history.js'
export { boundedTrimmer } from './bounded-trimmer.js'
export type { BoundedTrimmerOptions } from './bounded-trimmer.js'
export { chatMessages } from './format.js'
export type { FormatProblem, GroupRule, MessageFormat, MessageLinks } from '../message-format.js'
export { RingBufferHistory } from '../ring-buffer-history.js'
export type { HistoryBudget, HistoryMeasure, RingBufferHistoryOptions, ShrinkMessage, TrimReason, TrimSummary } from '../ring-buffer-history.js'
export { truncateContent } from '../truncate-content.js'
export type { ContentMessage } from '../truncate-content.js'
export { InvalidMessageError, InvalidOptionsError, MessageTooLargeError, OrphanResultError, TrimCallbackError } from '../errors.js'
