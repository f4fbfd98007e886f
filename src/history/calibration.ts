import { InvalidArgumentError } from '../errors.js'
import { type Budget, trimTarget } from './budget.js'
import type { Config } from './options.js'
import type { Ring } from './ring.js'

// The correction of a history's token estimate from the counts a provider reports. Invariant:
// `correction` always lies in [CORRECTION_MIN, CORRECTION_MAX], so a calibrated budget binds
// whatever is reported (at most 1 / CORRECTION_MIN estimated tokens per budget token), and
// `margin` always lies in [MARGIN_MIN, MARGIN_MAX]: a calibrated budget keeps that fraction below
// maxTokens.

/** The smallest correction: a calibrated count is never below half the estimate. */
export const CORRECTION_MIN = 0.5
/** The largest correction: a calibrated count is never above four times the estimate. */
export const CORRECTION_MAX = 4
/** How far a lower reading moves the correction towards it: half way. A higher reading is taken at once. */
export const CORRECTION_SMOOTHING = 0.5
/**
 * The smallest safety margin of a calibrated budget, the margin of a history whose readings
 * agree: once calibrated, a history keeps its estimate times the correction at most
 * `maxTokens / (1 + margin)`, so that the drift between two readings (messages pushed and trimmed
 * since, whose own ratio differs from the history's) does not take the provider's count past
 * `maxTokens`. 3%: the least that keeps the exact count of every calibrated history of the bench's
 * corpus within `maxTokens` with the default ÷ 4 estimate (2% let two of 600 conversations reach
 * 1.004×; `npm run bench -- --only=tokens`), three times the largest drift measured between
 * readings with `estimateTextTokens` (0.9%).
 */
export const MARGIN_MIN = 0.03
/** The largest safety margin: a calibrated budget never holds less than `maxTokens / 1.25` by its calibrated count. */
export const MARGIN_MAX = 0.25
/**
 * How much of the margin is kept from one applied reading to the next: 0.9, so a drift seen once
 * is still covered for a few readings (about 20 to come back from 25% to 3%). Measured with the
 * default ÷ 4 estimate (`npm run bench -- --only=tokens`, the exact count's peak over maxTokens):
 * 1.02× with 0.5; with 0.9, 1.004× (a 2% floor) and 0.997× (the 3% floor).
 */
export const MARGIN_DECAY = 0.9
/** Requests whose messages are estimated below this many tokens are not used: per-message framing dominates them. */
export const MIN_CALIBRATION_TOKENS = 256
/** A reading more than this factor away from the correction is an outlier: set aside until the next reading agrees. */
export const OUTLIER_FACTOR = 2
/** A reading more than this factor away from the estimate (either way) cannot be of these messages: an error. */
export const ABSURD_FACTOR = 32

/**
 * What {@link RingBufferHistory.calibrate} did with one reading.
 *
 * - `'applied'`: the correction moved (a reading above it is taken at once, one below it half way).
 * - `'tooSmall'`: not used: the messages sent were estimated below 256 tokens, or the reported
 *   count was not above the overhead.
 * - `'outlier'`: not used yet: the reading is more than 2× away from the correction. If the next
 *   reading is an outlier in the same direction too, the content has changed and it is applied.
 */
export type CalibrationOutcome = 'applied' | 'tooSmall' | 'outlier'

/** The result of {@link RingBufferHistory.calibrate}. */
export interface CalibrationResult {
  /** What was done with the reading. */
  readonly outcome: CalibrationOutcome
  /** The correction now in effect: provider tokens per estimated token, in [0.5, 4]. */
  readonly correction: number
  /** This reading's ratio, `(reported - overheadTokens) / estimated`, before clamping (undefined when too small). */
  readonly ratio: number | undefined
}

/** A correction as plain data, for snapshots and for a shared store. */
export interface CalibrationState {
  /** Provider tokens per estimated token, in [0.5, 4]. */
  correction: number
  /** How many readings have been applied. */
  readings: number
  /**
   * The safety margin of the budget, in [0.03, 0.25] (see `RingBufferHistory#tokenMargin`).
   *
   * @defaultValue 0.03 (a state saved before the margin adapted)
   */
  margin?: number
}

const clampCorrection = (ratio: number): number => Math.min(CORRECTION_MAX, Math.max(CORRECTION_MIN, ratio))

/**
 * One history's token correction. Starts at 1 (the estimate as it is) and learns from readings:
 * the provider's reported input count of a request and the estimate of the messages it carried.
 * Every method checks its input before it changes anything.
 */
export class TokenCalibration {
  #correction = 1
  #readings = 0
  #margin = MARGIN_MIN
  // The ratio of an outlier set aside, to accept the next one that agrees with it.
  #heldOutlier: number | undefined

  /**
   * @param overheadTokens - provider tokens of every request that are not in the history (system
   * prompt, tool definitions): subtracted from each reported count
   */
  constructor(readonly overheadTokens = 0) {}

  /** Provider tokens per estimated token, in [{@link CORRECTION_MIN}, {@link CORRECTION_MAX}]. */
  get correction(): number {
    return this.#correction
  }

  /** How many readings have been applied. */
  get readings(): number {
    return this.#readings
  }

  /**
   * The safety margin of a calibrated budget, in [{@link MARGIN_MIN}, {@link MARGIN_MAX}]: the
   * budget holds `maxTokens / (correction × (1 + margin))` estimated tokens. It follows how far the
   * readings move: each applied reading `r` sets it to
   * `clamp(max(|r / c − 1|, margin × MARGIN_DECAY), MARGIN_MIN, MARGIN_MAX)`, where `c` is the
   * correction before that reading (1 before the first). A jump widens it at once, readings that
   * agree halve it back to the minimum. Readings not applied (too small, outliers, errors) leave
   * it as it is.
   */
  get margin(): number {
    return this.#margin
  }

  /** The ratio of the outlier set aside, waiting for the next reading (undefined: none); kept by a shared store with the state. */
  get heldOutlier(): number | undefined {
    return this.#heldOutlier
  }

  /**
   * Learns from one request. The checks come first: nothing changes when this throws.
   *
   * @param reported - the provider's input tokens for the request
   * @param estimated - the history's estimate of the messages it carried
   * @throws {@link InvalidArgumentError} when `reported` is not a finite number from 0 up, or is
   * more than 32× away from the estimate (with the overhead taken off): not a count of these messages
   */
  calibrate(reported: number, estimated: number): CalibrationResult {
    if (typeof reported !== 'number' || !Number.isFinite(reported) || reported < 0) {
      throw new InvalidArgumentError('reportedInputTokens', reported, 'a finite number from 0 up')
    }
    const own = reported - this.overheadTokens
    if (estimated < MIN_CALIBRATION_TOKENS || own <= 0) return { outcome: 'tooSmall', correction: this.#correction, ratio: undefined }
    const ratio = own / estimated
    if (ratio > ABSURD_FACTOR || ratio < 1 / ABSURD_FACTOR) {
      throw new InvalidArgumentError(
        'reportedInputTokens',
        reported,
        `a count within ${ABSURD_FACTOR}× of the estimate of the messages sent (${estimated} tokens, plus ${this.overheadTokens} of overhead)`,
      )
    }
    const reading = clampCorrection(ratio)
    const current = this.#correction
    if (this.#readings > 0 && (reading > current * OUTLIER_FACTOR || reading * OUTLIER_FACTOR < current)) {
      const held = this.#heldOutlier
      if (held === undefined || held > current !== reading > current) {
        this.#heldOutlier = reading
        return { outcome: 'outlier', correction: current, ratio }
      }
      // Two in a row on the same side: the content changed. Start again from this reading.
      this.#set(reading, reading)
      return { outcome: 'applied', correction: reading, ratio }
    }
    this.#set(this.#readings === 0 || reading > current ? reading : current + CORRECTION_SMOOTHING * (reading - current), reading)
    return { outcome: 'applied', correction: this.#correction, ratio }
  }

  #set(correction: number, reading: number): void {
    // How far this reading is from the correction it replaces: the drift the margin must cover.
    const drift = Math.abs(reading / this.#correction - 1)
    this.#margin = Math.min(MARGIN_MAX, Math.max(MARGIN_MIN, drift, this.#margin * MARGIN_DECAY))
    this.#correction = clampCorrection(correction)
    this.#readings++
    this.#heldOutlier = undefined
  }

  /** The correction as plain data. */
  state(): CalibrationState {
    return { correction: this.#correction, readings: this.#readings, margin: this.#margin }
  }

  /**
   * Takes over a correction made elsewhere (a snapshot, another worker). Checked first.
   *
   * @param heldOutlier - the outlier that correction had set aside (a shared store's
   * {@link TokenCalibration.heldOutlier}); none by default
   * @throws {@link InvalidArgumentError} when `state` is not a {@link CalibrationState} in range
   */
  load(state: CalibrationState, heldOutlier?: number): void {
    const problem = calibrationStateProblem(state)
    if (problem !== undefined) throw new InvalidArgumentError(`calibration.${problem}`, fieldOf(state, problem), calibrationExpected[problem])
    this.#correction = state.correction
    this.#readings = state.readings
    this.#margin = state.margin ?? MARGIN_MIN
    this.#heldOutlier = heldOutlier
  }
}

/** What each field of a {@link CalibrationState} must be, in words. */
export const calibrationExpected = {
  correction: `a number from ${CORRECTION_MIN} to ${CORRECTION_MAX}`,
  readings: 'a non-negative integer',
  margin: `a number from ${MARGIN_MIN} to ${MARGIN_MAX}`,
} as const

const fieldOf = (state: unknown, field: string): unknown =>
  typeof state === 'object' && state !== null ? (state as Record<string, unknown>)[field] : state

/** The field of a would-be {@link CalibrationState} that is wrong, or undefined when it is valid. */
export function calibrationStateProblem(state: unknown): 'correction' | 'readings' | 'margin' | undefined {
  const record = (typeof state === 'object' && state !== null ? state : {}) as Record<string, unknown>
  const { correction, readings, margin } = record
  if (typeof correction !== 'number' || !(correction >= CORRECTION_MIN && correction <= CORRECTION_MAX)) return 'correction'
  if (typeof readings !== 'number' || !Number.isSafeInteger(readings) || readings < 0) return 'readings'
  if (margin !== undefined && (typeof margin !== 'number' || !(margin >= MARGIN_MIN && margin <= MARGIN_MAX))) return 'margin'
  return undefined
}

/**
 * Provider tokens counted against a calibrated budget per estimated token: the correction with
 * the safety margin, `correction × (1 + margin)`; 1 for a history never calibrated.
 * The Redis scripts compute the same (src/redis/lua/includes/state.lua, `budgetCorr`).
 */
export function budgetFactor(calibration: TokenCalibration | undefined): number {
  return calibration === undefined ? 1 : calibration.correction * (1 + calibration.margin)
}

/** A token budget in provider tokens as a budget in estimated tokens: `floor(maxTokens / budgetFactor)`. */
export function calibratedLimit(maxTokens: number, calibration: TokenCalibration | undefined): number {
  return maxTokens === Infinity || calibration === undefined ? maxTokens : Math.floor(maxTokens / budgetFactor(calibration))
}

/**
 * A calibrated history's config: the token budget and its trim target in estimated tokens
 * (`floor(maxTokens / correction)`), so that every path, the fast push included, keeps comparing
 * estimates at no extra cost per push.
 */
export function calibratedConfig<T>(cfg: Config<T>, calibration: TokenCalibration): Config<T> {
  const maxTokens = calibratedLimit(cfg.declaredMaxTokens, calibration)
  return { ...cfg, calibration, maxTokens, tokensTarget: trimTarget(cfg.trimTo, maxTokens), coldTokensTarget: trimTarget(cfg.coldTrimTo, maxTokens) }
}

/**
 * One reading applied to a history's config (see {@link TokenCalibration.calibrate}): the config
 * to use from now on, `cfg` itself unless a correction was applied that is new or moved.
 *
 * @throws {@link InvalidArgumentError} as {@link TokenCalibration.calibrate}; nothing is changed
 */
export function recalibrated<T>(cfg: Config<T>, reported: number, estimated: number): { result: CalibrationResult; cfg: Config<T> } {
  const calibration = cfg.calibration ?? new TokenCalibration(cfg.overheadTokens)
  const before = budgetFactor(calibration)
  const result = calibration.calibrate(reported, estimated)
  const moved = result.outcome === 'applied' && (cfg.calibration === undefined || budgetFactor(calibration) !== before)
  return { result, cfg: moved ? calibratedConfig(cfg, calibration) : cfg }
}

/**
 * A history's config with a correction taken over (a snapshot's, the original's of a clone).
 *
 * @throws {@link InvalidArgumentError} when `state` is not a {@link CalibrationState} in range
 */
export function withCalibration<T>(cfg: Config<T>, state: CalibrationState): Config<T> {
  const calibration = new TokenCalibration(cfg.overheadTokens)
  calibration.load(state)
  return calibratedConfig(cfg, calibration)
}

/** A window's budget in estimated tokens, for a calibrated history (the budget itself otherwise). */
export function calibratedBudget(budget: Budget, calibration: TokenCalibration | undefined): Budget {
  if (calibration === undefined || budget.maxTokens === Infinity) return budget
  return { ...budget, maxTokens: calibratedLimit(budget.maxTokens, calibration) }
}

/**
 * The estimate of the messages a request carried: each found in the ring by identity, in order
 * (a window of it, or the whole), its stored estimate summed.
 *
 * @throws {@link InvalidArgumentError} when `sent` is not an array, or holds a message the ring
 * does not hold in that order
 */
export function estimateOfSent<T>(ring: Ring<T>, sent: readonly T[]): number {
  if (!Array.isArray(sent)) throw new InvalidArgumentError('sent', sent, 'an array of messages this history holds')
  let total = 0
  let i = 0
  for (let k = 0; k < sent.length; k++) {
    const message = sent[k] as T
    while (i < ring.len && ring.at(i) !== message) i++
    if (i === ring.len) throw new InvalidArgumentError(`sent[${k}]`, message, 'a message this history holds, in its order (as window() returns them)')
    total += ring.counts[ring.slot(i)] as number
    i++
  }
  return total
}
