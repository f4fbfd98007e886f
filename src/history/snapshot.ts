import { InvalidSnapshotError } from '../errors.js'
import { isNonNegativeInteger } from '../validate.js'

// What a snapshot must hold, checked once. One definition, used by RingBufferHistory.restore and
// by bounded-session/redis (src/redis/ imports this module).

/** A snapshot's fields, checked: a copy of the messages, the pinned indexes as a set. */
export interface SnapshotFields {
  messages: unknown[]
  pinned: Set<number>
  evictedCount: number
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
  const { version, messages, pinned, evictedCount } = snapshot as Record<string, unknown>
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
  return { messages: messages.slice(), pinned: set, evictedCount }
}
