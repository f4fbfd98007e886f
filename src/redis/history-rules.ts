import { budgetOf } from '../history/budget.js'
import type { MessageLinks } from '../message-format.js'

// The history's rules as RedisHistory applies them in this process before a script runs: one
// definition each, shared with RingBufferHistory (src/history/): the measure check
// (measures.ts), a window's budget (budget.ts), a snapshot's fields (snapshot.ts), the flag bits
// (ring.ts, which the Lua reads in lua/includes/info.lua). This file only turns them into the
// scripts' arguments.

export { checkedMeasure as measureWith } from '../history/measures.js'
export { PINNED, STARTS_TURN } from '../history/ring.js'
export { snapshotFields } from '../history/snapshot.js'

/** A message with what was measured of it at push time. */
export interface Measured<T> {
  message: T
  bytes: number
  tokens: number
  flags: number
  /** What `group` returned, as push-4.lua's links argument (see linksArg). */
  links: string
}

/**
 * A message's links (`group`) as push-4.lua reads them: '' for none, else the JSON
 * `[calls, results, withNext]` with every id as a string (lua/includes/groups.lua keeps them).
 */
export function linksArg(links: MessageLinks | undefined): string {
  if (links === undefined || links === null) return ''
  const ids = (list: readonly string[] | undefined): string[] => (list === undefined || list === null ? [] : Array.from(list, String))
  return JSON.stringify([ids(links.calls), ids(links.results), links.withNext === true])
}

/** The default serializer: JSON. */
export const jsonSerializer: { serialize(m: unknown): string; deserialize(s: string): unknown } = {
  serialize: (m) => JSON.stringify(m),
  deserialize: (s) => JSON.parse(s) as unknown,
}

const limitArg = (limit: number): string => (limit === Infinity ? '' : String(limit))

/** A window's budget, checked by RingBufferHistory's rule, as read-4.lua's ARGV ('' = no limit). */
export function budgetArgs(budget: unknown): [maxMessages: string, maxBytes: string, maxTokens: string, trimTo: string] {
  const b = budgetOf(budget)
  return [limitArg(b.maxMessages), limitArg(b.maxBytes), limitArg(b.maxTokens), String(b.trimTo)]
}
