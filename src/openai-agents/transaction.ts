import type { AgentInputItem } from '@openai/agents'
import { InvalidArgumentError } from '../errors.js'

// The pieces of `applyHistoryTransaction` that do not touch the history: reading the arguments
// once into plain data, and comparing plain data. A transaction is compared and stored as this
// snapshot, so a caller that changes its objects afterwards changes nothing here.

/** An append or a suffix replacement, as plain data. */
export type PlainTransaction =
  | { type: 'append_items'; items: AgentInputItem[] }
  | { type: 'replace_suffix'; expectedSuffix: AgentInputItem[]; replacement: AgentInputItem[] }

const UNSUPPORTED = 'plain data (objects, arrays, strings, finite numbers, booleans, null, Uint8Array)'

/**
 * A deep copy of `value` made of plain objects, arrays, primitives and `Uint8Array`s, or throws
 * when it holds anything else (a class instance, a getter, a cycle, a symbol, a bigint, a sparse
 * array): what cannot be compared deterministically is refused before anything changes.
 */
export function plainCopy(value: unknown, argument: string, ancestors: Set<object> = new Set()): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidArgumentError(argument, value, UNSUPPORTED)
    return value
  }
  if (typeof value !== 'object') throw new InvalidArgumentError(argument, value, UNSUPPORTED)
  if (value instanceof Uint8Array && value.constructor === Uint8Array) return new Uint8Array(value)
  if (ancestors.has(value)) throw new InvalidArgumentError(argument, '[Circular]', UNSUPPORTED)
  ancestors.add(value)
  try {
    if (Array.isArray(value)) {
      const out = new Array<unknown>(value.length)
      for (let i = 0; i < value.length; i++) {
        const d = Object.getOwnPropertyDescriptor(value, i)
        if (d === undefined || !('value' in d)) throw new InvalidArgumentError(argument, value, `${UNSUPPORTED}, without holes or getters`)
        out[i] = plainCopy(d.value, argument, ancestors)
      }
      return out
    }
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) throw new InvalidArgumentError(argument, value, UNSUPPORTED)
    const out: Record<string, unknown> = {}
    for (const key of Reflect.ownKeys(value)) {
      const d = Object.getOwnPropertyDescriptor(value, key) as PropertyDescriptor
      if (typeof key !== 'string' || !d.enumerable || !('value' in d)) {
        throw new InvalidArgumentError(argument, value, `${UNSUPPORTED}, with enumerable string keys and no getters`)
      }
      // `undefined` fields are dropped, as JSON (and every session backend) drops them.
      if (d.value !== undefined) out[key] = plainCopy(d.value, argument, ancestors)
    }
    return out
  } finally {
    ancestors.delete(value)
  }
}

function itemsOf(value: unknown, argument: string): AgentInputItem[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(argument, value, 'an array of items')
  const items = plainCopy(value, argument) as unknown[]
  for (const item of items) {
    const record = item as { type?: unknown; role?: unknown } | null
    if (record === null || typeof record !== 'object' || Array.isArray(record) || (typeof record.type !== 'string' && typeof record.role !== 'string')) {
      throw new InvalidArgumentError(argument, item, 'an array of items (objects with a string `type` or `role`)')
    }
  }
  return items as AgentInputItem[]
}

/**
 * Reads `operationId` and `transaction` once each, and returns them as plain data.
 *
 * @throws {@link InvalidArgumentError} for an empty operation id, an unknown transaction type,
 * fields other than the type's, or items that are not plain data
 */
export function readTransaction(args: unknown): { operationId: string; transaction: PlainTransaction } {
  let operationId: unknown
  let transaction: unknown
  try {
    if (typeof args !== 'object' || args === null) throw new TypeError('not an object')
    operationId = Reflect.get(args, 'operationId')
    transaction = Reflect.get(args, 'transaction')
  } catch {
    // The caller's getter message is not repeated: it may carry what it guarded.
    throw new InvalidArgumentError('args', '[unreadable]', 'an object with `operationId` and `transaction`')
  }
  if (typeof operationId !== 'string' || operationId.trim() === '') {
    throw new InvalidArgumentError('operationId', operationId, 'a non-empty string')
  }
  if (typeof transaction !== 'object' || transaction === null || Array.isArray(transaction)) {
    throw new InvalidArgumentError('transaction', transaction, 'an object')
  }
  const record = plainCopy(transaction, 'transaction') as Record<string, unknown>
  const keys = Object.keys(record).sort().join(',')
  if (record.type === 'append_items') {
    if (keys !== 'items,type') throw new InvalidArgumentError('transaction', transaction, 'exactly `{ type, items }` for append_items')
    return { operationId, transaction: { type: 'append_items', items: itemsOf(record.items, 'transaction.items') } }
  }
  if (record.type === 'replace_suffix') {
    if (keys !== 'expectedSuffix,replacement,type') {
      throw new InvalidArgumentError('transaction', transaction, 'exactly `{ type, expectedSuffix, replacement }` for replace_suffix')
    }
    return {
      operationId,
      transaction: {
        type: 'replace_suffix',
        expectedSuffix: itemsOf(record.expectedSuffix, 'transaction.expectedSuffix'),
        replacement: itemsOf(record.replacement, 'transaction.replacement'),
      },
    }
  }
  throw new InvalidArgumentError('transaction.type', record.type, "'append_items' or 'replace_suffix'")
}

/** Whether two plain values are equal, field by field (key order ignored). */
export function plainEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i])
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    const bb = b as unknown[]
    return a.length === bb.length && a.every((x, i) => plainEqual(x, bb[i]))
  }
  const ra = a as Record<string, unknown>
  const rb = b as Record<string, unknown>
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined)
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined)
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(rb, k) && plainEqual(ra[k], rb[k]))
}
