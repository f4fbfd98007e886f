export { RingBufferHistory, defaultCountTokens, defaultSizeOf, estimateTextTokens } from './history/index.js'
export type {
  HistoryBudget,
  HistoryCheckpoint,
  HistoryMeasure,
  HistorySnapshot,
  RingBufferHistoryOptions,
  ShrinkMessage,
  TrimReason,
  TrimSummary,
} from './history/index.js'
export type { HistoryView } from './history/index.js'
export type { CalibrationOutcome, CalibrationResult, CalibrationState } from './history/calibration.js'
export { inputBudget } from './input-budget.js'
export type { InputBudgetOptions } from './input-budget.js'
export { truncateContent } from './truncate-content.js'
export type { ContentMessage } from './truncate-content.js'
export {
  DisposeTimeoutError,
  InvalidArgumentError,
  InvalidCheckpointError,
  InvalidClockError,
  InvalidMessageError,
  InvalidMeasurementError,
  InvalidOptionsError,
  InvalidSnapshotError,
  MessageTooLargeError,
  OrphanResultError,
  SessionClosingError,
  SessionCreatingError,
  SessionLimitError,
  StoreClosedError,
  TrimCallbackError,
} from './errors.js'
export type { ErrorCode } from './errors.js'
export { BoundedSessionStore, SESSION_OVERHEAD_BYTES } from './store/index.js'
export type {
  BoundedSessionStoreOptions,
  DeleteOptions,
  OverflowInfo,
  RemovalReason,
  RemovalRecord,
  SetOptions,
  SessionLease,
  SessionStoreEvents,
  SessionStoreStats,
} from './store/index.js'
export type { FormatProblem, GroupRule, MessageFormat, MessageLinks } from './message-format.js'
