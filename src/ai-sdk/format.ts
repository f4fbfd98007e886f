import type { ModelMessage } from 'ai'
import { aiSdk } from '../formats/ai-sdk.js'
import type { MessageFormat } from '../message-format.js'

/** A window may start at a user or an assistant message: never at tool results (their calls would be missing). */
const startsTurn = (message: ModelMessage): boolean => {
  const role = (message as { role?: unknown }).role
  return role === 'user' || role === 'assistant'
}

/**
 * The format this adapter holds `ModelMessage`s by: the `aiSdk` format of `bounded-session/formats`
 * (its measures, groups, pins, shrink and check), except that trimming may stop at an assistant
 * message as well as a user message, so that a long tool loop under one user message is trimmed
 * step by step instead of down to its newest message. The adapter keeps a user message before
 * such a window (see {@link boundedPrepareStep}), so the provider's first-message rule holds.
 */
export const modelMessages: MessageFormat<ModelMessage> = { ...aiSdk, startOn: startsTurn }
