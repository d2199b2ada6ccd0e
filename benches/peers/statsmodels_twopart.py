#!/usr/bin/env python3
"""Times statsmodels on the two-part job of `benches/twopart.rs`, for BENCHMARKS.md.

    cargo run --release --example twopart_simdata -- /tmp/migfit-twopart.csv
    python3 benches/peers/statsmodels_twopart.py /tmp/migfit-twopart.csv [--reps 1]

One session, wall clock, median of --reps runs of each step:
  * the design matrix (K = 30: intercept, x1..x20, treatment dummies of C(g1..g3));
  * first part: Probit(1(y > 0), X).fit(method="newton"), then
    get_margeff(at="overall", method="dydx", dummy=True): AMEs with delta-method SEs,
    statsmodels' Jacobian being numerical (it allocates N x K x K);
  * second part: GLM(y, X, Gamma(Log())) on y > 0, then AMEs by hand (statsmodels has no
    margins for GLMs): derivatives b_j mean(mu) and level contrasts mean(mu(l) - mu(ref)),
    with analytic delta-method SEs in numpy.
statsmodels has no two-part model and no combined E[y] effects, so it does less than the
migfit benchmark (which also computes the 29 combined effects). Its dummy=True treats each
treatment dummy separately (dummy set to 1 vs 0 with the others as observed), which is not
Stata's level-vs-reference contrast; the work is comparable, the numbers differ slightly.
"""
import argparse
import statistics
import sys
import time

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm

N_CONT, N_FACTORS, N_LEVELS = 20, 3, 4


def timed(fn, reps):
    times, result = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def design(df):
    cols = [np.ones(len(df))] + [df[f"x{j}"].to_numpy() for j in range(1, N_CONT + 1)]
    for f in range(1, N_FACTORS + 1):
        g = df[f"g{f}"].to_numpy()
        cols += [(g == level).astype(float) for level in range(1, N_LEVELS)]
    return np.column_stack(cols)


def gamma_ames(res, X):
    """AMEs of E[y | y > 0] = exp(X b) over the rows of X, with delta-method SEs."""
    b, V = res.params, res.cov_params()
    mu = np.exp(X @ b)
    n = len(mu)
    out = []
    for j in range(1, 1 + N_CONT):  # derivatives: b_j mean(mu)
        est = b[j] * mu.mean()
        jac = b[j] * (mu @ X) / n
        jac[j] += mu.mean()
        out.append((est, np.sqrt(jac @ V @ jac)))
    for f in range(N_FACTORS):  # level l vs reference: every row set to each level
        first = 1 + N_CONT + f * (N_LEVELS - 1)
        cols = list(range(first, first + N_LEVELS - 1))
        xr = X.copy()
        xr[:, cols] = 0.0
        mu_r = np.exp(xr @ b)
        for a, c in enumerate(cols):
            xl = xr.copy()
            xl[:, c] = 1.0
            mu_l = np.exp(xl @ b)
            est = (mu_l - mu_r).mean()
            jac = (mu_l @ xl - mu_r @ xr) / n
            out.append((est, np.sqrt(jac @ V @ jac)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--reps", type=int, default=1)
    a = ap.parse_args()
    df = pd.read_csv(a.csv, float_precision="round_trip")
    print(f"statsmodels {statsmodels.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}")
    t_x, X = timed(lambda: design(df), a.reps)
    y = df["y"].to_numpy()
    d = (y > 0).astype(float)
    pos = y > 0
    X2, y2 = X[pos], y[pos]
    print(f"data {X.shape[0]} x {X.shape[1]}, {int(pos.sum())} positive")

    t_p, rp = timed(lambda: sm.Probit(d, X).fit(method="newton", disp=0, tol=1e-8), a.reps)
    t_pm, me = timed(lambda: rp.get_margeff(at="overall", method="dydx", dummy=True), a.reps)
    gamma = sm.families.Gamma(link=sm.families.links.Log())
    t_g, rg = timed(lambda: sm.GLM(y2, X2, family=gamma).fit(), a.reps)
    t_gm, ames = timed(lambda: gamma_ames(rg, X2), a.reps)
    total = t_x + t_p + t_pm + t_g + t_gm
    assert len(me.margeff) == 29 and len(ames) == 29
    print(f"design {t_x:.3f} s")
    print(f"probit fit {t_p:.3f} s; get_margeff (29 effects) {t_pm:.3f} s")
    print(f"gamma-log GLM fit {t_g:.3f} s; hand AMEs (29 effects) {t_gm:.3f} s")
    print(f"total {total:.3f} s (58 effects; no combined effects)")
    print(f"first-part AME x1 {me.margeff[0]:.6g} (se {me.margeff_se[0]:.3g}); "
          f"second-part AME x1 {ames[0][0]:.6g} (se {ames[0][1]:.3g})")


if __name__ == "__main__":
    main()
