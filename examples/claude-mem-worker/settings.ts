/**
 * The worker's settings (flat JSON, every value a string) turned into store and history options.
 * The worker's convention is `parseInt(settings.X) || DEFAULT`; here a value that is not usable
 * also falls back to the default, and is reported through the logger instead of crashing the
 * worker when the library would reject it.
 */
import type { Logger } from './types.js'

/** Settings keys this adapter reads, with their defaults (as strings, like the settings file). */
export const SESSION_SETTINGS_DEFAULTS = {
  CLAUDE_MEM_SESSION_TTL_MINUTES: '60',
  CLAUDE_MEM_MAX_ACTIVE_SESSIONS: '100',
  CLAUDE_MEM_MAX_CONVERSATION_HISTORY: '50',
  CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS: '400000',
} as const

export type SessionSettingKey = keyof typeof SESSION_SETTINGS_DEFAULTS

/** Settings as read from `~/.claude-mem/settings.json`: anything may be missing or malformed. */
export type WorkerSettings = Partial<Record<SessionSettingKey, unknown>> & Record<string, unknown>

/**
 * The smallest character budget accepted: room for the pinned instructions (about 2,000
 * characters) beside the largest observation prompt (about 32,000 characters of tool output,
 * plus escaping). A smaller budget would reject ordinary prompts.
 */
export const MIN_CONVERSATION_CHARS = 40_000

/** Resolved numbers, ready for `SessionManager`. */
export interface SessionLayerSettings {
  /** Idle time before a session is torn down (`BoundedSessionStore` `idleTtlMs`). */
  idleTtlMs: number
  /** Sessions held in memory at most (`BoundedSessionStore` `maxSessions`). */
  maxSessions: number
  /** Messages per conversation history (`RingBufferHistory` `maxMessages`). */
  maxMessages: number
  /** Characters per conversation history (`RingBufferHistory` `maxBytes`, with `sizeOf = content.length`). */
  maxChars: number
}

interface Rule {
  key: SessionSettingKey
  min: number
  max: number
  why: string
}

const RULES: Record<keyof SessionLayerSettings, Rule> = {
  idleTtlMs: { key: 'CLAUDE_MEM_SESSION_TTL_MINUTES', min: 1, max: 525_600, why: 'minutes, from 1 to 525600 (a year)' },
  maxSessions: {
    key: 'CLAUDE_MEM_MAX_ACTIVE_SESSIONS',
    min: 1,
    max: 100_000,
    why: 'sessions, from 1 to 100000',
  },
  maxMessages: {
    key: 'CLAUDE_MEM_MAX_CONVERSATION_HISTORY',
    min: 2,
    max: 100_000,
    why: 'messages, from 2 (the pinned instructions and the newest message) to 100000',
  },
  maxChars: {
    key: 'CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS',
    min: MIN_CONVERSATION_CHARS,
    max: 2 ** 31 - 1,
    why: `characters, from ${MIN_CONVERSATION_CHARS} to ${2 ** 31 - 1}`,
  },
}

function readInteger(settings: WorkerSettings, rule: Rule, logger: Logger): number {
  const fallback = Number.parseInt(SESSION_SETTINGS_DEFAULTS[rule.key], 10)
  const raw = settings[rule.key]
  if (raw === undefined || raw === null || raw === '') return fallback
  // The worker's own parse (`parseInt(value) || DEFAULT`), but a value that falls back is
  // reported. `String()` because a hand-edited file may hold a number.
  const parsed = Number.parseInt(String(raw), 10)
  if (Number.isSafeInteger(parsed) && parsed >= rule.min && parsed <= rule.max) return parsed
  logger.warn('SETTINGS', `Invalid ${rule.key}, using the default`, {
    value: raw,
    default: fallback,
    expected: rule.why,
  })
  return fallback
}

/**
 * Reads the session-layer settings. Never throws: a missing value takes its default silently,
 * a bad one takes its default with a warning.
 *
 * @example
 * ```ts
 * const resolved = resolveSessionSettings(SettingsDefaultsManager.loadFromFile(path), logger)
 * const sessionManager = new SessionManager(db, { ...resolved, logger })
 * ```
 */
export function resolveSessionSettings(settings: WorkerSettings, logger: Logger): SessionLayerSettings {
  return {
    idleTtlMs: readInteger(settings, RULES.idleTtlMs, logger) * 60_000,
    maxSessions: readInteger(settings, RULES.maxSessions, logger),
    maxMessages: readInteger(settings, RULES.maxMessages, logger),
    maxChars: readInteger(settings, RULES.maxChars, logger),
  }
}
