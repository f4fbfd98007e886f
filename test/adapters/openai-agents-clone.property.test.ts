// The copy BoundedSession makes of every item it hands out or takes in (src/openai-agents/clone.ts)
// against structuredClone, the copy the SDK's MemorySession makes: on random JSON-shaped items and
// on random values that are not JSON-shaped (typed arrays, Dates, Maps, class instances, holes,
// cycles, …), the copy equals structuredClone's and shares no object with the input.
import { deepStrictEqual } from 'node:assert/strict'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cloneItem } from '../../src/openai-agents/clone.js'
import { assertProperty } from '../helpers/property.js'

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

// Every object reachable from `value`, typed arrays' buffers included.
function objectsOf(value: unknown, into = new Set<object>()): Set<object> {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null || into.has(value)) return into
  into.add(value)
  if (ArrayBuffer.isView(value)) into.add(value.buffer)
  if (value instanceof Map) {
    for (const [k, v] of value) {
      objectsOf(k, into)
      objectsOf(v, into)
    }
  } else if (value instanceof Set) {
    for (const v of value) objectsOf(v, into)
  } else if (!ArrayBuffer.isView(value)) {
    for (const key of Object.keys(value)) objectsOf((value as Record<string, unknown>)[key], into)
  }
  return into
}

function expectSameAsStructuredClone(value: unknown): void {
  let expected: { value: unknown } | { error: string }
  try {
    expected = { value: structuredClone(value) }
  } catch (error) {
    expected = { error: (error as Error).name }
  }
  let actual: { value: unknown } | { error: string }
  try {
    actual = { value: cloneItem(value) }
  } catch (error) {
    actual = { error: (error as Error).name }
  }
  // node:assert rather than toStrictEqual, which takes a `constructor` field for the object's type.
  deepStrictEqual(actual, expected)
  if ('value' in actual) {
    const input = objectsOf(value)
    for (const o of objectsOf(actual.value)) expect(input.has(o)).toBe(false)
  }
}

const primitive = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt(),
)
const key = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('type', 'role', 'content', '0', '12', '__proto__', 'constructor'))

// JSON-shaped: plain objects (some without a prototype) and arrays of primitives.
const { json } = fc.letrec((tie) => ({
  json: fc.oneof({ depthSize: 'small', withCrossShrink: true }, primitive, tie('array'), tie('object'), tie('bare')),
  array: fc.array(tie('json'), { maxLength: 5 }),
  object: fc.dictionary(key, tie('json'), { maxKeys: 5 }),
  bare: fc.dictionary(key, tie('json'), { maxKeys: 3, noNullPrototype: false }),
}))

const item = fc.oneof(
  fc.record({ role: fc.constantFrom('user', 'assistant', 'system'), content: fc.array(fc.record({ type: fc.constant('input_text'), text: fc.string() }), { maxLength: 3 }) }),
  fc.record({ type: fc.constant('function_call'), callId: fc.string(), name: fc.string(), arguments: fc.string(), providerData: json }),
  fc.record({ type: fc.constant('function_call_result'), callId: fc.string(), output: json }, { requiredKeys: ['type', 'callId'] }),
)

// Not JSON-shaped: what the walk must hand to structuredClone.
const special = fc.oneof(
  fc.date({ noInvalidDate: false }),
  fc.uint8Array({ maxLength: 6 }),
  fc.float64Array({ maxLength: 4 }),
  fc.int32Array({ maxLength: 4 }),
  fc.array(primitive, { maxLength: 3 }).map((entries) => new Map(entries.map((v, i) => [i, v]))),
  fc.array(primitive, { maxLength: 3 }).map((values) => new Set(values)),
  fc.tuple(fc.integer(), fc.integer()).map(([x, y]) => new Point(x, y)),
  fc.string().map((s) => new String(s)),
  fc.integer().map((n) => new Number(n)),
  fc.string({ maxLength: 5 }).map((s) => new RegExp(s.replace(/[\\^$.*+?()[\]{}|]/g, ''))),
  fc.string().map((message) => new Error(message)),
  fc.array(json, { minLength: 2, maxLength: 4 }).map((values) => {
    const sparse = [...values]
    delete sparse[1]
    return sparse
  }),
  fc.tuple(fc.array(json, { maxLength: 3 }), json).map(([values, extra]) => Object.assign([...values], { extra })),
  // As many named properties as holes: the count of keys matches the length.
  fc.tuple(fc.array(json, { minLength: 2, maxLength: 4 }), json).map(([values, extra]) => {
    const sparse = Object.assign([...values], { extra })
    delete sparse[0]
    return sparse
  }),
  json.map((inner) => {
    const cyclic: Record<string, unknown> = { inner }
    cyclic.self = cyclic
    return cyclic
  }),
  fc.constant(() => 1),
  fc.constant(Symbol('s')),
)

// A special value somewhere inside a JSON-shaped one.
const nested = fc.tuple(item, special, fc.string({ maxLength: 6 })).map(([outer, inner, name]) => ({ ...outer, [`x${name}`]: [{ deep: inner }] }))

describe('cloneItem', () => {
  it('equals structuredClone on JSON-shaped items and values, sharing no object', () => {
    assertProperty(fc.property(fc.oneof(item, json), (value) => expectSameAsStructuredClone(value)), { numRuns: 400 })
  })

  it('equals structuredClone on values that are not JSON-shaped, alone or nested in an item', () => {
    assertProperty(fc.property(fc.oneof(special, nested), (value) => expectSameAsStructuredClone(value)), { numRuns: 300 })
  })

  it('copies a cycle as structuredClone does (the copy refers to itself)', () => {
    const item: Record<string, unknown> = { type: 'message', content: [] }
    ;(item.content as unknown[]).push(item)
    const copy = cloneItem(item)
    expect(copy).not.toBe(item)
    expect((copy.content as unknown[])[0]).toBe(copy)
  })

  it('hands a value with a shared object nested many times to structuredClone instead of copying each path', () => {
    // 2^40 paths through 40 objects: copying reference by reference would never finish.
    let shared: Record<string, unknown> = { leaf: 1 }
    for (let i = 0; i < 40; i++) shared = { left: shared, right: shared }
    const copy = cloneItem(shared)
    // Plain comparisons: a failing toBe would compare the values deeply, path by path.
    expect(copy.left === copy.right).toBe(true)
    expect(copy.left === shared.left).toBe(false)
  })

  it('copies a value nested deeper than the walk goes', () => {
    let deep: unknown = 'bottom'
    for (let i = 0; i < 500; i++) deep = [deep]
    expectSameAsStructuredClone(deep)
  })
})
