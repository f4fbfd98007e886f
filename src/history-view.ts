// Moved to src/history/view.ts; kept so that existing imports of this path go on working.
export type { HistoryView } from './history/view.js'
