// The budget count of the loops here, independent of the adapters' measures: a quarter token per
// character of every string value (keys not counted), which never exceeds what the adapters count.

/** A quarter token per character of every string in `value`, rounded down. */
export function independentTokens(value) {
  let chars = 0
  const visit = (v) => {
    if (typeof v === 'string') chars += v.length
    else if (Array.isArray(v)) v.forEach(visit)
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(visit)
  }
  visit(value)
  return Math.floor(chars / 4)
}
