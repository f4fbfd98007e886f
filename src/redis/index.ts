// The public surface of `bounded-session/redis`. The package root never imports this file, so a
// user of the in-memory classes installs no Redis client.
export { RedisHistory } from './redis-history.js'
export type { PushOptions, RedisHistoryCheckpoint, RedisHistoryOptions, RedisHistoryStats, RedisSerializer } from './redis-history.js'
export type { HistoryBudget, HistoryMeasure, HistorySnapshot, ShrinkMessage } from '../history/types.js'
export type { CalibrationOutcome, CalibrationResult, CalibrationState } from '../history/calibration.js'
export type { GroupRule, MessageFormat, MessageLinks } from '../message-format.js'
export { RedisSessionRegistry } from './redis-session-registry.js'
export type {
  AcquireOptions,
  RedisLease,
  RedisSessionRegistryEvents,
  RedisSessionRegistryOptions,
  RegistryDepartureReason,
} from './redis-session-registry.js'
export { fromNodeRedis } from './client.js'
export type { NodeRedisLike, RedisClient } from './client.js'
export {
  InvalidArgumentError,
  InvalidCheckpointError,
  InvalidMeasurementError,
  InvalidOptionsError,
  InvalidSnapshotError,
  LeaseFencedError,
  MessageTooLargeError,
  OrphanResultError,
  RedisCommandError,
  RedisConfigError,
  RedisDataError,
  RegistryClosedError,
  SessionLimitError,
} from '../errors.js'
