import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url))

// BOUNDED_SESSION_ZOD_DIR=<a folder with node_modules/zod> runs the suite against that zod
// (test/package/zod-range.sh: the lowest and the newest zod 4 that package.json allows).
const zodDir = process.env.BOUNDED_SESSION_ZOD_DIR
const zodAlias = zodDir === undefined ? [] : [{ find: /^zod\/mini$/, replacement: `${zodDir}/node_modules/zod/mini/index.js` }]

export default defineConfig({
  resolve: {
    // The examples import the package by its published names; in tests those names mean the source.
    alias: [
      { find: /^bounded-session$/, replacement: src('index.ts') },
      { find: /^bounded-session\/redis$/, replacement: src('redis/index.ts') },
      { find: /^bounded-session\/formats$/, replacement: src('formats/index.ts') },
      { find: /^bounded-session\/openai-agents$/, replacement: src('openai-agents/index.ts') },
      { find: /^bounded-session\/ai-sdk$/, replacement: src('ai-sdk/index.ts') },
      { find: /^bounded-session\/langchain$/, replacement: src('langchain/index.ts') },
      ...zodAlias,
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    globalSetup: ['./test/redis-setup.ts'],
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
  },
})
