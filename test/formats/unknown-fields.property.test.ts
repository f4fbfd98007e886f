// The formats read the parts of their SDK's shape field by field (src/formats/read.ts), and hand
// any other part to the walk: a field no SDK type has, added anywhere in a message, is still
// counted (its bytes always; its characters as text, unless it sits inside media), and links
// come out the same. Random conversations of every format, one field added at a random object.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type MessageFormat, aiSdk, anthropic, gemini, langchain, openaiChat, openaiResponses } from 'bounded-session/formats'
import { assertProperty } from '../helpers/property.js'
import { build, planArb } from './conversations.js'

const formats = { anthropic, openaiChat, openaiResponses, aiSdk, gemini, langchain } as unknown as Record<keyof typeof build, MessageFormat<unknown>>
const NOTE = 'n'.repeat(400)

// The plain objects below `root` (arrays' elements included), `root` itself when it is plain.
function plainObjects(root: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (typeof root !== 'object' || root === null) return out
  if (Array.isArray(root)) for (const item of root) plainObjects(item, out)
  else if (Object.getPrototypeOf(root) === Object.prototype) {
    out.push(root as Record<string, unknown>)
    for (const value of Object.values(root)) plainObjects(value, out)
  } else {
    // A LangChain message: what the format reads of it are its public fields.
    for (const key of ['content', 'tool_calls']) plainObjects((root as Record<string, unknown>)[key], out)
  }
  return out
}

describe.each(Object.keys(build) as (keyof typeof build)[])('%s', (name) => {
  const format = formats[name]

  it('counts a field it does not know, wherever it is added, and finds the same links', () => {
    assertProperty(
      fc.property(planArb, fc.nat(), fc.nat(), (plan, pickMessage, pickObject) => {
        const messages = build[name](plan)
        const message = messages[pickMessage % messages.length]
        const targets = plainObjects(message)
        fc.pre(targets.length > 0)
        const bytes = format.sizeOf(message)
        const tokens = format.countTokens(message)
        const links = format.group(message)
        const target = targets[pickObject % targets.length] as Record<string, unknown>
        target.note = NOTE
        try {
          expect(format.sizeOf(message)).toBeGreaterThanOrEqual(bytes + 2 * NOTE.length)
          expect(format.countTokens(message)).toBeGreaterThanOrEqual(tokens)
          if (target === message) expect(format.countTokens(message)).toBeGreaterThanOrEqual(tokens + NOTE.length / 4)
          expect(format.group(message)).toEqual(links)
        } finally {
          delete target.note
        }
      }),
      { numRuns: 100 },
    )
  })
})
