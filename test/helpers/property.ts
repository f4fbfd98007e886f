// Every property test runs through `assertProperty`, so `npm test` is deterministic and a failure
// can be replayed:
// - the seed is fixed per test (a hash of the test's full name), so the same runs happen on every
//   machine and every time;
// - `FC_SEED=<n>` runs with that seed instead, `FC_PATH=<path>` replays one shrunk case
//   (both printed on failure), `FC_RUNS=<n>` sets the number of runs of every property and
//   `FC_RUNS=x<k>` multiplies each property's own (for a soak outside `npm test`:
//   `FC_SEED=$RANDOM FC_RUNS=x20 npx vitest run test/x.test.ts`);
// - a failure's message starts with the line to paste to replay it.
import fc from 'fast-check'
import { expect } from 'vitest'

/** FNV-1a of the test's full name: a stable seed that differs from test to test. */
function seedOf(name: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193)
  return h | 0
}

function envInt(name: string): number | undefined {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`)
  return n
}

function runsOf(own: number): number | undefined {
  const raw = process.env.FC_RUNS
  if (raw === undefined || raw === '' || !raw.startsWith('x')) return envInt('FC_RUNS')
  const factor = Number(raw.slice(1))
  if (!(factor > 0)) throw new Error(`FC_RUNS must be an integer or x<factor>, got ${JSON.stringify(raw)}`)
  return Math.max(1, Math.round(own * factor))
}

/** The parameters a property runs with: the test's own, then the fixed seed, then the env overrides. */
export function propertyParams<Ts>(params: fc.Parameters<Ts> = {}): fc.Parameters<Ts> & { seed: number } {
  const name = expect.getState().currentTestName ?? 'property'
  const seed = envInt('FC_SEED') ?? params.seed ?? seedOf(name)
  const runs = runsOf(params.numRuns ?? 100)
  const path = process.env.FC_PATH
  return {
    ...params,
    seed,
    ...(runs === undefined ? {} : { numRuns: runs }),
    ...(path === undefined || path === '' ? {} : { path }),
  }
}

function replayLine(seed: number, error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  const path = /path: "([^"]*)"/.exec(text)?.[1]
  return `Replay with FC_SEED=${seed}${path === undefined ? '' : ` FC_PATH=${path}`}`
}

function withReplay(seed: number, error: unknown): never {
  if (error instanceof Error) {
    error.message = `${replayLine(seed, error)}\n${error.message}`
    throw error
  }
  throw new Error(`${replayLine(seed, error)}\n${String(error)}`)
}

/** `fc.assert` with a fixed seed per test, the env overrides, and the seed and path printed on failure. */
export function assertProperty<Ts>(property: fc.IProperty<Ts>, params?: fc.Parameters<Ts>): void
export function assertProperty<Ts>(property: fc.IAsyncProperty<Ts>, params?: fc.Parameters<Ts>): Promise<void>
export function assertProperty<Ts>(property: fc.IRawProperty<Ts>, params?: fc.Parameters<Ts>): void | Promise<void> {
  const p = propertyParams(params)
  let result: void | Promise<void>
  try {
    result = fc.assert(property, p)
  } catch (error) {
    withReplay(p.seed, error)
  }
  if (result instanceof Promise) return result.catch((error: unknown) => withReplay(p.seed, error))
  return result
}
