#!/usr/bin/env python3
"""Times statsmodels on the data of `benches/fit.rs`, for BENCHMARKS.md.

    cargo run --release --example simdata -- /tmp/migfit-sim.csv
    python3 benches/peers/statsmodels_fit.py /tmp/migfit-sim.csv [--reps 3] [--migfit-json DIR]

Times (median of --reps runs, wall clock, after one untimed warm-up where noted):
  * Probit(yb, X).fit(method="newton")  -- statsmodels' default for Probit
  * GLM(yg, X, family=Gamma(link=Log())).fit()  -- IRLS, its default
  * the cluster-robust covariance of the probit fit with 2,000 clusters
    (sandwich_covariance.cov_cluster, which is what cov_type="cluster" computes)
Also prints the largest relative difference between its coefficients and migfit's when JSON
output of `migfit fit` is given (--migfit-json DIR with probit.json and gamma.json).
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm
from statsmodels.stats import sandwich_covariance


def timed(fn, reps):
    times, result = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--migfit-json")
    a = ap.parse_args()

    # Every value must parse to the double Rust wrote: pandas 3 does so by default, older
    # versions need float_precision="round_trip" (deprecated, with a warning, in pandas 3).
    if int(pd.__version__.split(".")[0]) >= 3:
        df = pd.read_csv(a.csv)
    else:
        df = pd.read_csv(a.csv, float_precision="round_trip")
    cols = [f"x{j}" for j in range(1, 21)] + [f"d{j}" for j in range(1, 10)]
    X = np.column_stack([np.ones(len(df))] + [df[c].to_numpy() for c in cols])
    yb = df["yb"].to_numpy()
    yg = df["yg"].to_numpy()
    groups = df["cl"].to_numpy().astype(np.int64)
    print(f"statsmodels {statsmodels.__version__}, numpy {np.__version__}, "
          f"python {sys.version.split()[0]}; data {X.shape[0]} x {X.shape[1]}, "
          f"{len(np.unique(groups))} clusters")

    probit = lambda: sm.Probit(yb, X).fit(method="newton", disp=0, tol=1e-8)
    gamma = lambda: sm.GLM(yg, X, family=sm.families.Gamma(link=sm.families.links.Log())).fit()
    rp = probit()  # warm-up
    t_p, m_p, rp = timed(probit, a.reps)
    t_g, m_g, rg = timed(gamma, a.reps)
    t_c, m_c, vc = timed(lambda: sandwich_covariance.cov_cluster(rp, groups), a.reps)
    print(f"probit fit:             median {t_p:.3f} s (min {m_p:.3f}), {rp.mle_retvals['iterations']} iterations")
    print(f"gamma-log GLM fit:      median {t_g:.3f} s (min {m_g:.3f}), {rg.fit_history['iteration']} iterations")
    print(f"cluster-robust VCE:     median {t_c:.3f} s (min {m_c:.3f})")

    if a.migfit_json:
        for name, res in [("probit", rp), ("gamma", rg)]:
            path = os.path.join(a.migfit_json, f"{name}.json")
            if not os.path.exists(path):
                continue
            ours = json.load(open(path))["models"][0]["coefficients"]
            b = np.array([c["estimate"] for c in ours])
            rel = np.max(np.abs(b - res.params) / np.maximum(np.abs(res.params), 1e-300))
            print(f"{name}: max relative difference of coefficients, migfit vs statsmodels: {rel:.2e}")


if __name__ == "__main__":
    main()
