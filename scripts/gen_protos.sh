#!/usr/bin/env bash
# Generates Python code and .pyi stubs for every proto into one directory (default gen/).
set -euo pipefail
out=${1:-gen}
python=$(realpath -s "$(command -v "${PYTHON:-python}")")
include=$("$python" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')
rm -rf "$out" && mkdir -p "$out"
mapfile -t protos < <(cd protos && find . -name '*.proto' | sort)
(cd protos && "$python" -m grpc_tools.protoc -I . -I "$include" \
  --python_out="../$out" --pyi_out="../$out" --grpc_python_out="../$out" "${protos[@]}")
find "$out" -mindepth 1 -type d -exec touch {}/__init__.py \;
