// Issue item 2: reading a full history, as the Gemini and OpenRouter providers do on every model
// call, against the plain array it replaces.
import { type Variant, type Settings, type SpeedResult, compare, sink } from '../harness.js'
import { type Message, messagePool, prng } from '../data.js'
import { lib } from '../library.js'

const { RingBufferHistory } = lib
const OPS = 1000

/**
 * The copy-trimming helper the worker shipped (OpenRouter `truncateHistory`): walk back from the
 * newest message with `unshift`, keeping at most 20 messages and 100,000 estimated tokens.
 */
function truncateHistory(history: Message[]): Message[] {
  const MAX_MESSAGES = 20
  const MAX_TOKENS = 100_000
  if (history.length <= MAX_MESSAGES) {
    const totalTokens = history.reduce((s, m) => s + Math.ceil(m.content.length / 4), 0)
    if (totalTokens <= MAX_TOKENS) return history
  }
  const truncated: Message[] = []
  let tokenCount = 0
  for (let i = history.length - 1; i >= 0; i--) {
    const msg = history[i] as Message
    const t = Math.ceil(msg.content.length / 4)
    if (truncated.length >= MAX_MESSAGES || tokenCount + t > MAX_TOKENS) break
    truncated.unshift(msg)
    tokenCount += t
  }
  return truncated
}

export function readsSuite(capacity: number, smoke: boolean, settings: Settings): SpeedResult[] {
  const rand = prng(0x5eed_0002)
  const pool = messagePool(capacity * 2, rand, smoke ? 0.01 : 1)
  const history = new RingBufferHistory<Message>({ maxMessages: capacity })
  // Past capacity, so that the ring has wrapped (its oldest message is not in slot 0).
  for (let i = 0; i < capacity + Math.floor(capacity / 3); i++) history.push(pool[i] as Message)
  const array = history.toArray()
  if (array.length !== capacity) throw new Error('reads: history not full')

  const copy: Variant[] = [
    {
      name: 'RingBufferHistory toArray()',
      run() {
        const h = history
        let n = 0
        for (let k = 0; k < OPS; k++) n += h.toArray().length
        sink.value = n
      },
    },
    {
      name: 'Array slice()',
      run() {
        const a = array
        let n = 0
        for (let k = 0; k < OPS; k++) n += a.slice().length
        sink.value = n
      },
    },
  ]
  const mapLight: Variant[] = [
    {
      name: 'RingBufferHistory map(m => m.content)',
      run() {
        const h = history
        let n = 0
        for (let k = 0; k < OPS; k++) n += h.map((m) => m.content).length
        sink.value = n
      },
    },
    {
      name: 'Array map(m => m.content)',
      run() {
        const a = array
        let n = 0
        for (let k = 0; k < OPS; k++) n += a.map((m) => m.content).length
        sink.value = n
      },
    },
  ]
  const mapGemini: Variant[] = [
    {
      name: 'RingBufferHistory map(to Gemini format)',
      run() {
        const h = history
        let n = 0
        for (let k = 0; k < OPS; k++) {
          n += h.map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] })).length
        }
        sink.value = n
      },
    },
    {
      name: 'Array map(to Gemini format)',
      run() {
        const a = array
        let n = 0
        for (let k = 0; k < OPS; k++) {
          n += a.map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] })).length
        }
        sink.value = n
      },
    },
  ]
  const window: Variant[] = [
    {
      name: 'RingBufferHistory window({ maxMessages: 20, maxTokens: 100_000 })',
      run() {
        const h = history
        let n = 0
        for (let k = 0; k < OPS; k++) n += h.window({ maxMessages: 20, maxTokens: 100_000 }).length
        sink.value = n
      },
    },
    {
      name: 'old copy-trimming loop (unshift)',
      run() {
        const a = array
        let n = 0
        for (let k = 0; k < OPS; k++) n += truncateHistory(a).length
        sink.value = n
      },
    },
  ]
  // Two of the readers added for array habits: a full scan each (the message looked for is the
  // newest one, or none matches).
  const newest = array[array.length - 1] as Message
  const search: Variant[] = [
    {
      name: 'RingBufferHistory includes(newest) + findLast(none)',
      run() {
        const h = history
        let n = 0
        for (let k = 0; k < OPS; k++) {
          if (h.includes(newest)) n++
          if (h.findLast((m) => m.content.length === 0) === undefined) n++
        }
        sink.value = n
      },
    },
    {
      name: 'Array includes(newest) + findLast(none)',
      run() {
        const a = array
        let n = 0
        for (let k = 0; k < OPS; k++) {
          if (a.includes(newest)) n++
          if (a.findLast((m) => m.content.length === 0) === undefined) n++
        }
        sink.value = n
      },
    },
  ]
  // Same answer from both, or the comparison means nothing.
  const expected = truncateHistory(array)
  const got = history.window({ maxMessages: 20, maxTokens: 100_000 })
  if (got.length !== expected.length || got.some((m, i) => m !== expected[i])) throw new Error('reads: window differs from the old loop')

  return [
    compare(`reads-copy-${capacity}`, `toArray() vs slice(), ${capacity} messages`, OPS, copy, settings),
    compare(`reads-map-${capacity}`, `map (light) vs Array map, ${capacity} messages`, OPS, mapLight, settings),
    compare(`reads-gemini-${capacity}`, `map (to Gemini format) vs Array map, ${capacity} messages`, OPS, mapGemini, settings),
    compare(`reads-window-${capacity}`, `window() vs old copy-trimming loop, ${capacity} messages`, OPS, window, settings),
    compare(`reads-search-${capacity}`, `includes + findLast vs Array, ${capacity} messages`, OPS, search, settings),
  ]
}
