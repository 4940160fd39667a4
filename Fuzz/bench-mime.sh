#!/usr/bin/env bash
# Builds Fuzz/BenchMIME with -O together with the MailCore and MIME sources and prints parse throughput in MB/s.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=.bench-mime
mkdir -p "$OUT"
swiftc -O -parse-as-library -module-name MailCore -emit-module -emit-module-path "$OUT/MailCore.swiftmodule" \
  -emit-library -static -o "$OUT/libMailCore.a" Sources/MailCore/*.swift
swiftc -O -parse-as-library -module-name MIME -I "$OUT" -emit-module -emit-module-path "$OUT/MIME.swiftmodule" \
  -emit-library -static -o "$OUT/libMIME.a" Sources/MIME/*.swift
swiftc -O -module-name BenchMIME -I "$OUT" -L "$OUT" -lMIME -lMailCore Fuzz/BenchMIME/main.swift -o "$OUT/bench-mime"
/usr/bin/time -v "$OUT/bench-mime" 2>&1 | grep -E "MB/s|Maximum resident"
