// A `.lua` import is the script's source with its includes resolved (loader.mjs).
declare module '*.lua' {
  const source: string
  export default source
}
