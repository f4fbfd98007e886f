#!/usr/bin/env bash
# The whole vitest suite against the lowest and the newest zod 4 that package.json's range allows
# (zod is a runtime dependency that hosts often bundle at an older version). Each version is
# installed from the npm registry into a cache folder and aliased for `zod/mini` in vitest.config.ts.
set -euo pipefail
cd "$(dirname "$0")/../.."
range=$(node -p "require('./package.json').dependencies.zod")
lowest=$(node -p "require('./package.json').dependencies.zod.replace(/^\\^/, '')")
newest=$(npm view "zod@$range" version --json | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const v=JSON.parse(s);console.log(Array.isArray(v)?v[v.length-1]:v)})")
cache="${HOME}/.cache/bounded-session-zod"
for version in "$lowest" "$newest"; do
  dir="$cache/$version"
  if [ ! -f "$dir/node_modules/zod/package.json" ]; then
    mkdir -p "$dir"
    (cd "$dir" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent "zod@$version" >/dev/null)
  fi
  got=$(node -p "require('$dir/node_modules/zod/package.json').version")
  echo "zod-range: the suite against zod $got (range $range)"
  BOUNDED_SESSION_ZOD_DIR="$dir" npx vitest run --typecheck.enabled=false --silent
done
