import type { ModelMessage } from 'ai'
import { ListMirror } from '../adapter-kit/list-mirror.js'
import { InvalidOptionsError } from '../errors.js'
import type { RingBufferHistoryOptions } from '../ring-buffer-history.js'
import { modelMessages } from './format.js'

/**
 * Options of {@link boundedPrepareStep}: the history's budgets, `trimTo` and measures, applied to
 * the messages of every step, plus calibration.
 */
export interface BoundedPrepareStepOptions extends RingBufferHistoryOptions<ModelMessage> {
  /**
   * Learn from each step's reported usage: the input tokens a step reported beyond the adapter's
   * estimate of its messages (the instructions, the tool definitions, the estimate's own error)
   * are set aside from `maxTokens` for the steps after it. The reserve only grows, and the
   * history is re-cut only when it grows by more than 2% of `maxTokens`, so the prefix stays
   * stable. No effect without `maxTokens`.
   *
   * @defaultValue true
   */
  calibrate?: boolean | undefined
}

/** What {@link boundedPrepareStep} reads of a step: the fields of the AI SDK's `prepareStep` argument it uses. */
export interface PrepareStepInput {
  /** The messages the step would send. */
  messages: ModelMessage[]
  /** The messages the call started with (AI SDK 6 and later): tells one call from another. */
  initialMessages?: ModelMessage[] | undefined
  /** The steps so far; the last one's `usage.inputTokens` calibrates. */
  steps: ReadonlyArray<StepUsage>
}

/** What {@link boundedPrepareStep} reads of a finished step. */
export interface StepUsage {
  /** The step's usage, as its provider reported it. */
  readonly usage?: {
    /** The input tokens the provider counted for the step's request. */
    readonly inputTokens?: number | undefined
  } | undefined
}

/** What a {@link BoundedPrepareStep} returns: the step's messages, bounded. */
export interface BoundedStep {
  /** The messages to send instead of the step's own. */
  messages: ModelMessage[]
}

/**
 * A `prepareStep` made by {@link boundedPrepareStep}. It reads only what {@link PrepareStepInput}
 * lists, so it is a `PrepareStepFunction` of any tool set, for `generateText`, `streamText` and
 * agents alike.
 */
export type BoundedPrepareStep = (step: PrepareStepInput) => BoundedStep

const DEFAULT_MAX_MESSAGES = 1_000

interface StepState {
  mirror: ListMirror<ModelMessage>
  reserve: number
  sentTokens: number
}

/**
 * A `prepareStep` for `generateText`, `streamText` and agents (`ToolLoopAgent`) that bounds the
 * messages of every step of a tool loop: the system message and the call's last user message
 * (its request) kept, the oldest other messages trimmed (a tool call never apart from its result),
 * to the budgets you give, and cache-stable with
 * `trimTo` below 1 (between two trims, every step sends the previous step's messages unchanged
 * as its prefix). Each step costs O(its new messages): measures are taken once per message.
 *
 * One function may serve many calls at once: each call (recognised by its `initialMessages`)
 * has its own history, dropped with the call.
 *
 * @example
 * ```ts
 * import { generateText, stepCountIs } from 'ai'
 * import { boundedPrepareStep } from 'bounded-session/ai-sdk'
 *
 * const result = await generateText({
 *   model, tools, messages, stopWhen: stepCountIs(200),
 *   prepareStep: boundedPrepareStep({ maxTokens: 100_000, trimTo: 0.5 }),
 * })
 * ```
 * @throws {@link InvalidOptionsError} when an option is invalid or unknown
 */
export function boundedPrepareStep(options: BoundedPrepareStepOptions = {}): BoundedPrepareStep {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', options, 'an object or undefined')
  const { calibrate = true, ...rest } = options
  if (typeof calibrate !== 'boolean') throw new InvalidOptionsError('calibrate', calibrate, 'a boolean')
  const historyOptions: RingBufferHistoryOptions<ModelMessage> = {
    maxMessages: DEFAULT_MAX_MESSAGES,
    format: modelMessages,
    maxPinned: 2,
    ...rest,
  }
  // Each call pins its system message and the last user message it started with (the request the
  // tool loop works on), so a trimmed window still starts, after the system message, with a user
  // message: what Anthropic and Gemini require.
  const optionsFor = (initial: readonly ModelMessage[] | undefined): RingBufferHistoryOptions<ModelMessage> => {
    if (rest.pin !== undefined) return historyOptions
    let request: ModelMessage | undefined
    for (let i = (initial?.length ?? 0) - 1; i >= 0 && request === undefined; i--) {
      if ((initial?.[i] as { role?: unknown }).role === 'user') request = initial?.[i]
    }
    const isSystem = modelMessages.pin as (m: ModelMessage) => boolean
    return { ...historyOptions, pin: (m) => m === request || isSystem(m) }
  }
  const maxTokens = historyOptions.maxTokens
  // Checks the options now, so a typo fails where the function is made rather than at the first step.
  new ListMirror(optionsFor(undefined))
  const calls = new WeakMap<object, StepState>()
  // AI SDK 5 passes no `initialMessages`: its calls then share one history (one call at a time).
  const shared = {}

  return ({ messages, initialMessages, steps }) => {
    const key: object = typeof initialMessages === 'object' && initialMessages !== null ? initialMessages : shared
    let state = calls.get(key)
    if (state === undefined) {
      state = { mirror: new ListMirror(optionsFor(initialMessages ?? messages)), reserve: 0, sentTokens: 0 }
      calls.set(key, state)
    }
    const inputTokens = steps.at(-1)?.usage?.inputTokens
    if (calibrate && maxTokens !== undefined && typeof inputTokens === 'number' && state.sentTokens > 0) {
      const extra = inputTokens - state.sentTokens
      if (extra > state.reserve + maxTokens * 0.02) {
        state.reserve = Math.min(extra, maxTokens - 1)
        state.mirror.rebuild({ ...state.mirror.options, maxTokens: maxTokens - state.reserve })
      }
    }
    const window = state.mirror.sync(messages)
    state.sentTokens = state.mirror.history.tokens
    return { messages: window }
  }
}
