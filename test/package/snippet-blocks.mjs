// The Markdown side of test/package/snippets.mjs, apart so that test/snippet-blocks.test.ts can
// check it without packing anything: which blocks are checked, what file each becomes, and how a
// tsc error in that file is named by its Markdown file and line.

/** Every fenced block of a Markdown text: its info string, its body and the (1-based) line its body starts on. */
export function blocksOf(text) {
  const blocks = []
  let open = null
  text.split('\n').forEach((line, i) => {
    const fence = /^\s*(`{3,}|~{3,})(.*)$/.exec(line)
    if (open === null) {
      if (fence) open = { marker: fence[1], info: fence[2].trim(), body: [], line: i + 2 }
    } else if (fence && fence[1][0] === open.marker[0] && fence[1].length >= open.marker.length && fence[2].trim() === '') {
      blocks.push({ info: open.info, body: open.body.join('\n'), line: open.line })
      open = null
    } else open.body.push(line)
  })
  if (open !== null) throw new Error(`unclosed code fence opened at line ${open.line - 1}`)
  return blocks
}

/** A ```ts or ```typescript block. */
export const isTypeScript = (block) => /^(ts|typescript)$/.test(block.info.split(/\s+/)[0] ?? '')

/** A block whose fence says `nocheck` (```ts nocheck): a fragment left out of the check. */
export const isNoCheck = (block) => block.info.split(/\s+/).slice(1).includes('nocheck')

/** The checked blocks of one document, each with the file name it is written to. */
export function snippetsOf(doc, blocks) {
  return blocks
    .filter((b) => isTypeScript(b) && !isNoCheck(b))
    .map((b) => ({ doc, line: b.line, name: `${doc.replace(/[^A-Za-z0-9]+/g, '_')}_L${b.line}.ts`, body: b.body }))
}

/** The file a snippet is written to: its body as is (same line numbers), then `export {}` so it is a module. */
export const moduleOf = (snippet) => `${snippet.body}\nexport {}\n`

/** tsc's `snippets/README_md_L57.ts(3,7): error …` becomes `README.md:59:7 error …`. */
export function toMarkdownPositions(output, snippets) {
  const byName = new Map(snippets.map((s) => [s.name, s]))
  return output.replace(/^snippets\/([^()\s]+)\((\d+),(\d+)\): /gm, (whole, name, line, col) => {
    const s = byName.get(name)
    return s ? `${s.doc}:${s.line + Number(line) - 1}:${col} ` : whole
  })
}
