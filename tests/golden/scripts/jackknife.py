"""Reference numbers for migfit's --vce jackknife: a hand-coded numpy delete-one jackknife.

Each replicate refits the model by IRLS (Fisher scoring, converged to a relative step of 1e-12)
without one unit (a row, or a cluster), and the variance is Stata's
(G-1)/G * sum_g (b_(g) - b_bar)(b_(g) - b_bar)'. Writes tests/golden/<case>/ for the cases
below; run from the repository root with /work/venv/bin/python (numpy, pandas, scipy):

    python tests/golden/scripts/jackknife.py
"""

import json
import os
import shutil

import numpy as np
import pandas as pd
from scipy.stats import norm

ROOT = "tests/golden"


def g17(v):
    return float(f"{v:.17g}")


def family_fns(model):
    """(mu(eta), dmu/deta, variance(mu)) of the model's family and link."""
    if model == "probit":
        return norm.cdf, norm.pdf, lambda m: m * (1 - m)
    if model == "logit":
        f = lambda e: 1 / (1 + np.exp(-e))
        return f, lambda e: f(e) * (1 - f(e)), lambda m: m * (1 - m)
    if model == "gamma_log":
        return np.exp, np.exp, lambda m: m * m
    raise ValueError(model)


def irls(X, y, w, model, start):
    mu_f, d_f, v_f = family_fns(model)
    b = start.copy()
    for _ in range(200):
        eta = X @ b
        mu, d = mu_f(eta), d_f(eta)
        W = w * d * d / v_f(mu)
        z = eta + (y - mu) / d
        new = np.linalg.solve(X.T @ (W[:, None] * X), X.T @ (W * z))
        if np.all(np.abs(new - b) <= 1e-12 * (1 + np.abs(new))):
            return new
        b = new
    raise RuntimeError("IRLS did not converge")


def jackknife(X, y, w, units, model):
    full = irls(X, y, w, model, np.zeros(X.shape[1]) if model != "gamma_log" else
                np.r_[np.log(np.average(y, weights=w)), np.zeros(X.shape[1] - 1)])
    reps = []
    for u in units:
        wu = w.copy()
        wu[u] = 0.0
        reps.append(irls(X, y, wu, model, full))
    reps = np.array(reps)
    g = len(units)
    dev = reps - reps.mean(axis=0)
    return full, (g - 1) / g * dev.T @ dev


def write_case(name, source, args, description, terms, X, y, w, clusters, model):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    shutil.copyfile(source, os.path.join(d, "data.csv"))
    if clusters is None:
        units = [np.array([i]) for i in range(len(y))]
    else:
        units = [np.flatnonzero(clusters == c) for c in pd.unique(clusters)]
    b, v = jackknife(X, y, w, units, model)
    se = np.sqrt(np.diag(v))
    coefs = [
        {"term": t, "estimate": g17(bj), "std_error": g17(sj), "p_value": g17(2 * norm.cdf(-abs(bj / sj)))}
        for t, bj, sj in zip(terms, b, se)
    ]
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({"models": [{"n_obs": len(y), "coefficients": coefs}]}, f, indent=2)
        f.write("\n")
    case = {
        "command": "fit",
        "args": args,
        "description": description,
        "reference": f"tests/golden/scripts/jackknife.py (numpy {np.__version__}, hand-coded IRLS and delete-one jackknife)",
        "loglik_check": False,
        "tolerance": {"estimate": 1e-06, "std_error": 1e-06, "margin_estimate": 1e-06, "margin_std_error": 1e-06},
    }
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(case, f, indent=2)
        f.write("\n")
    print(name, "written")


def design(df, cols):
    return np.column_stack([np.ones(len(df))] + [df[c].to_numpy(float) for c in cols])


# Probit on mroz, rows left out one at a time (753 replicates).
src = f"{ROOT}/probit_mroz_robust/data.csv"
mroz = pd.read_csv(src)
cols = ["nwifeinc", "educ", "exper", "age", "kidslt6", "kidsge6"]
write_case(
    "probit_mroz_jackknife", src,
    ["--formula", "inlf ~ " + " + ".join(cols), "--model", "probit", "--vce", "jackknife"],
    "Probit, delete-one-row jackknife ((N-1)/N, deviations from the replicates' mean)",
    ["(Intercept)"] + cols, design(mroz, cols), mroz["inlf"].to_numpy(float), np.ones(len(mroz)), None, "probit",
)

# Logit on wagepan, persons left out one at a time (545 replicates).
src = f"{ROOT}/probit_wagepan_cluster/data.csv"
wp = pd.read_csv(src)
cols = ["educ", "exper", "black", "hisp", "married"]
write_case(
    "logit_wagepan_jackknife_cluster", src,
    ["--formula", "union ~ " + " + ".join(cols), "--model", "logit", "--vce", "jackknife", "--cluster", "nr"],
    "Logit, delete-one-cluster jackknife by person ((G-1)/G)",
    ["(Intercept)"] + cols, design(wp, cols), wp["union"].to_numpy(float), np.ones(len(wp)), wp["nr"].to_numpy(), "logit",
)

# Gamma-log GLM with pweights on apistrat, districts left out one at a time.
src = f"{ROOT}/glm_gamma_api_pweight_cluster/data.csv"
api = pd.read_csv(src)
api["stype_H"] = (api["stype"] == "H").astype(float)
api["stype_M"] = (api["stype"] == "M").astype(float)
cols = ["ell", "meals", "mobility", "stype_H", "stype_M"]
write_case(
    "glm_gamma_api_pweight_jackknife", src,
    ["--formula", "api00 ~ ell + meals + mobility + C(stype)", "--model", "glm", "--family", "gamma", "--link", "log",
     "--weights", "pw", "--weight-type", "pweight", "--vce", "jackknife", "--cluster", "dnum"],
    "Gamma-log GLM with pweights, delete-one-district jackknife",
    ["(Intercept)", "ell", "meals", "mobility", "C(stype)[H]", "C(stype)[M]"], design(api, cols),
    api["api00"].to_numpy(float), api["pw"].to_numpy(float), api["dnum"].to_numpy(), "gamma_log",
)
