#!/usr/bin/env python3
"""Times Python marginaleffects on the predictive-margins job of `benches/twopart.rs` (issue 17),
for BENCHMARKS.md: on the first ROWS rows of the two-part data, a probit for y > 0 and a
gamma-log GLM on the positives (statsmodels, formula with C(g1..g3)), then for each part
`avg_predictions(variables={"g1": levels}, by="g1")` (predictive margins by g1, 4 levels) and
`avg_comparisons(variables={"g1": "pairwise"})` (the 6 pairwise contrasts), delta-method SEs.
marginaleffects has no two-part model, so E[y] is not computed (migfit also does E[y]).

    cargo run --release --example twopart_simdata -- /tmp/migfit-twopart.csv
    /work/venvs/margins/bin/python benches/peers/marginaleffects_predictions.py /tmp/migfit-twopart.csv --rows 20000

Prints the wall time of the margins step (fits excluded), median of --reps runs.
"""
import argparse
import statistics
import time

import marginaleffects as me
import numpy as np
import pandas as pd
import polars as pl
import statsmodels.formula.api as smf
import statsmodels.api as sm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    df = pd.read_csv(a.csv, nrows=a.rows)
    for g in ("g1", "g2", "g3"):
        df[g] = df[g].astype(int).astype(str).astype("category")
    df["pos"] = (df["y"] > 0).astype(float)
    rhs = " + ".join([f"x{j}" for j in range(1, 21)] + ["g1", "g2", "g3"])
    m1 = smf.glm(f"pos ~ {rhs}", df, family=sm.families.Binomial(sm.families.links.Probit())).fit()
    d2 = df[df["y"] > 0].copy()
    m2 = smf.glm(f"y ~ {rhs}", d2, family=sm.families.Gamma(sm.families.links.Log())).fit()
    levels = sorted(df["g1"].unique())

    def margins():
        out = []
        for m, d in ((m1, df), (m2, d2)):
            nd = pl.from_pandas(d)
            out.append(me.avg_predictions(m, variables={"g1": levels}, by="g1", newdata=nd))
            out.append(me.avg_comparisons(m, variables={"g1": "pairwise"}, newdata=nd))
        return out

    times = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        margins()
        times.append(time.perf_counter() - t0)
    print(f"marginaleffects {a.rows} rows: predictive margins + pairwise contrasts of 2 parts: "
          f"median {statistics.median(times):.3f} s over {a.reps}")


if __name__ == "__main__":
    main()
