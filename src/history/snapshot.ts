import { InvalidSnapshotError } from '../errors.js'
import { isNonNegativeInteger } from '../validate.js'
import { type CalibrationState, type TokenCalibration, calibrationExpected, calibrationStateProblem } from './calibration.js'
import { PINNED, type Ring } from './ring.js'
import type { HistorySnapshot } from './types.js'

// What a snapshot holds: made from a ring (snapshotOf, for RingBufferHistory.snapshot), and
// checked once (snapshotFields). One definition of the check, used by RingBufferHistory.restore
// and by bounded-session/redis (src/redis/ imports this module).

/** A snapshot of `ring`: a copy of its messages, the indexes of the pinned ones, its counters. */
export function snapshotOf<T>(ring: Ring<T>, calibration: TokenCalibration | undefined): HistorySnapshot<T> {
  const pinned: number[] = []
  if (ring.flags !== undefined) for (let i = 0; i < ring.len; i++) if ((ring.flagAt(i) & PINNED) !== 0) pinned.push(i)
  const snapshot: HistorySnapshot<T> = { version: 1, messages: ring.slice(), pinned, evictedCount: ring.evicted }
  if (calibration !== undefined) snapshot.calibration = calibration.state()
  return snapshot
}

/** A snapshot's fields, checked: a copy of the messages, the pinned indexes as a set. */
export interface SnapshotFields {
  messages: unknown[]
  pinned: Set<number>
  evictedCount: number
  /** The token correction, when the snapshot carries one. */
  calibration: CalibrationState | undefined
}

/**
 * Reads and checks each field of a snapshot once (extra fields are ignored).
 *
 * @throws {@link InvalidSnapshotError} naming the first field at fault
 */
export function snapshotFields(snapshot: unknown): SnapshotFields {
  if (snapshot === null || typeof snapshot !== 'object' || Array.isArray(snapshot)) {
    throw new InvalidSnapshotError('snapshot', snapshot, 'an object made by snapshot()')
  }
  const { version, messages, pinned, evictedCount, calibration } = snapshot as Record<string, unknown>
  if (version !== 1) throw new InvalidSnapshotError('version', version, '1')
  if (!Array.isArray(messages)) throw new InvalidSnapshotError('messages', messages, 'an array')
  if (!Array.isArray(pinned)) throw new InvalidSnapshotError('pinned', pinned, 'an array of indexes')
  const set = new Set<number>()
  let previous = -1
  for (const index of pinned as unknown[]) {
    if (!isNonNegativeInteger(index) || index <= previous || index >= messages.length) {
      throw new InvalidSnapshotError('pinned', pinned, `ascending indexes below ${messages.length}`)
    }
    set.add(index)
    previous = index
  }
  if (!isNonNegativeInteger(evictedCount)) throw new InvalidSnapshotError('evictedCount', evictedCount, 'a non-negative integer')
  return { messages: messages.slice(), pinned: set, evictedCount, calibration: calibrationOf(calibration) }
}

// Each field read once, into a plain copy that is checked and kept.
function calibrationOf(calibration: unknown): CalibrationState | undefined {
  if (calibration === undefined) return undefined
  const { correction, readings, margin } = (typeof calibration === 'object' && calibration !== null ? calibration : {}) as Record<string, unknown>
  // A snapshot made before the margin adapted has none: it restores with the smallest.
  const state = { correction, readings, margin }
  const problem = calibrationStateProblem(state)
  if (problem !== undefined) throw new InvalidSnapshotError(`calibration.${problem}`, state[problem], calibrationExpected[problem])
  return state as CalibrationState
}
