#!/usr/bin/env bash
# Builds app.js into $TARGET/plugins-examples/js-openai-compat.wasm with componentize-js, where
# $TARGET is $CARGO_TARGET_DIR or the workspace's target/.
# The toolchain comes from the npm registry, pinned by package.json and package-lock.json,
# and is installed into ./node_modules on first use (or when the lock file changes).
#
# Does nothing when the component is newer than app.js, the lock file, this script and the WIT
# contract (`--force` rebuilds anyway). Quiet on success; on failure the tool's output is
# printed. Concurrent runs (parallel test binaries, two terminals) are serialised with flock(1).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
out_dir="$target/plugins-examples"
out="$out_dir/js-openai-compat.wasm"
toolchains="$target/plugin-toolchains"

force=0
case "${1:-}" in
    --force) force=1 ;;
    "") ;;
    *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

up_to_date() {
    [ "$force" = 0 ] && [ -f "$out" ] && [ -z "$(find "$here/app.js" "$here/package-lock.json" \
        "$here/build.sh" "$root/wit" "$root/plugins/sdk-js" -newer "$out" -print -quit)" ]
}
up_to_date && exit 0

mkdir -p "$out_dir" "$toolchains"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$toolchains/javascript-build.lock"
    flock 9
    up_to_date && exit 0 # another run built it while this one waited
fi

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "$tool not found: building the JavaScript example plugin needs Node.js 20 or newer" \
            "with npm (https://nodejs.org, or Debian/Ubuntu: apt-get install nodejs npm)" >&2
        exit 127
    fi
done
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
    echo "Node.js $(node --version) is too old: building the JavaScript example plugin needs Node.js 20 or newer" >&2
    exit 1
fi

log="$(mktemp "$toolchains/javascript-build.XXXXXX.log")"
tmp_out="$out_dir/.js-openai-compat.$$.wasm"
trap 'rm -f "$log" "$tmp_out"' EXIT
# Runs a step with its output in the log; prints the log and fails when the step fails.
quietly() {
    if ! "$@" >"$log" 2>&1; then
        echo "build.sh: failed: $*" >&2
        cat "$log" >&2
        exit 1
    fi
}

cd "$here"
if ! cmp -s package-lock.json node_modules/.voiceblox-lock 2>/dev/null; then
    echo "installing the npm toolchain (npm ci) into $here/node_modules" >&2
    quietly npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json node_modules/.voiceblox-lock
fi

# componentize-js directly: `jco componentize` 1.35.0 cannot read a WIT directory (its
# preview2-shim 0.26 starts with no preopens). The plugin gets no wasi:http (the host does
# all I/O); stdio stays so an uncaught exception is printed to the host log before the trap.
# Built from a stage holding the app and the SDK side by side: componentize-js resolves
# imports only below the source's folder.
stage="$(mktemp -d "$toolchains/stage-javascript.XXXXXX")"
trap 'rm -rf "$log" "$tmp_out" "$stage"' EXIT
cp app.js "$root/plugins/sdk-js/voiceblox-plugin.js" "$stage/"
quietly ./node_modules/.bin/componentize-js "$stage/app.js" \
    --wit ../../../wit --world-name full-plugin \
    --disable http fetch-event \
    --out "$tmp_out"
# Renamed into place so a concurrent reader never sees half a component.
mv -f "$tmp_out" "$out"
