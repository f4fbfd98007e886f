// The session store's public surface, by name (src/index.ts re-exports it; tsup builds it as an
// entry of its own).
export { BoundedSessionStore } from './bounded-session-store.js'
export { SESSION_OVERHEAD_BYTES } from './options.js'
export type { BoundedSessionStoreOptions } from './options.js'
export type {
  DeleteOptions,
  OverflowInfo,
  RemovalReason,
  RemovalRecord,
  SessionLease,
  SessionStoreEvents,
  SessionStoreStats,
  SetOptions,
} from './types.js'
