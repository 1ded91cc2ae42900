#!/usr/bin/env bash
# Builds app.js into target/plugins-examples/js-openai-compat.wasm with componentize-js.
# The toolchain comes from the npm registry, pinned by package.json and package-lock.json,
# and is installed into ./node_modules on first use (or when the lock file changes).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out_dir="$root/target/plugins-examples"
cd "$here"

if ! cmp -s package-lock.json node_modules/.voiceblox-lock 2>/dev/null; then
    echo "installing the npm toolchain (npm ci) into $here/node_modules" >&2
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json node_modules/.voiceblox-lock
fi

mkdir -p "$out_dir"
# componentize-js directly: `jco componentize` 1.35.0 cannot read a WIT directory (its
# preview2-shim 0.26 starts with no preopens). The plugin gets no wasi:http (the host does
# all I/O); stdio stays so an uncaught exception is printed to the host log before the trap.
./node_modules/.bin/componentize-js app.js \
    --wit ../../../wit --world-name llm-plugin \
    --disable http fetch-event \
    --out "$out_dir/js-openai-compat.wasm"
echo "wrote $out_dir/js-openai-compat.wasm" >&2
