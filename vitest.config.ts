import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// BOUNDED_SESSION_ZOD_DIR=<a folder with node_modules/zod> runs the suite against that zod
// (test/package/zod-range.sh: the lowest and the newest zod 4 that package.json allows).
const zodDir = process.env.BOUNDED_SESSION_ZOD_DIR
const zodAlias = zodDir === undefined ? {} : { 'zod/mini': `${zodDir}/node_modules/zod/mini/index.js` }

export default defineConfig({
  resolve: {
    // The example imports the package by its published name; in tests that name means the source.
    alias: { 'bounded-session': fileURLToPath(new URL('./src/index.ts', import.meta.url)), ...zodAlias },
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
  },
})
