import { InvalidOptionsError } from '../errors.js'

// Key layout. Every key of one session carries the hash tag `{<session id>}`, so on a Redis
// Cluster they live in one slot and one script can touch them all. The registry's own keys share
// the tag `{<prefix>registry:<name>}`.

/** The keys of one session's history. */
export interface SessionKeys {
  /** LIST of serialised messages, oldest first. */
  readonly messages: string
  /** LIST parallel to `messages`: "seq,bytes,tokens,flags" per message. */
  readonly info: string
  /** HASH of totals, protection, checkpoint lines, the fencing token and its deadline. */
  readonly state: string
  /**
   * ZSET of the ids of the pushes applied within the idempotency window (score: the server's
   * time in ms), so that a push resent after a reconnect, or retried under the caller's
   * idempotency key, applies once. It expires with the window.
   */
  readonly applied: string
}

/** The default key prefix. */
export const DEFAULT_PREFIX = 'bs:'

/** Checks a session id and returns it as a string. */
export function sessionIdOf(value: unknown, field: string): string {
  const id = typeof value === 'number' && Number.isFinite(value) ? String(value) : value
  if (typeof id !== 'string' || id.length === 0 || id.includes('{') || id.includes('}')) {
    throw new InvalidOptionsError(field, value, 'a non-empty string (or a finite number) without `{` or `}`')
  }
  return id
}

/** The keys of session `id` under `prefix`. */
export function sessionKeys(prefix: string, id: string): SessionKeys {
  const base = `${prefix}{${id}}:`
  return { messages: `${base}m`, info: `${base}i`, state: `${base}s`, applied: `${base}d` }
}

/** The keys as the array the scripts take, in their order. */
export function keyList(keys: SessionKeys): string[] {
  return [keys.messages, keys.info, keys.state, keys.applied]
}

/** The registry's keys. */
export interface RegistryKeys {
  /** ZSET: session id → last activity (ms). */
  readonly active: string
  /** STRING: the fencing-token counter. */
  readonly token: string
  /** STREAM of departures: fields `id`, `reason`. */
  readonly departures: string
  /**
   * HASH of the leases held: session id → `"<token>:<deadline>"`, the deadline in ms on the
   * server's clock (an entry past it is a lease that ran out).
   */
  readonly lease: string
}

/** The registry keys for `name` under `prefix`. */
export function registryKeys(prefix: string, name: string): RegistryKeys {
  const base = `${prefix}{${prefix}registry:${name}}:`
  return { active: `${base}active`, token: `${base}token`, departures: `${base}departures`, lease: `${base}lease:` }
}
