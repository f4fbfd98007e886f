/** The source of the script in `file`, with its includes resolved and its comments dropped. */
export function loadLua(file: string): string
/** The JavaScript module a `.lua` import becomes: its resolved source as the default export. */
export function luaModule(file: string): string
