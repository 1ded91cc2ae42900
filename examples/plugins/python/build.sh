#!/usr/bin/env bash
# Builds app.py into target/plugins-examples/py-openai-compat.wasm with componentize-py.
# The toolchain is installed from PyPI once, into a venv under target/ keyed by its version.
set -euo pipefail

COMPONENTIZE_PY_VERSION=0.25.1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out_dir="$root/target/plugins-examples"
venv="$root/target/plugin-toolchains/componentize-py-$COMPONENTIZE_PY_VERSION"

if [ ! -x "$venv/bin/componentize-py" ]; then
    echo "installing componentize-py==$COMPONENTIZE_PY_VERSION into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "componentize-py==$COMPONENTIZE_PY_VERSION"
fi

# Build from a copy: componentize-py's pre-initialisation writes __pycache__ next to the source.
stage="$root/target/plugin-toolchains/stage-python"
rm -rf "$stage" && mkdir -p "$stage" "$out_dir"
cp "$here/app.py" "$stage/"
cd "$here"
# No VIRTUAL_ENV: the app has no dependencies; only modules it imports end up in the component.
env -u VIRTUAL_ENV "$venv/bin/componentize-py" \
    --wit-path ../../../wit --world llm-plugin \
    componentize --python-path "$stage" app \
    --output "$out_dir/py-openai-compat.wasm"
echo "wrote $out_dir/py-openai-compat.wasm" >&2
