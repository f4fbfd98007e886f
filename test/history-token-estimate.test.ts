// The word-and-script token estimate (src/history/measures.ts, estimateTextTokens): one ratio to
// the o200k count (gpt-tokenizer, a devDependency) for every kind of text, where characters ÷ 4
// is 0.7× on prose and 2.5× on CJK. Its weights are held to the corpus here.
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import { describe, expect, it } from 'vitest'
import { estimateTextTokens } from '../src/index.js'
import { TOKEN_UNITS, textTokenUnits } from '../src/history/measures.js'
import { corpusKinds, corpusMessage, seededRandom } from './fixtures/token-corpus.js'

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

describe('estimateTextTokens', () => {
  it('counts words, numbers, marks, breaks and scripts by their weights', () => {
    expect(estimateTextTokens('')).toBe(0)
    // 2 words (1 each), 2 marks (0.4 each): 2.8, rounded up.
    expect(estimateTextTokens('Hello, world.')).toBe(3)
    expect(textTokenUnits('Hello, world.')).toBe(2.8 * TOKEN_UNITS)
    // A run of letters beyond its 8th letter: 1/8 more per letter.
    expect(textTokenUnits('abcdefghijklmnop')).toBe(TOKEN_UNITS + 8 * (TOKEN_UNITS / 8))
    // A number: 1.5; a line break with its indentation: 2; a single space: nothing.
    expect(textTokenUnits('2048')).toBe(1.5 * TOKEN_UNITS)
    expect(textTokenUnits('a\n    b')).toBe(4 * TOKEN_UNITS)
    expect(textTokenUnits('a b')).toBe(2 * TOKEN_UNITS)
    // CJK 0.7 per character; an emoji (a surrogate pair) 1.75; a joiner or variation selector 1.5.
    expect(textTokenUnits('会话历史')).toBe(4 * 0.7 * TOKEN_UNITS)
    expect(textTokenUnits('🚀')).toBe(1.75 * TOKEN_UNITS)
    expect(textTokenUnits('❤️')).toBe((0.25 + 1.5) * TOKEN_UNITS)
    // A lone surrogate is one character, and the text after it is still read.
    expect(textTokenUnits('\ud83dabc')).toBe(1.75 * TOKEN_UNITS + TOKEN_UNITS)
  })

  it.each(corpusKinds)('is within 10%% of the o200k count in the median on %s, where characters ÷ 4 is not always', (kind) => {
    const random = seededRandom(0x7e57)
    const ratios: number[] = []
    for (let i = 0; i < 120; i++) {
      const { content } = corpusMessage(random, kind)
      ratios.push(countTokens(content) / estimateTextTokens(content))
    }
    expect(median(ratios)).toBeGreaterThan(0.9)
    expect(median(ratios)).toBeLessThan(1.1)
  })

  it('characters ÷ 4 is off by more than 25% in the median on prose and CJK (why the estimate exists)', () => {
    const random = seededRandom(0x7e57)
    for (const kind of ['prose', 'cjk'] as const) {
      const ratios = Array.from({ length: 60 }, () => {
        const { content } = corpusMessage(random, kind)
        return countTokens(content) / Math.ceil(content.length / 4)
      })
      expect(Math.abs(median(ratios) - 1)).toBeGreaterThan(0.25)
    }
  })
})
