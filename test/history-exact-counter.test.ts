// With an exact counter plugged in through `countTokens` (gpt-tokenizer's o200k, a devDependency),
// a history never holds more than `maxTokens` by that count, whatever the content.
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import { describe, expect, it } from 'vitest'
import { RingBufferHistory } from '../src/index.js'
import { type CorpusMessage, corpusKinds, corpusMessage, seededRandom } from './fixtures/token-corpus.js'

describe('RingBufferHistory with an exact countTokens', () => {
  it.each([...corpusKinds, undefined])('never exceeds maxTokens by the exact count (%s)', (kind) => {
    const random = seededRandom(0xe8ac7)
    const counts = new WeakMap<CorpusMessage, number>()
    const exact = (m: CorpusMessage): number => {
      let n = counts.get(m)
      if (n === undefined) counts.set(m, (n = countTokens(m.content)))
      return n
    }
    const h = new RingBufferHistory<CorpusMessage>({ maxMessages: 1_000, maxTokens: 3_000, countTokens: exact, trimTo: 0.75 })
    let trimmed = 0
    for (let i = 0; i < 80; i++) {
      const message = corpusMessage(random, kind)
      if (exact(message) > 3_000) continue
      const evicted = h.evictedCount
      h.push(message)
      trimmed += h.evictedCount - evicted
      const total = h.reduce((sum, m) => sum + exact(m), 0)
      expect(total).toBeLessThanOrEqual(3_000)
      expect(h.tokens).toBe(total)
    }
    expect(trimmed).toBeGreaterThan(0)
  })
})
