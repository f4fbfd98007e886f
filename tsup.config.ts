import { defineConfig } from 'tsup'

export default defineConfig({
  // The two classes are entries of their own (index.js re-exports them), so that a bundler that
  // honours `sideEffects: false` leaves out the store, and with it eventemitter3, lru-cache and
  // zod, when only RingBufferHistory is imported. `bounded-session/redis` is its own entry
  // (dist/redis/), which the root never imports.
  entry: ['src/index.ts', 'src/history/index.ts', 'src/bounded-session-store.ts', 'src/redis/index.ts'],
  format: ['esm', 'cjs'],
  splitting: true,
  // stripInternal: the history's watch method (the protocol between a history and the stores that
  // follow it, marked @internal) stays out of the published types.
  dts: { entry: { index: 'src/index.ts', 'redis/index': 'src/redis/index.ts' }, compilerOptions: { stripInternal: true } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  treeshake: true,
})
