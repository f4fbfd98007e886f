export { RingBufferHistory, defaultCountTokens, defaultSizeOf } from './ring-buffer-history.js'
export type {
  HistoryBudget,
  HistoryCheckpoint,
  RingBufferHistoryOptions,
  TrimReason,
} from './ring-buffer-history.js'
export {
  DisposeTimeoutError,
  InvalidCheckpointError,
  InvalidClockError,
  InvalidMeasurementError,
  InvalidOptionsError,
  MessageTooLargeError,
  SessionClosingError,
  SessionLimitError,
  StoreClosedError,
} from './errors.js'
export type { ErrorCode } from './errors.js'
export { BoundedSessionStore, SESSION_OVERHEAD_BYTES } from './bounded-session-store.js'
export type {
  BoundedSessionStoreOptions,
  OverflowInfo,
  RemovalReason,
  SessionLease,
  SessionStoreEvents,
  SessionStoreStats,
} from './bounded-session-store.js'
