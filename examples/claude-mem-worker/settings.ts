/**
 * The worker's settings (flat JSON, every value a string) turned into the session layer's numbers.
 *
 * Read as the worker reads them: `parseInt(settings.X) || DEFAULT`. Here a value that is not
 * usable also falls back to its default, and is reported through the logger instead of reaching
 * the library (which would reject it).
 *
 * - Settings the worker has today: `CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS` ('400000') and
 *   `CLAUDE_MEM_OBSERVER_CONTEXT_WINDOW` ('' = the model's own window). The history budget is the
 *   worker's: min(max chars, half the context window × 4 characters per token).
 * - Settings this adapter ADDS (the worker has none; named in its convention):
 *   `CLAUDE_MEM_SESSION_TTL_MINUTES` ('60') and `CLAUDE_MEM_MAX_ACTIVE_SESSIONS` ('100').
 */
import type { Logger } from './types.js'

/** Settings keys this adapter reads, with their defaults (as strings, like the settings file). */
export const SESSION_SETTINGS_DEFAULTS = {
  CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS: '400000',
  CLAUDE_MEM_OBSERVER_CONTEXT_WINDOW: '',
  /** New in this adapter. */
  CLAUDE_MEM_SESSION_TTL_MINUTES: '60',
  /** New in this adapter. */
  CLAUDE_MEM_MAX_ACTIVE_SESSIONS: '100',
} as const

export type SessionSettingKey = keyof typeof SESSION_SETTINGS_DEFAULTS

/** Settings as read from `~/.claude-mem/settings.json`: anything may be missing or malformed. */
export type WorkerSettings = Partial<Record<SessionSettingKey, unknown>> & Record<string, unknown>

/** The context window assumed when `CLAUDE_MEM_OBSERVER_CONTEXT_WINDOW` is empty (the Claude models' 200k tokens). */
export const DEFAULT_CONTEXT_WINDOW_TOKENS = 200_000

/**
 * The smallest character budget accepted: room for the framing prompt (about 2,000 characters)
 * beside the largest observation prompt (about 32,000 characters of tool output, plus escaping).
 */
export const MIN_CONVERSATION_CHARS = 40_000

/** Resolved numbers, ready for the session layers. */
export interface SessionLayerSettings {
  /** Idle time before a session is torn down (`BoundedSessionStore` `idleTtlMs`). New setting. */
  idleTtlMs: number
  /** Sessions held in memory at most (`BoundedSessionStore` `maxSessions`). New setting. */
  maxSessions: number
  /**
   * Characters of conversation per session: min(max chars, context window / 2 × 4). The port's
   * `RingBufferHistory` `maxBytes` (with `sizeOf = content.length`); v13 recycles above it.
   */
  budgetChars: number
}

interface Rule {
  key: SessionSettingKey
  fallback: number
  min: number
  max: number
  why: string
}

const RULES = {
  maxChars: {
    key: 'CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS',
    fallback: 400_000,
    min: MIN_CONVERSATION_CHARS,
    max: 2 ** 31 - 1,
    why: `characters, from ${MIN_CONVERSATION_CHARS} to ${2 ** 31 - 1}`,
  },
  contextWindow: {
    key: 'CLAUDE_MEM_OBSERVER_CONTEXT_WINDOW',
    fallback: DEFAULT_CONTEXT_WINDOW_TOKENS,
    min: MIN_CONVERSATION_CHARS / 2,
    max: 2 ** 28,
    why: `tokens, from ${MIN_CONVERSATION_CHARS / 2} to ${2 ** 28}, or empty for the model's own`,
  },
  idleTtlMinutes: { key: 'CLAUDE_MEM_SESSION_TTL_MINUTES', fallback: 60, min: 1, max: 525_600, why: 'minutes, from 1 to 525600 (a year)' },
  maxSessions: { key: 'CLAUDE_MEM_MAX_ACTIVE_SESSIONS', fallback: 100, min: 1, max: 100_000, why: 'sessions, from 1 to 100000' },
} satisfies Record<string, Rule>

function readInteger(settings: WorkerSettings, rule: Rule, logger: Logger): number {
  const raw = settings[rule.key]
  if (raw === undefined || raw === null || raw === '') return rule.fallback
  // The worker's own parse (`parseInt(value) || DEFAULT`), but a value that falls back is
  // reported. `String()` because a hand-edited file may hold a number.
  const parsed = Number.parseInt(String(raw), 10)
  if (Number.isSafeInteger(parsed) && parsed >= rule.min && parsed <= rule.max) return parsed
  logger.warn('SETTINGS', `Invalid ${rule.key}, using the default`, {
    value: raw,
    default: rule.fallback,
    expected: rule.why,
  })
  return rule.fallback
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
  const maxChars = readInteger(settings, RULES.maxChars, logger)
  const contextWindow = readInteger(settings, RULES.contextWindow, logger)
  return {
    idleTtlMs: readInteger(settings, RULES.idleTtlMinutes, logger) * 60_000,
    maxSessions: readInteger(settings, RULES.maxSessions, logger),
    budgetChars: Math.max(MIN_CONVERSATION_CHARS, Math.min(maxChars, Math.floor(contextWindow / 2) * 4)),
  }
}
