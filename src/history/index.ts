// The history: RingBufferHistory and what it is made of. The package root re-exports the public
// part (src/index.ts); bounded-session/redis imports the shared rules from the modules named in
// their headers (measures, budget, snapshot, options' types).
export { RingBufferHistory } from './ring-buffer-history.js'
export { defaultCountTokens, defaultSizeOf, estimateTextTokens } from './measures.js'
export type { RingBufferHistoryOptions } from './options.js'
export type {
  HistoryBudget,
  HistoryCheckpoint,
  HistoryMeasure,
  HistorySnapshot,
  ShrinkMessage,
  TrimReason,
  TrimSummary,
} from './types.js'
export type { HistoryView } from './view.js'
