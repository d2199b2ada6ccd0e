#!/usr/bin/env python3
"""Peers of benches/load.rs: pandas.read_csv and Python polars reading the same file.

Usage: python3 benches/peers/load_peers.py [PATH]   (default: $CARGO_TARGET_DIR/bench-data/cmds_200k.csv,
written by `cargo bench --bench load` or `cargo run --release --example load_run`).
Reads only the 30 columns the cmds2014 schema uses, with the same missing tokens, and reports,
for each reader, the best of 5 wall-clock times, MB/s and the peak RSS of a fresh process doing
one read (each reader runs in its own subprocess, one after the other, in the same session).
Peer work is parsing only: no recoding, derivation or design matrix.
"""
import os
import resource
import subprocess
import sys
import time

NA = ["", "NA", ".", "不适用"]


def readers(path, cols):
    """name -> zero-argument function reading the file (readers that cannot be imported are left out)."""
    out = {}
    try:
        import pandas as pd

        out[f"pandas {pd.__version__} read_csv (C engine)"] = lambda: pd.read_csv(
            path, usecols=cols, na_values=NA, keep_default_na=False
        )
        try:
            import pyarrow  # noqa: F401

            out[f"pandas {pd.__version__} read_csv (pyarrow engine)"] = lambda: pd.read_csv(
                path, usecols=cols, na_values=NA, keep_default_na=False, engine="pyarrow"
            )
        except ImportError:
            pass
    except ImportError:
        print("pandas not installed", file=sys.stderr)
    try:
        import polars as pl

        out[f"polars {pl.__version__} read_csv ({pl.thread_pool_size()} threads)"] = lambda: pl.read_csv(
            path, columns=cols, null_values=NA, infer_schema_length=10000
        )
    except ImportError:
        print("python polars not installed (pip install polars)", file=sys.stderr)
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = args[0] if args else os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "bench-data", "cmds_200k.csv")
    with open(path, encoding="utf-8") as f:
        cols = f.readline().strip().split(",")[:30]
    one = next((a[len("--one="):] for a in sys.argv[1:] if a.startswith("--one=")), None)
    if one is not None:
        # Child: time one reader, print "seconds peak_rss_kib".
        fn = readers(path, cols)[one]
        times = []
        for _ in range(5):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        print(min(times), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        return
    size_mb = os.path.getsize(path) / 1e6
    print(f"file: {path} ({size_mb:.1f} MB); load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    for name in readers(path, cols):
        r = subprocess.run([sys.executable, __file__, path, f"--one={name}"], capture_output=True, text=True, check=True)
        t, rss = r.stdout.split()
        t = float(t)
        print(f"{name:48s} {t:7.3f} s  {size_mb / t:7.1f} MB/s  peak RSS {int(rss) / 1024:6.0f} MiB")


if __name__ == "__main__":
    main()
