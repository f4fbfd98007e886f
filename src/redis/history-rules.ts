import { InvalidMeasurementError, InvalidOptionsError, InvalidSnapshotError } from '../errors.js'

// The rules RedisHistory applies in this process before a script runs, with RingBufferHistory's
// errors: the measures of a message, a window's budget, a snapshot's fields. Twins of the
// history's own (budgetOf, its measure checks, its snapshot validation); once the history's
// shared modules land (src/history/), these go and RedisHistory uses those.

/** Flag bits of a message, as the scripts read them (lua/includes/info.lua). */
export const PINNED = 1
export const STARTS_TURN = 2
const MAX_MEASURE = 0xffff_ffff
/** The default serializer. */
export const jsonSerializer: { serialize(m: unknown): string; deserialize(s: string): unknown } = { serialize: (m) => JSON.stringify(m), deserialize: (s) => JSON.parse(s) as unknown }

/** A message with what was measured of it at push time. */
export interface Measured<T> {
  message: T
  bytes: number
  tokens: number
  flags: number
}

/** Runs a measure and checks its result. */
export function measureWith<T>(fn: (message: T) => number, message: T, name: 'sizeOf' | 'countTokens'): number {
  const value = fn(message)
  if (typeof value !== 'number' || !(value >= 0) || value > MAX_MEASURE) throw new InvalidMeasurementError(name, value)
  return Math.ceil(value)
}

const budgetFields = ['maxMessages', 'maxBytes', 'maxTokens', 'trimTo'] as const

// The window's budget as the script's arguments ('' = no limit), with RingBufferHistory's checks.
export function budgetArgs(budget: unknown): string[] {
  if (budget === undefined) return ['', '', '', '1']
  if (budget === null || typeof budget !== 'object' || Array.isArray(budget)) throw new InvalidOptionsError('budget', budget, 'an object or undefined')
  const record = budget as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!(budgetFields as readonly string[]).includes(key)) {
      throw new InvalidOptionsError(key, record[key], `a known budget field (${budgetFields.join(', ')})`)
    }
  }
  const out: string[] = []
  for (const key of ['maxMessages', 'maxBytes', 'maxTokens'] as const) {
    const value = record[key]
    if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)) {
      throw new InvalidOptionsError(key, value, 'a positive integer')
    }
    out.push(value === undefined ? '' : String(value))
  }
  const trimTo = record.trimTo
  if (trimTo !== undefined && (typeof trimTo !== 'number' || !(trimTo >= 0 && trimTo <= 1))) {
    throw new InvalidOptionsError('trimTo', trimTo, 'a number from 0 to 1')
  }
  out.push(String(trimTo ?? 1))
  return out
}

// RingBufferHistory's checks of a snapshot, with its error.
export function snapshotFields(snapshot: unknown): { messages: unknown[]; pinned: Set<number>; evictedCount: number } {
  if (snapshot === null || typeof snapshot !== 'object' || Array.isArray(snapshot)) {
    throw new InvalidSnapshotError('snapshot', snapshot, 'an object made by snapshot()')
  }
  const { version, messages, pinned, evictedCount } = snapshot as Record<string, unknown>
  if (version !== 1) throw new InvalidSnapshotError('version', version, '1')
  if (!Array.isArray(messages)) throw new InvalidSnapshotError('messages', messages, 'an array')
  if (!Array.isArray(pinned)) throw new InvalidSnapshotError('pinned', pinned, 'an array of indexes')
  const set = new Set<number>()
  let previous = -1
  for (const index of pinned as unknown[]) {
    if (typeof index !== 'number' || !Number.isSafeInteger(index) || index <= previous || index >= messages.length) {
      throw new InvalidSnapshotError('pinned', pinned, `ascending indexes below ${messages.length}`)
    }
    set.add(index)
    previous = index
  }
  if (typeof evictedCount !== 'number' || !Number.isSafeInteger(evictedCount) || evictedCount < 0) {
    throw new InvalidSnapshotError('evictedCount', evictedCount, 'a non-negative integer')
  }
  return { messages, pinned: set, evictedCount }
}

