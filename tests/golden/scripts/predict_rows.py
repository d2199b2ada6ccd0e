"""Reference per-row predictions for `--predict FILE` (issue 17 item 8): writes
tests/reference/predict_*/{data.csv, case.json, expected.csv}, read by tests/numbers/predict.rs
(every number at 1e-8 relative, empty cells where the reference is empty). Run from the
repository root:

    /work/venv/bin/python tests/golden/scripts/predict_rows.py   # statsmodels 0.15.0, numpy, pandas

Reference: statsmodels GLM fits (probit: Binomial(Probit()); gamma: Gamma(Log()); the two-part
model as a probit on every complete row and a gamma-log GLM on the positive rows) converged to
tol 1e-13, then `predict(which="linear")` / `predict()` on every row with complete covariates
(statsmodels' own design from the formula, factor reference the first level), `y - mu` and
`resid_pearson` (checked equal to (y - mu) / sqrt(family.variance(mu)) on the estimation rows,
the formula used on the other rows). Rows: every data row in file order; `row` is the CSV line
(header = line 1); rows with a missing covariate have empty cells; rows with a missing outcome
have predictions and empty residuals (Stata's predict). `sample` is 1 on the estimation rows.
Some covariates and outcomes are blanked on purpose (see `blank`).
"""
import json
import os

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "reference")
GOLDEN = os.path.join(os.path.dirname(__file__), "..")


def g17(v):
    return "" if not np.isfinite(v) else "%.17g" % v


def blank(df, col, rows):
    df = df.copy()
    df.loc[rows, col] = np.nan
    return df


def design_rows(df, rhs_vars):
    return ~df[rhs_vars].isna().any(axis=1)


def write(name, df, command, args, cols):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    df.to_csv(os.path.join(d, "data.csv"), index=False)
    with open(os.path.join(d, "case.json"), "w") as fh:
        json.dump({"command": command, "args": args,
                   "reference": "tests/golden/scripts/predict_rows.py (statsmodels GLM predict, resid_pearson)"},
                  fh, indent=2)
        fh.write("\n")
    names = list(cols)
    with open(os.path.join(d, "expected.csv"), "w") as fh:
        fh.write("row," + ",".join(names) + "\n")
        for i in range(len(df)):
            fh.write(str(i + 2) + "," + ",".join(g17(cols[c][i]) for c in names) + "\n")
    print(f"{name}: ok")


def single(name, df, formula, family, rhs_vars, yvar, args, binary):
    dfs = df.copy()
    if binary:
        dfs[yvar] = np.where(dfs[yvar].isna(), np.nan, (dfs[yvar] != 0).astype(float))
    ok_x = design_rows(dfs, rhs_vars)
    ok = ok_x & dfs[yvar].notna()
    res = smf.glm(formula, data=dfs[ok], family=family).fit(tol=1e-13, maxiter=200)
    n = len(df)
    xb, mu = np.full(n, np.nan), np.full(n, np.nan)
    idx = np.where(ok_x)[0]
    xb[idx] = res.predict(dfs[ok_x], which="linear")
    mu[idx] = res.predict(dfs[ok_x])
    y = dfs[yvar].to_numpy(dtype=float)
    resid = y - mu
    pearson = resid / np.sqrt(family.variance(mu))
    fitted_rows = np.where(ok)[0]
    assert np.allclose(pearson[fitted_rows], res.resid_pearson, rtol=1e-12, atol=0)
    assert np.allclose(resid[fitted_rows], res.resid_response, rtol=1e-12, atol=0)
    cols = {"sample": ok.to_numpy().astype(float), "xb": xb}
    if binary:
        cols["pr_pos"] = mu
    cols.update({"mu": mu, "resid": resid, "pearson": pearson})
    write(name, df, "fit", args, cols)


def twopart(name, df, formula_rhs, rhs_vars, yvar, args):
    ok_x = design_rows(df, rhs_vars)
    ok = ok_x & df[yvar].notna()
    d1 = df.copy()
    d1["_pos"] = (d1[yvar] > 0).astype(float)
    r1 = smf.glm("_pos ~ " + formula_rhs, data=d1[ok],
                 family=sm.families.Binomial(sm.families.links.Probit())).fit(tol=1e-13, maxiter=200)
    pos = ok & (df[yvar] > 0)
    r2 = smf.glm(yvar + " ~ " + formula_rhs, data=df[pos],
                 family=sm.families.Gamma(sm.families.links.Log())).fit(tol=1e-13, maxiter=200)
    n = len(df)
    xb1, xb2, pr, mp = (np.full(n, np.nan) for _ in range(4))
    idx = np.where(ok_x)[0]
    xb1[idx] = r1.predict(df[ok_x], which="linear")
    pr[idx] = r1.predict(df[ok_x])
    xb2[idx] = r2.predict(df[ok_x], which="linear")
    mp[idx] = r2.predict(df[ok_x])
    mu = pr * mp
    resid = df[yvar].to_numpy(dtype=float) - mu
    write(name, df, "twopart", args,
          {"sample": ok.to_numpy().astype(float), "xb1": xb1, "xb2": xb2, "pr_pos": pr, "mu_pos": mp, "mu": mu,
           "resid": resid})


def main():
    mroz = pd.read_csv(os.path.join(GOLDEN, "twopart_mroz_hours", "data.csv"))
    mroz["kids"] = np.minimum(mroz["kidslt6"], 2)
    # A missing covariate (empty cells), a missing outcome (predictions, no residuals).
    m = blank(blank(mroz, "educ", [3, 40]), "inlf", [7, 100])
    m = blank(m, "hours", [7, 100])
    single("predict_probit_mroz", m,
           "inlf ~ nwifeinc + educ + exper + I(exper**2) + age + C(kids)",
           sm.families.Binomial(sm.families.links.Probit()),
           ["nwifeinc", "educ", "exper", "age", "kids"], "inlf",
           ["-f", "inlf ~ nwifeinc + educ + exper + I(exper^2) + age + C(kids)", "-m", "probit"], True)
    # wage is missing for every non-participant: predictions for all 753 women, residuals for
    # the 428 with a wage.
    single("predict_gamma_mroz", m,
           "wage ~ educ + exper + I(exper**2) + C(kids)",
           sm.families.Gamma(sm.families.links.Log()),
           ["educ", "exper", "kids"], "wage",
           ["-f", "wage ~ educ + exper + I(exper^2) + C(kids)", "-m", "glm", "--family", "gamma", "--link", "log"],
           False)
    twopart("predict_twopart_mroz", m, "nwifeinc + educ + exper + I(exper**2) + age + kidslt6",
            ["nwifeinc", "educ", "exper", "age", "kidslt6"], "hours",
            ["-f", "hours ~ nwifeinc + educ + exper + I(exper^2) + age + kidslt6"])


if __name__ == "__main__":
    main()
