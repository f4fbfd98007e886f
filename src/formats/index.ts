// The public surface of `bounded-session/formats`: a MessageFormat for each common SDK's message
// type. The package root never imports this file, and these files import the SDKs for their
// types only, so a user installs no SDK it does not use.
export { anthropic } from './anthropic.js'
export { anthropicCacheBreakpoints } from './anthropic-cache.js'
export type { AnthropicCacheOptions } from './anthropic-cache.js'
export { openaiChat } from './openai-chat.js'
export { openaiResponses } from './openai-responses.js'
export { aiSdk } from './ai-sdk.js'
export { gemini } from './gemini.js'
export { langchain } from './langchain.js'
export type { FormatProblemCode, KnownFormatProblem } from './problems.js'
export type { FormatProblem, GroupRule, MessageFormat, MessageLinks } from '../message-format.js'
export type { HistoryMeasure, ShrinkMessage } from '../ring-buffer-history.js'
export { InvalidArgumentError, InvalidMessageError } from '../errors.js'
