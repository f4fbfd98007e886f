import { describe, expect, it } from 'vitest'
import { RingBufferHistory } from 'bounded-session'
import { type MessageFormat, aiSdk, anthropic, gemini, langchain, openaiChat, openaiResponses } from 'bounded-session/formats'

// Every format, as a format of unknown messages: the bad input below is no SDK's type.
const formats = [anthropic, openaiChat, openaiResponses, aiSdk, gemini, langchain] as unknown as MessageFormat<unknown>[]

const good: Record<string, unknown> = {
  anthropic: { role: 'user', content: 'hi' },
  openaiChat: { role: 'user', content: 'hi' },
  openaiResponses: { role: 'user', content: 'hi' },
  aiSdk: { role: 'user', content: 'hi' },
  gemini: { role: 'user', parts: [{ text: 'hi' }] },
  langchain: { type: 'human', content: 'hi' },
}

function throwingGetter(message: unknown, key: string): unknown {
  const copy = { ...(message as object) }
  Object.defineProperty(copy, key, {
    enumerable: true,
    get() {
      throw new Error('getter')
    },
  })
  return copy
}

function cyclic(message: unknown): unknown {
  const copy = structuredClone(message) as Record<string, unknown>
  const inner = { type: 'text', text: 'loop' } as Record<string, unknown>
  inner.self = inner
  if (Array.isArray(copy.parts)) copy.parts = [inner]
  else copy.content = [inner]
  return copy
}

function deep(message: unknown): unknown {
  let nested: Record<string, unknown> = { text: 'bottom' }
  for (let i = 0; i < 300; i++) nested = { type: 'text', text: 't', nested }
  const copy = structuredClone(message) as Record<string, unknown>
  if (Array.isArray(copy.parts)) copy.parts = [nested]
  else copy.content = [nested]
  return copy
}

describe.each(formats.map((f) => [f.name, f] as const))('%s with bad input', (name, format) => {
  const ok = good[name]

  it('measures a good message above 0', () => {
    expect(format.countTokens(ok)).toBeGreaterThan(0)
    expect(format.sizeOf(ok)).toBeGreaterThan(0)
  })

  it.each([
    ['not an object', 'hello'],
    ['null', null],
    ['no role or type', { content: 'hi' }],
    ['content of the wrong type', { ...(ok as object), content: 42, parts: 42 }],
  ])('throws ERR_INVALID_MESSAGE for a message that is %s, never a silent 0', (_, message) => {
    expect(() => format.countTokens(message)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_MESSAGE', format: name }))
    expect(() => format.sizeOf(message)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_MESSAGE' }))
    expect(format.check([message]).map((p) => p.code)).toContain('INVALID_MESSAGE')
  })

  it('throws ERR_INVALID_MESSAGE for a cycle, deep nesting and a throwing getter (with its cause)', () => {
    expect(() => format.countTokens(cyclic(ok))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_MESSAGE', message: expect.stringContaining('cycles') }))
    expect(() => format.countTokens(deep(ok))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_MESSAGE', message: expect.stringContaining('256') }))
    const key = name === 'gemini' ? 'parts' : 'content'
    const error = (() => {
      try {
        format.countTokens(throwingGetter(ok, key))
      } catch (e) {
        return e as Error & { code?: string }
      }
      return undefined
    })()
    expect(error?.code).toBe('ERR_INVALID_MESSAGE')
    expect((error?.cause as Error | undefined)?.message).toBe('getter')
    expect(format.check([throwingGetter(ok, key)]).map((p) => p.code)).toEqual(['INVALID_MESSAGE'])
  })

  it('leaves a history unchanged when a push of such a message throws', () => {
    const history = new RingBufferHistory<unknown>({ sizeOf: format.sizeOf, countTokens: format.countTokens, maxTokens: 1_000 })
    history.push(ok)
    expect(() => history.push(ok, { nonsense: true })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_MESSAGE' }))
    expect(history.toArray()).toEqual([ok])
  })
})
