// The history's public types (other than its options): budgets, trim reports, measures,
// snapshots and checkpoints. Shared by RingBufferHistory and bounded-session/redis.
import type { CalibrationState } from './calibration.js'

/** Why a message was trimmed: the budget that was exceeded. */
export type TrimReason = 'count' | 'bytes' | 'tokens'

/**
 * A budget for {@link RingBufferHistory.window}. A field left out is not limited.
 */
export interface HistoryBudget {
  /** At most this many messages. */
  maxMessages?: number | undefined
  /** At most this many bytes, as the history's `sizeOf` counts them. */
  maxBytes?: number | undefined
  /** At most this many tokens, as the history's `tokens` counts them (calibrated, once `calibrate()` has learnt a correction). */
  maxTokens?: number | undefined
  /**
   * Makes the window cache-stable: a number in [0, 1]. Below 1, the window's first message (its
   * cut) stays where it was on the previous call for as long as the window still fits the budget;
   * when it no longer fits, the cut moves forward in one step, to where the window fits
   * `trimTo ×` the budget. With no cut yet, or when the history has trimmed the message at the
   * cut, the window starts at the oldest message if the whole history fits. Every call between two steps sends the same prefix as the one before,
   * so a provider's prompt cache keeps hitting.
   *
   * What it costs: the window then holds between `trimTo ×` and all of the budget (a sliding
   * window always holds nearly all of it), the history remembers one cut (a sequence number, not
   * a message) and from the first such call keeps a sequence number per message (8 bytes each),
   * which also moves its pushes off the allocation-free fast path. One history remembers one cut:
   * give each history one stable budget.
   *
   * @defaultValue 1: a sliding window, cut afresh on every call
   */
  trimTo?: number | undefined
}

/** What one `onTrim` call trimmed, in total. */
export interface TrimSummary {
  /** How many messages were trimmed. */
  readonly messages: number
  /** Their bytes, as `sizeOf` counted them. */
  readonly bytes: number
  /** Their tokens, as `countTokens` counted them (estimates: not calibrated). */
  readonly tokens: number
  /**
   * Present, and `true`, on a cold trim: the prompt cache had expired (`cacheTtlMs`), so the push
   * trimmed the history down to `trimTo ×` the budget named by the reason, which it was above
   * (whether or not it exceeded it). Absent on a trim made because a budget was exceeded.
   */
  readonly cold?: true
}

/** Bytes and tokens, as a history's `sizeOf` and `countTokens` count them. */
export interface HistoryMeasure {
  /** Bytes, as `sizeOf` counts them (`Infinity` for no byte budget, in a room). */
  readonly bytes: number
  /** Tokens, as `countTokens` counts them (`Infinity` for no token budget, in a room). */
  readonly tokens: number
}

/**
 * The option `shrink` of {@link RingBufferHistoryOptions}: makes a message that cannot fit beside
 * the protected messages small enough to fit `room`, and returns the message to store.
 *
 * @param message - the message that does not fit
 * @param room - what is left of each budget beside the messages that stay protected
 * @param measure - the history's own measures, to check a candidate against `room`
 */
export type ShrinkMessage<T> = (message: T, room: HistoryMeasure, measure: (message: T) => HistoryMeasure) => T

/**
 * A history's messages and pins as plain data, made by {@link RingBufferHistory.snapshot} and read
 * by {@link RingBufferHistory.restore}. JSON-safe when the messages are.
 */
export interface HistorySnapshot<T> {
  /** The snapshot format: always 1. */
  version: 1
  /** The messages, oldest first. */
  messages: T[]
  /** Indexes into `messages` of the pinned ones (by `pin` or `pushPinned`), ascending. */
  pinned: number[]
  /** {@link RingBufferHistory.evictedCount} when the snapshot was made. */
  evictedCount: number
  /**
   * The token correction learnt by {@link RingBufferHistory.calibrate}, when there is one:
   * `restore` takes it over (drop the field when restoring with another `countTokens`).
   */
  calibration?: CalibrationState | undefined
}

/**
 * An opaque mark made by {@link RingBufferHistory.checkpoint}, to give to
 * {@link RingBufferHistory.rollback}.
 */
export interface HistoryCheckpoint {
  /** How many messages the history had been given when the checkpoint was made, not counting those rolled back. */
  readonly position: number
  /** Only {@link RingBufferHistory.checkpoint} makes checkpoints. */
  readonly [checkpointBrand]: true
}

declare const checkpointBrand: unique symbol
