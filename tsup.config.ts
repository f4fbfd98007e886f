import { defineConfig } from 'tsup'
import { luaModule } from './src/redis/lua/loader.mjs'

export default defineConfig({
  // The two classes are entries of their own (index.js re-exports them), so that a bundler that
  // honours `sideEffects: false` leaves out the store, and with it eventemitter3, lru-cache and
  // zod, when only RingBufferHistory is imported. `bounded-session/redis`, `bounded-session/formats`
  // (whose SDK imports are types only) and the framework adapters (`openai-agents`, `ai-sdk`,
  // `langchain`) are entries of their own (dist/<name>/), which the root never imports; the
  // frameworks stay external (peer dependencies).
  entry: [
    'src/index.ts',
    'src/history/index.ts',
    'src/store/index.ts',
    'src/redis/index.ts',
    'src/formats/index.ts',
    'src/openai-agents/index.ts',
    'src/ai-sdk/index.ts',
    'src/langchain/index.ts',
  ],
  format: ['esm', 'cjs'],
  splitting: true,
  // stripInternal: the history's watch method (the protocol between a history and the stores that
  // follow it, marked @internal) stays out of the published types.
  dts: {
    entry: {
      index: 'src/index.ts',
      'redis/index': 'src/redis/index.ts',
      'formats/index': 'src/formats/index.ts',
      'openai-agents/index': 'src/openai-agents/index.ts',
      'ai-sdk/index': 'src/ai-sdk/index.ts',
      'langchain/index': 'src/langchain/index.ts',
    },
    compilerOptions: { stripInternal: true },
  },
  sourcemap: true,
  clean: true,
  target: 'node20',
  treeshake: true,
  // The Redis scripts (src/redis/lua/*.lua) are inlined as strings, their includes resolved by the
  // same loader vitest uses.
  esbuildPlugins: [
    {
      name: 'bounded-session-lua',
      setup(build) {
        build.onLoad({ filter: /\.lua$/ }, (args) => ({ contents: luaModule(args.path), loader: 'js' }))
      },
    },
  ],
})
