import type { ContentBlockParam, MessageParam } from '@anthropic-ai/sdk/resources/messages'
import { InvalidArgumentError } from '../errors.js'
import { peek } from './problems.js'

/** Options of {@link anthropicCacheBreakpoints}. Every field is optional. */
export interface AnthropicCacheOptions {
  /**
   * The cache entry's time to live: `'5m'` (writes bill 1.25× input) or `'1h'` (2×).
   *
   * @defaultValue `'5m'` (the field is left out, which the API reads as 5 minutes)
   */
  ttl?: '5m' | '1h' | undefined
  /**
   * How many breakpoints to place, from 1 to 4. Anthropic takes at most 4 per request, those on
   * `system` and `tools` included: give 4 minus the ones you place there.
   *
   * @defaultValue 4
   */
  maxBreakpoints?: number | undefined
  /**
   * How many blocks before a breakpoint the API looks for an earlier cache entry: breakpoints
   * are placed at most this far apart, so each finds the entry the one before it wrote.
   *
   * @defaultValue 20 (Anthropic's documented lookback)
   */
  lookbackBlocks?: number | undefined
}

// Thinking blocks cannot carry `cache_control`, nor can empty text.
function markable(block: unknown): boolean {
  const type = peek(block, 'type')
  if (type === 'thinking' || type === 'redacted_thinking') return false
  return !(type === 'text' && peek(block, 'text') === '')
}

function positiveInteger(argument: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidArgumentError(argument, value, `an integer from 1 to ${max}`)
  }
  return value
}

/**
 * Places Anthropic prompt-cache breakpoints (`cache_control`) on a window of messages, such as
 * `history.window(...)`, and returns new messages: the ones given are never changed (a marked
 * message and its content array are copies; other messages are the same objects).
 *
 * The last breakpoint goes on the last block of the newest message (a string `content` becomes
 * one text block), so the whole prompt is written to the cache; the others go back from it at
 * most `lookbackBlocks` apart, so that the next request, which adds blocks, still finds the
 * entry this one wrote within the API's lookback. Thinking blocks and empty text are skipped
 * (they cannot carry a mark). Marks already on the messages' blocks are removed, so the request
 * has at most `maxBreakpoints` in its messages. A prefix shorter than the model's minimum
 * (512 to 4,096 tokens) is not cached, silently, by the API.
 *
 * @param messages - the messages to send, oldest first
 * @param options - see {@link AnthropicCacheOptions}
 * @returns the messages with breakpoints placed
 * @throws {@link InvalidArgumentError} when `messages` is not an array or an option is out of range
 * @example
 * ```ts
 * import { anthropicCacheBreakpoints } from 'bounded-session/formats'
 *
 * const messages = anthropicCacheBreakpoints(history.window({ maxTokens: 150_000, trimTo: 0.5 }), { ttl: '1h' })
 * await client.messages.create({ model, max_tokens: 1024, system, messages })
 * ```
 */
export function anthropicCacheBreakpoints(messages: readonly MessageParam[], options: AnthropicCacheOptions = {}): MessageParam[] {
  if (!Array.isArray(messages)) throw new InvalidArgumentError('messages', messages, 'an array of messages')
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', options, 'an object')
  const max = positiveInteger('maxBreakpoints', options.maxBreakpoints, 4, 4)
  const lookback = positiveInteger('lookbackBlocks', options.lookbackBlocks, 20, Number.MAX_SAFE_INTEGER)
  const ttl = options.ttl
  if (ttl !== undefined && ttl !== '5m' && ttl !== '1h') throw new InvalidArgumentError('ttl', ttl, "'5m' or '1h'")

  // Every block in order, as [message index, block index]; a string content is block -1.
  const positions: [number, number][] = []
  const blocksOf = messages.map((message, m) => {
    const content = peek(message, 'content')
    if (typeof content === 'string') {
      if (content !== '') positions.push([m, -1])
      return undefined
    }
    const blocks = Array.isArray(content) ? (content as unknown[]) : []
    blocks.forEach((block, b) => positions.push([m, markable(block) ? b : -2 - b]))
    return blocks
  })
  const isMarkable = (p: number): boolean => (positions[p]?.[1] ?? -2) >= -1
  const marks = new Set<number>()
  let at = positions.length - 1
  while (at >= 0 && !isMarkable(at)) at--
  while (at >= 0 && marks.size < max) {
    marks.add(at)
    const previous = at
    if (previous - lookback <= 0) break
    // The earliest markable block within the lookback of the mark just placed.
    at = previous - lookback
    while (at < previous && !isMarkable(at)) at++
    if (at === previous) break
  }

  const marked = new Map<number, Set<number>>()
  for (const p of marks) {
    const [m, b] = positions[p] as [number, number]
    let set = marked.get(m)
    if (set === undefined) marked.set(m, (set = new Set()))
    set.add(b)
  }
  const control = ttl === undefined ? { type: 'ephemeral' as const } : { type: 'ephemeral' as const, ttl }
  return messages.map((message, m) => {
    const targets = marked.get(m)
    const blocks = blocksOf[m]
    if (targets?.has(-1)) {
      const text = peek(message, 'content') as string
      return { ...message, content: [{ type: 'text', text, cache_control: control }] } as MessageParam
    }
    const stale = blocks?.some((block) => peek(block, 'cache_control') != null) ?? false
    if (targets === undefined && !stale) return message
    const content = (blocks ?? []).map((block, b) => {
      if (targets?.has(b)) return { ...(block as object), cache_control: control }
      if (peek(block, 'cache_control') == null) return block
      const { cache_control: _dropped, ...rest } = block as { cache_control?: unknown }
      return rest
    })
    return { ...message, content: content as ContentBlockParam[] } as MessageParam
  })
}
