import { fileURLToPath } from 'node:url'
import { configDefaults, defineConfig } from 'vitest/config'
import { luaModule } from './src/redis/lua/loader.mjs'

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url))

// BOUNDED_SESSION_ZOD_DIR=<a folder with node_modules/zod> runs the suite against that zod
// (test/package/zod-range.sh: the lowest and the newest zod 4 that package.json allows).
const zodDir = process.env.BOUNDED_SESSION_ZOD_DIR
const zodAlias = zodDir === undefined ? [] : [{ find: /^zod\/mini$/, replacement: `${zodDir}/node_modules/zod/mini/index.js` }]

export default defineConfig({
  // The Redis scripts (src/redis/lua/*.lua) load through the same loader as the build's.
  plugins: [{ name: 'bounded-session-lua', load: (id: string) => (id.endsWith('.lua') ? luaModule(id) : undefined) }],
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
    globalSetup: ['./test/redis-setup.ts'],
    // Worker threads start faster than child processes: `npm test` takes about a quarter less wall
    // time on two cores. Bun (test/package/matrix.sh) keeps child processes.
    pool: 'versions' in process && 'bun' in process.versions ? 'forks' : 'threads',
    // Two projects: `unit` is `npm test` (goal: under a minute on two cores); `slow` is
    // `npm run test:slow`, the files named *.slow.test.ts (the long run, the bench smoke test),
    // which .ci/run runs too. `npx vitest run <file>` finds a file in either.
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
          exclude: [...configDefaults.exclude, '**/*.slow.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'slow',
          include: ['test/**/*.slow.test.ts', 'examples/**/*.slow.test.ts'],
        },
      },
    ],
  },
})
