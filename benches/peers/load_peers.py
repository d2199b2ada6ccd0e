#!/usr/bin/env python3
"""Peers of benches/load.rs: pandas.read_csv and Python polars reading the same file.

Usage: python3 benches/peers/load_peers.py [PATH]   (default: $CARGO_TARGET_DIR/bench-data/cmds_200k.csv,
written by `cargo bench --bench load`). Reads only the 30 columns the cmds2014 schema uses,
with the same missing tokens, and reports the best of 5 wall-clock times and MB/s.
Peer work is parsing only: no recoding, derivation or design matrix.
"""
import os
import sys
import time

path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "bench-data", "cmds_200k.csv")
size_mb = os.path.getsize(path) / 1e6
with open(path, encoding="utf-8") as f:
    cols = f.readline().strip().split(",")[:30]
NA = ["", "NA", ".", "不适用"]

def best(fn, reps=5):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)

results = []
import pandas as pd
t = best(lambda: pd.read_csv(path, usecols=cols, na_values=NA, keep_default_na=False))
results.append((f"pandas {pd.__version__} read_csv (C engine)", t))
try:
    t = best(lambda: pd.read_csv(path, usecols=cols, na_values=NA, keep_default_na=False, engine="pyarrow"))
    results.append((f"pandas {pd.__version__} read_csv (pyarrow engine)", t))
except Exception as e:  # pyarrow not installed
    print("pandas pyarrow engine skipped:", e, file=sys.stderr)
try:
    import polars as pl
    t = best(lambda: pl.read_csv(path, columns=cols, null_values=NA, infer_schema_length=10000))
    results.append((f"polars {pl.__version__} read_csv", t))
except ImportError:
    print("python polars not installed (pip install polars)", file=sys.stderr)

print(f"file: {path} ({size_mb:.1f} MB)")
for name, t in results:
    print(f"{name:45s} {t:7.3f} s  {size_mb / t:7.1f} MB/s")
