// The public surface of `bounded-session/ai-sdk`. The package root never imports this file, so a
// host that does not use the AI SDK installs nothing for it.
export { boundedPrepareStep } from './bounded-prepare-step.js'
export type { BoundedPrepareStep, BoundedPrepareStepOptions, BoundedStep, PrepareStepInput, StepUsage } from './bounded-prepare-step.js'
export { ModelMessageHistory } from './model-message-history.js'
export { modelMessages } from './format.js'
export type { FormatProblem, GroupRule, MessageFormat, MessageLinks } from '../message-format.js'
export type { HistoryBudget, HistoryMeasure, HistorySnapshot, RingBufferHistoryOptions, ShrinkMessage, TrimReason, TrimSummary } from '../ring-buffer-history.js'
export { RingBufferHistory, defaultCountTokens, defaultSizeOf } from '../ring-buffer-history.js'
export type { HistoryCheckpoint } from '../ring-buffer-history.js'
export type { HistoryView } from '../history-view.js'
export { truncateContent } from '../truncate-content.js'
export type { ContentMessage } from '../truncate-content.js'
export {
  InvalidArgumentError,
  InvalidCheckpointError,
  InvalidMeasurementError,
  InvalidOptionsError,
  InvalidSnapshotError,
  MessageTooLargeError,
  OrphanResultError,
  TrimCallbackError,
} from '../errors.js'
