// Moved to src/history/ (one concept per file); kept so that existing imports of this path
// (the store, bounded-session/redis, the tests) go on working.
export * from './history/index.js'
