// Property tests of the formats on random conversations (text, images, reasoning, parallel tool
// calls, results in one or several messages), against a simple reference of what a history may
// keep: every cut that starts on `startOn` and splits no group (by `group`), with the pinned
// messages before it. If every such window passes `check`, a history that trims by these rules
// keeps its windows valid.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type MessageFormat, aiSdk, anthropic, gemini, langchain, openaiChat, openaiResponses } from 'bounded-session/formats'
import { assertProperty } from '../helpers/property.js'
import { build, independentTokens, planArb } from './conversations.js'
import { measureWith } from './helpers.js'

const formats = { anthropic, openaiChat, openaiResponses, aiSdk, gemini, langchain } as unknown as Record<keyof typeof build, MessageFormat<unknown>>
/** The starts a history may cut at: `startOn` there, and no group split by the cut. */
function allowedCuts(format: MessageFormat<unknown>, messages: unknown[]): number[] {
  const links = messages.map((m) => format.group(m))
  const cuts: number[] = []
  for (let s = 1; s < messages.length; s++) {
    if (format.startOn !== undefined && !format.startOn(messages[s])) continue
    if (format.pin?.(messages[s])) continue
    if (links[s - 1]?.withNext) continue
    const called = new Set<string>()
    let splits = false
    for (let j = s; j < messages.length && !splits; j++) {
      for (const id of links[j]?.results ?? []) if (!called.has(id)) splits = true
      for (const id of links[j]?.calls ?? []) called.add(id)
    }
    if (!splits) cuts.push(s)
  }
  return cuts
}

describe.each(Object.keys(build) as (keyof typeof build)[])('%s on random conversations', (name) => {
  const format = formats[name]
  const messagesOf = (plan: Parameters<(typeof build)[typeof name]>[0]) => build[name](plan)

  it('checks every prefix as valid (the newest group in flight) and never undercounts a message', () => {
    assertProperty(
      fc.property(planArb, (plan) => {
        const messages = messagesOf(plan)
        for (let n = 1; n <= messages.length; n++) expect(format.check(messages.slice(0, n))).toEqual([])
        for (const m of messages) expect(format.countTokens(m)).toBeGreaterThanOrEqual(independentTokens(m))
      }),
      { numRuns: 60 },
    )
  })

  it('keeps every window valid that starts on startOn without splitting a group, pinned messages kept', () => {
    assertProperty(
      fc.property(planArb, (plan) => {
        const messages = messagesOf(plan)
        for (const s of allowedCuts(format, messages)) {
          const pinned = messages.slice(0, s).filter((m) => format.pin?.(m) === true)
          for (let end = s + 1; end <= messages.length; end++) expect(format.check([...pinned, ...messages.slice(s, end)])).toEqual([])
        }
      }),
      { numRuns: 40 },
    )
  })

  it('reports a problem for a cut that splits a call from its results', () => {
    assertProperty(
      fc.property(planArb, (plan) => {
        const messages = messagesOf(plan)
        const links = messages.map((m) => format.group(m))
        // The first message that answers an earlier call (Gemini: the turn after a turn of calls):
        // a window that starts there orphans it.
        const at = links.findIndex((l, i) => i > 0 && ((l?.results?.length ?? 0) > 0 || (name === 'gemini' && links[i - 1]?.withNext === true)))
        fc.pre(at > 0)
        expect(format.check(messages.slice(at)).map((p) => p.code)).toContain('ORPHAN_RESULT')
      }),
      { numRuns: 30 },
    )
  })

  it('shrinks any message to any room it can fit, keeping the conversation valid', () => {
    assertProperty(
      fc.property(planArb, fc.nat(), fc.integer({ min: 1, max: 400 }), (plan, pick, tokens) => {
        const messages = messagesOf(plan)
        const i = pick % messages.length
        const original = messages[i]
        const shrunk = format.shrink(original, { bytes: Number.MAX_SAFE_INTEGER, tokens }, measureWith(format))
        const after = [...messages.slice(0, i), shrunk, ...messages.slice(i + 1)]
        expect(format.check(after)).toEqual([])
        expect(format.group(shrunk)).toEqual(format.group(original))
        // It fits the room, or it could not be made to and comes back as it was.
        if (shrunk !== original) expect(format.countTokens(shrunk)).toBeLessThanOrEqual(tokens)
        if (format.countTokens(original) <= tokens) expect(shrunk).toBe(original)
      }),
      { numRuns: 60 },
    )
  })
})
