export { RingBufferHistory, defaultCountTokens, defaultSizeOf } from './ring-buffer-history.js'
export type {
  HistoryBudget,
  HistoryCheckpoint,
  RingBufferHistoryOptions,
  TrimReason,
} from './ring-buffer-history.js'
export {
  InvalidCheckpointError,
  InvalidMeasurementError,
  InvalidOptionsError,
  MessageTooLargeError,
  SessionLimitError,
  StoreClosedError,
} from './errors.js'
export type { ErrorCode } from './errors.js'
export { BoundedSessionStore, SESSION_OVERHEAD_BYTES } from './bounded-session-store.js'
export type {
  BoundedSessionStoreOptions,
  EvictionReason,
  OverflowInfo,
  SessionLease,
  SessionStoreEvents,
  SessionStoreStats,
} from './bounded-session-store.js'
