// The Markdown side of the docs' snippet check (test/package/snippets.mjs, `npm run
// test:snippets`): which blocks are type-checked, and that a type error is named by the Markdown
// file and line, so that whoever breaks a snippet finds it.
import { describe, expect, it } from 'vitest'
// @ts-expect-error: a plain .mjs script with no declarations; its exports are typed where used
import * as blocks from './package/snippet-blocks.mjs'

interface Block { info: string; body: string; line: number }
interface Snippet { doc: string; line: number; name: string; body: string }
const { blocksOf, snippetsOf, moduleOf, toMarkdownPositions } = blocks as {
  blocksOf(text: string): Block[]
  snippetsOf(doc: string, blocks: Block[]): Snippet[]
  moduleOf(snippet: Snippet): string
  toMarkdownPositions(output: string, snippets: Snippet[]): string
}

const markdown = [
  '# Title', //                 1
  '', //                        2
  '```ts', //                   3
  "import { x } from 'y'", //   4
  'x()', //                     5
  '```', //                     6
  '', //                        7
  '```sh', //                   8
  'npm test', //                9
  '```', //                     10
  '', //                        11
  '```ts nocheck', //           12
  'fragment(', //               13
  '```', //                     14
  '', //                        15
  '````typescript', //          16
  '```ts', //                   17
  'const inner = 1', //         18
  '```', //                     19
  '````', //                    20
].join('\n')

describe('docs snippet check: blocks', () => {
  it('checks ```ts and ```typescript blocks, not other languages, and not ```ts nocheck', () => {
    const snippets = snippetsOf('docs/x.md', blocksOf(markdown))
    expect(snippets.map((s) => s.line)).toEqual([4, 17])
    expect(snippets[0]?.body).toBe("import { x } from 'y'\nx()")
    expect(snippets[1]?.body).toBe('```ts\nconst inner = 1\n```') // a longer fence holds a shorter one
  })

  it('names each file after its document and line, and keeps its line numbers', () => {
    const [first] = snippetsOf('docs/x.md', blocksOf(markdown))
    expect(first?.name).toBe('docs_x_md_L4.ts')
    expect(moduleOf(first!).split('\n').slice(0, 2)).toEqual(["import { x } from 'y'", 'x()'])
    expect(moduleOf(first!)).toMatch(/\nexport \{\}\n$/)
  })

  it('an unclosed fence is an error that names its line', () => {
    expect(() => blocksOf('text\n```ts\nconst a = 1\n')).toThrow(/unclosed code fence opened at line 2/)
  })
})

describe('docs snippet check: errors name the Markdown file and line', () => {
  it('maps tsc positions back to the document', () => {
    const snippets = snippetsOf('README.md', blocksOf(markdown))
    const output = [
      "snippets/README_md_L4.ts(2,1): error TS2349: This expression is not callable.",
      "snippets/README_md_L17.ts(1,7): error TS2322: Type 'number' is not assignable to type 'string'.",
      '  a continuation line stays as it is',
    ].join('\n')
    expect(toMarkdownPositions(output, snippets).split('\n')).toEqual([
      'README.md:5:1 error TS2349: This expression is not callable.',
      "README.md:17:7 error TS2322: Type 'number' is not assignable to type 'string'.",
      '  a continuation line stays as it is',
    ])
  })
})
