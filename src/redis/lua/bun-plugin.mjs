// `bun --preload ./src/redis/lua/bun-plugin.mjs`: `.lua` imports load through loader.mjs.
import { luaModule } from './loader.mjs'

Bun.plugin({
  name: 'bounded-session-lua',
  setup(build) {
    build.onLoad({ filter: /\.lua$/ }, (args) => ({ contents: luaModule(args.path), loader: 'js' }))
  },
})
