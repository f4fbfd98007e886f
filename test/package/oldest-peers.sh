#!/usr/bin/env bash
# Each framework adapter's real loop against the OLDEST version of its framework that package.json's
# peerDependencies allow (the newest ones run in `npm test`): @openai/agents, ai, @langchain/core.
# Each version comes from the npm registry into a cache folder, once; each run copies that folder,
# installs the packed package (.tgz) into the copy and runs test/package/oldest-peers/<adapter>.mjs
# there, so the published files are what runs. `--no-build` uses the dist/ already built.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
if [ "${1:-}" != "--no-build" ]; then npm run build >/dev/null; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tgz="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
zod=$(node -p "require('./package.json').dependencies.zod")
cache="${HOME}/.cache/bounded-session-peers"

# The oldest published version in a range (the matches are releases: x.y.z, compared by number).
oldest() {
  npm view "$1@$2" version --json | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const v=[].concat(JSON.parse(s));const n=(x)=>x.split('.').map(Number);v.sort((a,b)=>{const p=n(a),q=n(b);return p[0]-q[0]||p[1]-q[1]||p[2]-q[2]});console.log(v[0])})"
}

for entry in "@openai/agents openai-agents" "ai ai-sdk" "@langchain/core langchain"; do
  set -- $entry
  name=$1
  adapter=$2
  range=$(node -p "require('./package.json').peerDependencies['$name']")
  version=$(oldest "$name" "$range")
  dir="$cache/${name//\//+}@$version"
  if [ ! -f "$dir/node_modules/$name/package.json" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    echo '{ "private": true }' >"$dir/package.json"
    (cd "$dir" && npm install --no-audit --no-fund --silent --save-exact "$name@$version" "zod@$zod" >/dev/null)
  fi
  run="$work/$adapter"
  cp -r "$dir" "$run"
  (cd "$run" && npm install --no-audit --no-fund --no-save --loglevel=error "$tgz" >/dev/null)
  got=$(node -p "require('$run/node_modules/$name/package.json').version")
  echo "oldest-peers: $adapter against $name $got (range $range)"
  cp "$root/test/package/oldest-peers/$adapter.mjs" "$root/test/package/oldest-peers/count.mjs" "$run/"
  (cd "$run" && node "$adapter.mjs")
done
