"""Golden numbers for elasticities and semi-elasticities (`--margins-scale eyex|dyex|eydx`,
issue 17 item 1; Stata's `margins, eyex() dyex() eydx()`): writes tests/golden/el_*/{data.csv,
case.json, expected.json}. Run from the repository root with the marginaleffects venv:

    /work/venvs/margins/bin/python tests/golden/scripts/elasticities.py
    # marginaleffects 0.6.0 (its polars shim as in predictions.py), statsmodels 0.15.0, numpy

Reference, per case:
  * the fit and its variance from migref.py (the independent numpy implementation of Stata's
    conventions the other golden cases use);
  * each row's effect on the scale, hand-coded here: d_i = dF/dv by the complex step of the
    design (through I(x^2)), F_i the prediction (a two-part model's combined E[y] =
    Phi(x b1) exp(z b2)), x_i the variable: eyex d x / F, dyex d x, eydx d / F, and for a
    factor level under eydx ln F(level) - ln F(reference) (Stata's eydx of a factor, Stata blog
    2022-04-05, equation 3); averaged with the estimation weights, sum w e / sum w (Stata's
    average of the row-wise effects);
  * delta method sqrt(J V J') with J the 4th-order central-difference Jacobian of that average
    in the stacked coefficients (numpy);
  * cross-check (the case is not written if it fails) on the single-model cases: Python
    marginaleffects' avg_slopes(slope=..., wts=, vcov=V) on a statsmodels GLM holding migref's
    estimates. marginaleffects' averaging definition is Stata's (estimands.py: the row-wise
    (hi - lo)/eps * x / y, then the weighted mean of the rows; checked here against the numpy
    average). Its slope is a forward difference in x and its Jacobian a forward difference of
    that in the coefficients, whose SEs move with its step eps_vcov (nwifeinc in
    el_probit_mroz_eyex: 0.09193 to 0.09215 against 0.091949 here; meals in
    el_gamma_api_pweight_dyex, where a step on the I(meals^2) coefficient moves eta by 0.1 at
    eps_vcov = 1e-5: 18.82, 17.32, 17.18, 17.17 for eps_vcov 1e-5 ... 1e-8, against 17.164
    here): estimates are compared at 1e-6, and the SE closest to ours over eps_vcov 1e-5 ...
    1e-8 at 5e-3 relative, a check of the definition; the golden digits are the numpy ones. It is not used for factor levels (its categorical
    contrasts are not Stata's mean log change).
"""
import json
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
import migref  # noqa: E402
from migref import dumps17  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
TOL = {"estimate": 1e-6, "std_error": 1e-6, "margin_estimate": 1e-6, "margin_std_error": 1e-5}


def read(case):
    return pd.read_csv(os.path.join(ROOT, case, "data.csv"), na_values=["", "NA", "."], keep_default_na=False)


def row_prediction(parts, env, ind=None):
    """F on each row: the product of the parts' means."""
    F = 1.0
    for p in parts:
        F = F * p.m.link.mu(p.X(env, ind) @ p.m.b)
    return F


def average(parts, env, w, var, level, scale):
    """The weighted average of the row-wise effects of `var` (a factor level when `level` is
    not None) on `scale`."""
    if level is not None:
        assert scale == "eydx"
        ref = next(p.f.ref[var] for p in parts if var in p.f.factors)
        lf = {}
        for lv in (level, ref):
            ind = migref.factor_indicator_override(env, var, lv)
            lf[lv] = np.log(row_prediction(parts, env, ind))
        e = lf[level] - lf[ref]
        return float(np.sum(w * e) / np.sum(w))
    F = row_prediction(parts, env)
    mus = [p.m.link.mu(p.X(env) @ p.m.b) for p in parts]
    d = np.zeros(len(w))
    for k, p in enumerate(parts):
        if var not in p.f.rhs_vars:
            continue
        dX = migref.complex_step_dX(p, env, var)
        eta = p.X(env) @ p.m.b
        dk = p.m.link.d1(eta) * (dX @ p.m.b)
        for j, q in enumerate(parts):
            if j != k:
                dk = dk * mus[j]
        d += dk
    x = np.asarray(env[var], dtype=float)
    e = {"dydx": d, "eyex": d * x / F, "dyex": d * x, "eydx": d / F}[scale]
    assert scale == "dyex" or np.all(F > 0)
    return float(np.sum(w * e) / np.sum(w))


def jacobian(parts, env, w, var, level, scale, h=1e-5):
    """4th-order central differences of `average` in the stacked coefficients."""
    sizes = [len(p.m.b) for p in parts]
    b0 = np.concatenate([p.m.b for p in parts])
    out = np.zeros_like(b0)

    def f(b):
        o = 0
        for p, k in zip(parts, sizes):
            p.m.b = b[o:o + k]
            o += k
        return average(parts, env, w, var, level, scale)
    for j in range(len(b0)):
        e = np.zeros_like(b0)
        s = h * max(1.0, abs(b0[j]))
        e[j] = s
        out[j] = (-f(b0 + 2 * e) + 8 * f(b0 + e) - 8 * f(b0 - e) + f(b0 - 2 * e)) / (12 * s)
    f(b0)
    return out


def effects(parts, env, w, V, scale):
    """Every effect migfit reports on `scale`, in its order: continuous variables (their
    contrast is the scale's name), then factor levels (eydx and dydx only)."""
    out = []
    for term, contrast, var, level in migref.margin_list([p.f for p in parts]):
        if level is not None and scale in ("eyex", "dyex"):
            continue
        est = average(parts, env, w, var, level, scale)
        J = jacobian(parts, env, w, var, level, scale)
        out.append({"term": term, "contrast": scale if level is None else contrast, "estimate": est,
                    "std_error": float(np.sqrt(J @ V @ J)), "_var": var, "_level": level})
    return out


def strip(rows):
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]


def me_check(kind, formula, names, b, V, env_df, scale, rows):
    """marginaleffects avg_slopes on a statsmodels GLM holding migref's estimates."""
    import marginaleffects as me
    import polars as pl
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    if not getattr(pl.Series.is_in, "_float_shim", False):
        _is_in = pl.Series.is_in

        def is_in(self, other, *a, **k):
            if self.dtype in (pl.Float32, pl.Float64) and isinstance(other, list):
                other = [float(x) for x in other]
            return _is_in(self, other, *a, **k)
        is_in._float_shim = True
        pl.Series.is_in = is_in
    fam = {"probit": sm.families.Binomial(sm.families.links.Probit()),
           "gamma": sm.families.Gamma(sm.families.links.Log())}[kind]
    res = smf.glm(formula.replace("^", "**"), data=env_df, family=fam).fit()

    def ours(name):
        n = name.replace("Intercept", "(Intercept)").replace("[T.", "[").replace(" ** ", "^")
        return names.index(n)
    perm = [ours(n) for n in res.params.index]
    res._results.params = np.array([b[i] for i in perm])
    Vsm = V[np.ix_(perm, perm)]
    data = pl.from_pandas(env_df)
    for r in rows:
        if r["_level"] is not None:
            continue
        ses = []
        for eps_vcov in (1e-5, 1e-6, 1e-7, 1e-8):
            got = me.avg_slopes(res, variables=r["_var"], slope=scale, newdata=data, wts="_w", vcov=Vsm,
                                eps_vcov=eps_vcov).row(0, named=True)
            assert abs(got["estimate"] - r["estimate"]) <= 1e-6 * abs(r["estimate"]), (r, got["estimate"])
            ses.append(got["std_error"])
        best = min(ses, key=lambda s: abs(s - r["std_error"]))
        assert abs(best - r["std_error"]) <= 5e-3 * r["std_error"], (r, ses)


def write(name, command, args, desc, expected, df):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    df.to_csv(os.path.join(d, "data.csv"), index=False)
    case = {"command": command, "args": args, "description": desc,
            "reference": "tests/golden/scripts/elasticities.py: migref.py fit and variance, hand-coded row-wise "
                         "(semi-)elasticities averaged with the weights, numpy delta method (4th-order numerical "
                         "Jacobian); single models cross-checked against marginaleffects avg_slopes(slope=...)",
            "loglik_check": False, "tolerance": TOL}
    with open(os.path.join(d, "case.json"), "w") as fh:
        fh.write(dumps17(case, fmt=None) + "\n")
    with open(os.path.join(d, "expected.json"), "w") as fh:
        fh.write(dumps17(expected) + "\n")
    print(f"{name}: ok")


def single_case(name, df, args, scale, kind, desc):
    o = migref.parse_args(args)
    res, models, V = migref.run_fit(df, args)
    m = models[0]
    f0 = migref.Formula(o["formula"], df)
    cols = f0.used_columns() + [c for c in (o.get("weights"), o.get("cluster")) if c]
    mask = ~migref.missing_mask(df, cols)
    f, env, X, y = migref.build(df, o["formula"], mask)
    part = migref.Part(m, f, env, mask)
    rows = effects([part], env, m.w, V, scale)
    env_df = df[mask].copy().reset_index(drop=True)
    env_df["_w"] = m.w
    for v in f.factors:
        env_df[v] = env_df[v].map(migref.level_str).astype("category")
    me_check(kind, o["formula"], m.names, m.b, V, env_df, scale, rows)
    full = list(args) + ["--margins-scale", scale]
    write(name, "fit", full, desc, {"models": [{"n_obs": int(round(m.N)), "margins": strip(rows)}]}, df)


def twopart_case(name, df, args, scale, desc):
    o = migref.parse_args(args)
    res, (m1, m2), V = migref.run_twopart(df, args)
    f1text = o["formula"]
    f2text = o.get("formula2", f1text)
    fa, fb = migref.Formula(f1text, df), migref.Formula(f2text, df)
    cols = list(dict.fromkeys(fa.used_columns() + fb.used_columns() +
                              [c for c in (o.get("weights"), o.get("cluster")) if c]))
    mask = ~migref.missing_mask(df, cols)
    yall = df[fa.lhs_comp.vars[0]].to_numpy(dtype=float)
    pos = mask & (yall > 0)
    f1, env1, _, _ = migref.build(df, f1text, mask)
    f2, env2, _, _ = migref.build(df, f2text, pos)
    K1 = m1.K
    V1, V2 = V[:K1, :K1], V[K1:, K1:]
    r1 = effects([migref.Part(m1, f1, env1, mask)], env1, m1.w, V1, scale)
    r2 = effects([migref.Part(m2, f2, env2, pos)], env2, m2.w, V2, scale)
    envc = {v: df[mask][v].to_numpy() for v in list(dict.fromkeys(f1.rhs_vars + f2.rhs_vars))}
    rc = effects([migref.Part(m1, f1, envc, mask), migref.Part(m2, f2, envc, mask)], envc, m1.w, V, scale)
    full = list(args) + ["--margins-scale", scale]
    e = {"models": [{"name": "first", "n_obs": int(round(m1.N)), "margins": strip(r1)},
                    {"name": "second", "n_obs": int(round(m2.N)), "margins": strip(r2)}],
         "combined": {"margins": strip(rc)}}
    write(name, "twopart", full, desc, e, df)


def main():
    mroz = read("twopart_mroz_hours")
    mroz["kids"] = np.minimum(mroz["kidslt6"], 2)
    api = read("probit_api_pweight")
    single_case(
        "el_probit_mroz_eyex", mroz,
        ["--formula", "inlf ~ nwifeinc + educ + exper + I(exper^2) + age + C(kids)", "--model", "probit",
         "--vce", "robust"],
        "eyex", "probit",
        "Probit, robust: average elasticities ey/ex through I(exper^2); the factor has no ex and is left out")
    single_case(
        "el_probit_api_pweight_eydx", api,
        ["--formula", "sch_wide ~ ell + meals + mobility + C(stype)", "--model", "probit", "--weights", "pw",
         "--weight-type", "pweight"],
        "eydx", "probit",
        "Probit with pweights: weighted average semi-elasticities ey/dx; stype levels as the average change of ln Pr")
    single_case(
        "el_gamma_api_pweight_eyex", api,
        ["--formula", "api00 ~ ell + meals + mobility + C(stype)", "--model", "glm", "--family", "gamma",
         "--link", "log", "--weights", "pw", "--weight-type", "pweight"],
        "eyex", "gamma",
        "Gamma-log GLM with pweights: weighted average elasticities ey/ex")
    single_case(
        "el_gamma_api_pweight_dyex", api,
        ["--formula", "api00 ~ ell + meals + I(meals^2) + mobility + C(stype)", "--model", "glm", "--family",
         "gamma", "--link", "log", "--weights", "pw", "--weight-type", "pweight"],
        "dyex", "gamma",
        "Gamma-log GLM with pweights: weighted average semi-elasticities dy/ex through I(meals^2)")
    twopart_case(
        "el_twopart_mroz_eyex", mroz,
        ["--formula", "hours ~ nwifeinc + educ + exper + I(exper^2) + age + kidslt6 + kidsge6", "--first",
         "probit", "--family", "gamma", "--link", "log", "--joint-vce"],
        "eyex",
        "Two-part (probit, gamma-log), joint robust variance: elasticities of Pr(y>0), E[y|y>0] and the "
        "combined E[y] (row-wise d E[y]/dx x / E[y], averaged)")
    twopart_case(
        "el_twopart_mroz_eydx", mroz,
        ["--formula", "hours ~ nwifeinc + educ + exper + I(exper^2) + age + C(kids)", "--first",
         "probit", "--family", "gamma", "--link", "log"],
        "eydx",
        "Two-part, block-diagonal OIM: semi-elasticities ey/dx of each part and of E[y]; kids levels as the "
        "average change of ln E[y]")


if __name__ == "__main__":
    main()
