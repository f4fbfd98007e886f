// The public surface of `bounded-session/redis`. The package root never imports this file, so a
// user of the in-memory classes installs no Redis client.
export { RedisHistory } from './redis-history.js'
export type {
  HistorySnapshot,
  RedisHistoryCheckpoint,
  RedisHistoryOptions,
  RedisHistoryStats,
  RedisSerializer,
  ShrinkRoom,
} from './redis-history.js'
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
  InvalidCheckpointError,
  InvalidMeasurementError,
  InvalidOptionsError,
  LeaseFencedError,
  MessageTooLargeError,
  RedisCommandError,
  RedisDataError,
  RegistryClosedError,
  SessionLimitError,
} from '../errors.js'
