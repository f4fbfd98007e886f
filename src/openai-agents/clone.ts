// The copy a session makes of every item it hands out or takes in. Agent items are JSON-shaped
// (plain objects, arrays, strings, numbers, booleans, null), and for those a direct walk is several
// times faster than `structuredClone`, whose serialiser handles every type the platform knows.
// Anything else (a Date, a Map, a typed array, a class instance, a cycle, a function) is copied by
// `structuredClone` itself, whole, so the result is always the one `structuredClone` gives.

// Returned by the walk when it meets something it does not copy itself. A symbol: the walk
// never returns a symbol as a value (symbols are handed to structuredClone, which refuses them).
const FALLBACK: unique symbol = Symbol('fallback')

// Deeper than this is a cycle or unusual data: structuredClone copies it.
const MAX_DEPTH = 64
// Objects the walk copies in one call before handing the value to structuredClone: bounds the
// work on a value that references one object many times (the walk copies each reference, so a
// shared object nested in shared objects would multiply).
const MAX_OBJECTS = 10_000

let objectsLeft = MAX_OBJECTS

function walk(value: unknown, depth: number): unknown {
  if (typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' ? FALLBACK : value
  if (value === null) return null
  if (depth === MAX_DEPTH || --objectsLeft < 0) return FALLBACK
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === Array.prototype) {
    const array = value as unknown[]
    const length = array.length
    const out: unknown[] = []
    for (let i = 0; i < length; i++) {
      const element = array[i]
      // A hole: structuredClone keeps it, so it copies the array.
      if (element === undefined && !(i in array)) return FALLBACK
      const copy = walk(element, depth + 1)
      if (copy === FALLBACK) return FALLBACK
      out.push(copy)
    }
    // Named properties on an array (structuredClone keeps them too).
    if (Object.keys(array).length !== length) return FALLBACK
    return out
  }
  if (proto === Object.prototype || proto === null) {
    const record = value as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(record)) {
      // Assigning `__proto__` would set the copy's prototype instead of a field.
      if (key === '__proto__') return FALLBACK
      const copy = walk(record[key], depth + 1)
      if (copy === FALLBACK) return FALLBACK
      out[key] = copy
    }
    return out
  }
  return FALLBACK
}

/**
 * A deep copy of `value` equal to `structuredClone(value)` and sharing no object with it: walked
 * directly when it is JSON-shaped (plain objects, arrays without holes or named properties,
 * primitives), else by `structuredClone`. One difference, as JSON has it: an object referenced
 * twice within `value` (not in a cycle) is copied twice, where `structuredClone` copies it once.
 *
 * @throws what `structuredClone` throws for a value it cannot copy (a function, a symbol)
 */
export function cloneItem<T>(value: T): T {
  objectsLeft = MAX_OBJECTS
  const copy = walk(value, 0)
  return (copy === FALLBACK ? structuredClone(value) : copy) as T
}
