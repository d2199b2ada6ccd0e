"""Reference numbers for migfit's wild score bootstrap (src/inference/wild.rs), an independent
numpy implementation: the restricted ML estimates by Newton on the Lagrangian (KKT) system,
the observed information by central differences of the analytic per-row gradients, and the
statistic W(v) = (A S*)' (A Omega* A')^{-1} (A S*) for every one of the 2^G Rademacher sign
vectors (G < 12: exact), plus 40 Webb draws stored with the numbers (migfit is fed the same
vectors). Writes tests/numbers/wild_reference.json; run from the repository root with
/work/venv/bin/python (numpy, pandas, scipy):

    python tests/golden/scripts/wild.py
"""

import json

import numpy as np
import pandas as pd
from scipy.stats import norm


def row_gradients(model, X, y, b):
    """d loglik_i / d b (dispersion 1), one row per observation."""
    eta = X @ b
    if model == "probit":
        P, p = norm.cdf(eta), norm.pdf(eta)
        g = y * p / P - (1 - y) * p / norm.cdf(-eta)
    elif model == "logit":
        g = y - 1 / (1 + np.exp(-eta))
    elif model == "gamma_log":
        # loglik_i = -y/mu - log(mu), mu = exp(eta)
        g = y * np.exp(-eta) - 1
    else:
        raise ValueError(model)
    return g[:, None] * X


def information(model, X, y, b):
    """Negative Hessian of the log likelihood by central differences of the gradient."""
    k = len(b)
    H = np.zeros((k, k))
    for j in range(k):
        h = 1e-6 * max(abs(b[j]), 1e-2)
        e = np.zeros(k)
        e[j] = h
        H[:, j] = -(row_gradients(model, X, y, b + e).sum(0) - row_gradients(model, X, y, b - e).sum(0)) / (2 * h)
    return (H + H.T) / 2


def restricted_fit(model, X, y, R, r):
    """max loglik s.t. R b = r: Newton on the KKT system, from b = 0 projected."""
    k, q = X.shape[1], R.shape[0]
    b = np.zeros(k)
    if model == "gamma_log":
        b[0] = np.log(y.mean())
    b = b - R.T @ np.linalg.solve(R @ R.T, R @ b - r)
    lam = np.zeros(q)
    for _ in range(200):
        g = row_gradients(model, X, y, b).sum(0)
        H = information(model, X, y, b)
        kkt = np.block([[H, R.T], [R, np.zeros((q, q))]])
        rhs = np.r_[g - R.T @ lam, r - R @ b]
        step = np.linalg.solve(kkt, rhs)
        b = b + step[:k]
        lam = lam + step[k:]
        if np.all(np.abs(step[:k]) <= 1e-13 * (1 + np.abs(b))):
            return b
    raise RuntimeError("restricted fit did not converge")


def case(name, model, X, y, clusters, R, r, terms, formula, cluster_var, webb_seed=None):
    R = np.atleast_2d(np.asarray(R, float))
    r = np.asarray(r, float)
    bt = restricted_fit(model, X, y, R, r)
    H = information(model, X, y, bt)
    A = R @ np.linalg.inv(H)
    levels = np.unique(clusters)  # migfit numbers clusters in sorted order of their values
    G = len(levels)
    S = np.array([row_gradients(model, X[clusters == c], y[clusters == c], bt).sum(0) for c in levels])
    AS = S @ A.T

    def W(v):
        num = (v[:, None] * AS).sum(0)
        om = G / (G - 1) * (AS.T * v**2) @ AS
        return float(num @ np.linalg.solve(om, num))

    stat = W(np.ones(G))
    signs = [np.array([-1.0 if (b >> c) & 1 else 1.0 for c in range(G)]) for b in range(2**G)]
    draws = np.array([W(v) for v in signs])
    B = len(draws)
    srt = np.sort(draws)
    out = {
        "name": name, "model": model, "formula": formula, "cluster": cluster_var,
        "R": R.tolist(), "r": r.tolist(), "terms": terms,
        "restricted": bt.tolist(), "statistic": stat,
        "p_value": float((draws >= stat).sum() / B),
        "quantiles": [[p, float(srt[int(np.ceil(p * B)) - 1])] for p in (0.90, 0.95, 0.99)],
        "draws": draws.tolist(),
    }
    if webb_seed is not None:
        rng = np.random.default_rng(webb_seed)
        pts = np.array([-np.sqrt(1.5), -1, -np.sqrt(0.5), np.sqrt(0.5), 1, np.sqrt(1.5)])
        vs = pts[rng.integers(0, 6, size=(40, G))]
        out["webb_weights"] = vs.tolist()
        out["webb_draws"] = [W(v) for v in vs]
    return out


def design(df, cols):
    return np.column_stack([np.ones(len(df))] + [df[c].to_numpy(float) for c in cols])


mroz = pd.read_csv("examples/mroz/mroz.csv")
wp = pd.read_csv("tests/golden/probit_wagepan_cluster/data.csv")
cases = []

cols = ["nwifeinc", "educ", "exper", "age", "kidslt6", "kidsge6"]
R = np.zeros((1, 7)); R[0, 2] = 1.0  # educ = 0
cases.append(case("probit_mroz_unem_educ", "probit", design(mroz, cols), mroz.inlf.to_numpy(float),
                  mroz.unem.to_numpy(), R, [0.0], ["(Intercept)"] + cols,
                  "inlf ~ " + " + ".join(cols), "unem", webb_seed=20261206))

cols = ["educ", "exper", "black", "hisp", "married"]
R = np.zeros((2, 6)); R[0, 3] = 1.0; R[1, 4] = 1.0; R[1, 5] = -1.0  # black = 0, hisp = married
cases.append(case("logit_wagepan_year_joint", "logit", design(wp, cols), wp.union.to_numpy(float),
                  wp.year.to_numpy(), R, [0.0, 0.0], ["(Intercept)"] + cols,
                  "union ~ " + " + ".join(cols), "year"))

mw = mroz[mroz.wage.notna()]
cols = ["educ", "exper", "age", "city"]
R = np.zeros((1, 5)); R[0, 2] = 1.0  # exper = 0.02
cases.append(case("gamma_mroz_unem_exper", "gamma_log", design(mw, cols), mw.wage.to_numpy(float),
                  mw.unem.to_numpy(), R, [0.02], ["(Intercept)"] + cols,
                  "wage ~ " + " + ".join(cols), "unem"))

with open("tests/numbers/wild_reference.json", "w") as f:
    json.dump({"generator": "tests/golden/scripts/wild.py", "numpy": np.__version__, "cases": cases}, f, indent=1)
    f.write("\n")
for c in cases:
    print(c["name"], c["statistic"], c["p_value"], c["quantiles"])
