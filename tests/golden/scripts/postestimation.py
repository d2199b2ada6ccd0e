#!/usr/bin/env python3
"""Golden cases for post-estimation (issue #17, items 6 and 7): Wald tests (`--test`), linear
combinations (`--lincom`), the header's model test, AIC and BIC.

Run from the repository root with the project venv:

    /work/venv/bin/python tests/golden/scripts/postestimation.py

Reference: statsmodels (Probit/Logit, Newton with a tight tolerance). The variance is the one
Stata uses (OIM = statsmodels' nonrobust; robust = HC0 * N/(N-1); cluster =
`use_correction=False` * G/(G-1); fweights by expanding rows), passed to statsmodels'
`wald_test(..., cov_p=V, use_f=False)` and `t_test(..., cov_p=V)`. The model test is
statsmodels' `llr` (LR, where Stata prints "LR chi2") or `wald_test` of all slopes (robust and
cluster, where Stata prints "Wald chi2"). AIC and BIC are Stata's `estat ic`,
-2 llf + 2k and -2 llf + k ln N (k = estimated coefficients, N = observations, the sum of
fweights); statsmodels' own `aic`/`bic` of a discrete model are the same formula and are
asserted equal. The survey case (adjusted Wald F) is written by postestimation.R.

Input data are the public datasets already in tests/golden (mroz, wagepan, UCBAdmissions).
"""
import json
import os
import sys

import numpy as np
import pandas as pd
import scipy
import statsmodels
import statsmodels.api as sm
from scipy import stats

sys.path.insert(0, os.path.dirname(__file__))
from migref import dumps17  # noqa: E402


ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TOL = {"estimate": 1e-6, "std_error": 1e-6, "margin_estimate": 1e-6, "margin_std_error": 1e-5, "test": 1e-5}
REFERENCE = (f"tests/golden/scripts/postestimation.py: statsmodels {statsmodels.__version__} wald_test / "
             f"t_test / llr with Stata's variance (numpy {np.__version__}, scipy {scipy.__version__}); "
             f"AIC/BIC as Stata's estat ic from statsmodels' llf")


def read(case):
    return pd.read_csv(os.path.join(ROOT, case, "data.csv"))


def design(df, spec):
    """spec: list of (name, column values) in migfit's coefficient order."""
    names = [n for n, _ in spec]
    X = np.column_stack([np.asarray(v, float) for _, v in spec])
    return names, X


def dummies(df, var, ref=None):
    levels = sorted(df[var].unique(), key=lambda v: (str(type(v)), v))
    ref = levels[0] if ref is None else ref
    return [(f"C({var})[{lv}]", (df[var] == lv).astype(float)) for lv in levels if lv != ref]


def fit(kind, y, X, vce, groups=None):
    model = (sm.Probit if kind == "probit" else sm.Logit)(y, X)
    res = model.fit(method="newton", maxiter=200, tol=1e-12, disp=0)
    assert res.mle_retvals["converged"], "the reference fit did not converge"
    n = len(y)
    if vce == "oim":
        V = res.cov_params()
    elif vce == "robust":
        V = model.fit(start_params=res.params, method="newton", maxiter=0, disp=0,
                      cov_type="HC0").cov_params() * n / (n - 1)
    elif vce == "cluster":
        g = len(np.unique(groups))
        V = model.fit(start_params=res.params, method="newton", maxiter=0, disp=0, cov_type="cluster",
                      cov_kwds={"groups": groups, "use_correction": False}).cov_params() * g / (g - 1)
    return res, np.asarray(V)


def restriction(names, text):
    """Rows of R for the hypotheses the cases use (a tiny parser: 'a', 'a = b', 'a = 0',
    'C(var)' for every level), independent of migfit's."""
    rows, rhs = [], []
    for item in text.split(", "):
        if "=" in item:
            lhs, r = [s.strip() for s in item.split(" = ")]
            row = np.zeros(len(names))
            row[names.index(lhs)] = 1.0
            try:
                rhs.append(float(r))
            except ValueError:
                row[names.index(r)] -= 1.0
                rhs.append(0.0)
            rows.append(row)
        elif item in names:
            row = np.zeros(len(names))
            row[names.index(item)] = 1.0
            rows.append(row)
            rhs.append(0.0)
        else:  # a factor: every level of its main effect
            for i, n in enumerate(names):
                if n.startswith(item + "[") and ":" not in n:
                    row = np.zeros(len(names))
                    row[i] = 1.0
                    rows.append(row)
                    rhs.append(0.0)
    return np.array(rows), np.array(rhs)


def combination(names, text):
    c = np.zeros(len(names))
    a, b = [s.strip() for s in text.split(" - ")]
    c[names.index(a)] = 1.0
    c[names.index(b)] = -1.0
    return c


def wald(res, V, names, text):
    R, q = restriction(names, text)
    w = res.wald_test((R, q), cov_p=V, use_f=False, scalar=True)
    stat, df = float(w.statistic), float(w.df_denom if False else R.shape[0])
    # By hand as a second opinion.
    d = R @ res.params - q
    hand = float(d @ np.linalg.solve(R @ V @ R.T, d))
    assert abs(hand - stat) <= 1e-9 * abs(stat), (hand, stat)
    return {"test": text, "statistic": stat, "df": df, "p_value": float(stats.chi2.sf(stat, df)), "kind": "chi2"}


def lincom(res, V, names, text, level=95.0):
    c = combination(names, text)
    t = res.t_test(c, cov_p=V, use_t=False)
    est, se = float(np.squeeze(t.effect)), float(np.squeeze(t.sd))
    assert abs(se - np.sqrt(c @ V @ c)) <= 1e-12 * se
    z = est / se
    q = stats.norm.ppf(0.5 + level / 200)
    return {"term": text, "estimate": est, "std_error": se, "statistic": z,
            "p_value": float(2 * stats.norm.sf(abs(z))), "conf_low": est - q * se, "conf_high": est + q * se}


def write(name, data, args, desc, res, V, names, n_obs, tests, lincoms, lr):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    data.to_csv(os.path.join(d, "data.csv"), index=False)
    llf = float(res.llf)
    k = len(names)
    aic, bic = -2 * llf + 2 * k, -2 * llf + k * np.log(n_obs)
    if lr:
        assert abs(res.aic - aic) <= 1e-12 * abs(aic) and abs(res.bic - bic) <= 1e-12 * abs(bic)
        mt = {"statistic": float(res.llr), "df": float(res.df_model), "p_value": float(res.llr_pvalue),
              "kind": "chi2", "method": "LR"}
    else:
        slopes = ", ".join(n for n in names if n != "(Intercept)")
        w = wald(res, V, names, slopes)
        mt = {"statistic": w["statistic"], "df": w["df"], "p_value": w["p_value"], "kind": "chi2"}
    se = np.sqrt(np.diag(V))
    model = {
        "n_obs": n_obs,
        "log_likelihood": llf,
        "coefficients": [{"term": n, "estimate": float(b), "std_error": float(s)}
                         for n, b, s in zip(names, res.params, se)],
        "omitted": [],
        "aic": aic,
        "bic": bic,
        "model_test": mt,
        "tests": [wald(res, V, names, t) for t in tests],
        "lincom": [lincom(res, V, names, t) for t in lincoms],
    }
    case = {"command": "fit", "args": args, "description": desc, "reference": REFERENCE,
            "loglik_check": True, "tolerance": TOL}
    with open(os.path.join(d, "case.json"), "w") as fh:
        fh.write(dumps17(case, fmt=None) + "\n")
    with open(os.path.join(d, "expected.json"), "w") as fh:
        fh.write(dumps17({"models": [model]}) + "\n")
    print(f"{name}: ok")


def test_args(tests, lincoms):
    out = []
    for t in tests:
        out += ["--test", t]
    for t in lincoms:
        out += ["--lincom", t]
    return out


def mroz_probit():
    df = read("probit_mroz_oim")
    # A 3-level factor: age band (kidslt6 has a level with perfect prediction).
    df["agegrp"] = np.where(df.age < 36, 1, np.where(df.age < 46, 2, 3))
    one = np.ones(len(df))
    names, X = design(df, [("(Intercept)", one), ("nwifeinc", df.nwifeinc), ("educ", df.educ),
                           ("exper", df.exper), ("I(exper^2)", df.exper ** 2), ("age", df.age)]
                      + dummies(df, "agegrp") + [("kidslt6", df.kidslt6), ("kidsge6", df.kidsge6)])
    res, V = fit("probit", df.inlf.values, X, "oim")
    tests = ["C(agegrp)", "educ = 0, age = 0", "exper = age"]
    lincoms = ["educ - age"]
    f = "inlf ~ nwifeinc + educ + exper + I(exper^2) + age + C(agegrp) + kidslt6 + kidsge6"
    write("postest_probit_mroz_oim", df, ["--formula", f, "--model", "probit"] + test_args(tests, lincoms),
          "Probit OIM with a 3-level factor C(agegrp) (age bands <36, 36-45, 46+ of mroz): testparm-style "
          "joint test, joint and a = b tests, lincom, LR model chi2, AIC/BIC", res, V, names, len(df), tests,
          lincoms, lr=True)


def mroz_logit_robust():
    df = read("probit_mroz_oim")
    one = np.ones(len(df))
    names, X = design(df, [("(Intercept)", one), ("nwifeinc", df.nwifeinc), ("educ", df.educ),
                           ("exper", df.exper), ("I(exper^2)", df.exper ** 2), ("age", df.age),
                           ("kidslt6", df.kidslt6), ("kidsge6", df.kidsge6),
                           ("educ:nwifeinc", df.educ * df.nwifeinc)])
    res, V = fit("logit", df.inlf.values, X, "robust")
    tests = ["educ, educ:nwifeinc", "I(exper^2) = 0", "kidslt6 = kidsge6"]
    lincoms = ["kidslt6 - kidsge6"]
    f = "inlf ~ nwifeinc + educ + exper + I(exper^2) + age + kidslt6 + kidsge6 + educ:nwifeinc"
    write("postest_logit_mroz_robust", df, ["--formula", f, "--model", "logit", "--vce", "robust"]
          + test_args(tests, lincoms),
          "Logit robust with an interaction and I(x^2): joint tests through the interaction, Wald model "
          "chi2 (robust), lincom, AIC/BIC", res, V, names, len(df), tests, lincoms, lr=False)


def wagepan_cluster():
    df = read("logit_wagepan_cluster")
    one = np.ones(len(df))
    names, X = design(df, [("(Intercept)", one), ("educ", df.educ), ("exper", df.exper),
                           ("I(exper^2)", df.exper ** 2), ("black", df.black), ("hisp", df.hisp),
                           ("married", df.married)] + dummies(df, "year"))
    res, V = fit("logit", df.union.values, X, "cluster", groups=df.nr.values)
    tests = ["C(year)", "black = hisp"]
    lincoms = ["black - hisp"]
    f = "union ~ educ + exper + I(exper^2) + black + hisp + married + C(year)"
    write("postest_logit_wagepan_cluster", df, ["--formula", f, "--model", "logit", "--cluster", "nr"]
          + test_args(tests, lincoms),
          "Logit clustered by person with an 8-level factor C(year): testparm of the year levels, a = b, "
          "lincom, Wald model chi2 (cluster)", res, V, names, len(df), tests, lincoms, lr=False)


def ucb_fweight():
    df = read("probit_ucb_fweight")
    ex = df.loc[df.index.repeat(df.freq)].reset_index(drop=True)
    one = np.ones(len(ex))
    names, X = design(ex, [("(Intercept)", one), ("female", ex.female)] + dummies(ex, "dept"))
    res, V = fit("probit", ex.admit.values, X, "oim")
    tests = ["C(dept)", "female = 0"]
    lincoms = ["C(dept)[B] - C(dept)[C]"]
    write("postest_probit_ucb_fweight", df,
          ["--formula", "admit ~ female + C(dept)", "--model", "probit", "--weights", "freq",
           "--weight-type", "fweight"] + test_args(tests, lincoms),
          "Probit with frequency weights (24 cells = 4526 applicants), 6-level text factor: testparm, "
          "lincom of two levels, LR model chi2, AIC/BIC with N = sum of fweights (rows expanded in the "
          "reference)", res, V, names, int(df.freq.sum()), tests, lincoms, lr=True)


if __name__ == "__main__":
    mroz_probit()
    mroz_logit_robust()
    wagepan_cluster()
    ucb_fweight()
