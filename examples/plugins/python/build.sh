#!/usr/bin/env bash
# Builds app.py into $TARGET/plugins-examples/py-openai-compat.wasm with componentize-py, where
# $TARGET is $CARGO_TARGET_DIR or the workspace's target/.
# The toolchain is installed from PyPI once, into a venv under $TARGET keyed by its version.
#
# Does nothing when the component is newer than app.py, this script and the WIT contract
# (`--force` rebuilds anyway). Quiet on success; on failure the tool's output is printed.
# Concurrent runs (parallel test binaries, two terminals) are serialised with flock(1).
set -euo pipefail

COMPONENTIZE_PY_VERSION=0.25.1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
out_dir="$target/plugins-examples"
out="$out_dir/py-openai-compat.wasm"
toolchains="$target/plugin-toolchains"
sdk="$root/plugins/sdk-python"
venv="$toolchains/componentize-py-$COMPONENTIZE_PY_VERSION"

force=0
case "${1:-}" in
    --force) force=1 ;;
    "") ;;
    *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

up_to_date() {
    [ "$force" = 0 ] && [ -f "$out" ] &&
        [ -z "$(find "$here/app.py" "$here/build.sh" "$root/wit" "$sdk" -newer "$out" -print -quit)" ]
}
up_to_date && exit 0

mkdir -p "$out_dir" "$toolchains"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$toolchains/python-build.lock"
    flock 9
    up_to_date && exit 0 # another run built it while this one waited
fi

if ! command -v python3 >/dev/null 2>&1; then
    echo "python3 not found: building the Python example plugin needs Python 3.9 or newer with" \
        "the venv module (Debian/Ubuntu: apt-get install python3 python3-venv)" >&2
    exit 127
fi
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
    echo "$(python3 --version 2>&1) is too old: building the Python example plugin needs Python 3.9 or newer" >&2
    exit 1
fi

log="$(mktemp "$toolchains/python-build.XXXXXX.log")"
stage="$(mktemp -d "$toolchains/stage-python.XXXXXX")"
tmp_out="$out_dir/.py-openai-compat.$$.wasm"
trap 'rm -rf "$stage" "$log" "$tmp_out"' EXIT
# Runs a step with its output in the log; prints the log and fails when the step fails.
quietly() {
    if ! "$@" >"$log" 2>&1; then
        echo "build.sh: failed: $*" >&2
        cat "$log" >&2
        exit 1
    fi
}

if [ ! -x "$venv/bin/componentize-py" ]; then
    echo "installing componentize-py==$COMPONENTIZE_PY_VERSION from PyPI into $venv" >&2
    rm -rf "$venv" # a half-finished earlier install
    if ! python3 -m venv "$venv" >"$log" 2>&1; then
        cat "$log" >&2
        echo "python3 -m venv failed: install the venv module (Debian/Ubuntu: apt-get install python3-venv)" >&2
        exit 1
    fi
    quietly "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "componentize-py==$COMPONENTIZE_PY_VERSION"
fi

# Build from a copy: componentize-py's pre-initialisation writes __pycache__ next to the source.
cp "$here/app.py" "$stage/"
cp -R "$sdk/voiceblox_plugin" "$stage/"
cd "$here"
# No VIRTUAL_ENV: the app has no dependencies; only modules it imports end up in the component.
quietly env -u VIRTUAL_ENV "$venv/bin/componentize-py" \
    --wit-path ../../../wit --world full-plugin \
    componentize --python-path "$stage" app \
    --output "$tmp_out"
# Renamed into place so a concurrent reader never sees half a component.
mv -f "$tmp_out" "$out"
