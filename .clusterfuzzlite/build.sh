#!/bin/bash -eu
# Builds the cargo-fuzz targets of fuzz/ and copies them to $OUT (ClusterFuzzLite and
# OSS-Fuzz). `bug` is left out: it crashes by design (it is the target that finds a
# known buggy variant's bug).
cd "$SRC/corosim/fuzz"
cargo fuzz build -O
for target in correct schedule strategy duration regression env; do
  cp "target/x86_64-unknown-linux-gnu/release/$target" "$OUT/"
done
