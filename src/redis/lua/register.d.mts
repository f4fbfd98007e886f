// Side effect only: registers the .lua module hook (hooks.mjs).
export {}
