import type { KeyKind } from './data.js'
import type { Settings } from './harness.js'
import type { MemoryVariant } from './suites/memory.js'
import type { RedisPart } from './suites/redis.js'
import type { SoakDesign, SoakSettings } from './suites/soak.js'
import type { SweepCase } from './suites/store-sweep.js'

/** One unit of work for a child process. */
export type Job =
  | { suite: 'append'; capacity: number }
  | { suite: 'append-scaling'; capacities: [number, number, number] }
  | { suite: 'append-hot' }
  | { suite: 'reads'; capacity: number }
  | { suite: 'store'; sessions: number; keys: KeyKind }
  | { suite: 'sweep'; sessions: number; keys: KeyKind; expiry: SweepCase }
  | { suite: 'memory'; variant: MemoryVariant }
  | { suite: 'soak'; design: SoakDesign }
  | { suite: 'cache'; observations: number; budgetChars: number; days: number; sessionsPerDay: number }
  | { suite: 'redis'; part: RedisPart }
  | { suite: 'tokens' }
  | { suite: 'formats'; capacity: number }
  | { suite: 'adapters' }

/** What the parent hands a child on its command line, as JSON. */
export interface ChildInput {
  smoke: boolean
  settings: Settings
  soak: SoakSettings
  jobs: Job[]
}

/** Prefix of the lines by which a child reports its results on stdout. */
export const RESULT_PREFIX = '@@bench-result '
