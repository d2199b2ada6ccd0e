"""Golden numbers for predictive margins, their contrasts and at-grids (issue 17): writes
tests/golden/pm_*/{data.csv, case.json, expected.json}. Run from the repository root with a
Python that has marginaleffects (PyPI) and statsmodels:

    /work/venvs/margins/bin/python tests/golden/scripts/predictions.py   # marginaleffects 0.6.0, polars 1.44 (its
    # polars-2 incompatibility: get_categories was removed), statsmodels 0.15.0, pandas 3.1.1

Reference, per case:
  * the fit and its variance (OIM, robust, cluster, fweight/pweight) from migref.py, the
    independent numpy implementation of Stata's conventions the other golden cases use;
  * predictive margins PM_l = sum_i w_i F(x_i^(l) b) / sum_i w_i (every row set to level l,
    at-grid variables fixed), with the analytic Jacobian sum_i w_i F'(eta_i^(l)) x_i^(l) / W,
    hand-coded here in numpy; contrasts PM_a - PM_b with Jacobian J_a - J_b; SE sqrt(J V J');
    two-part E[y] = Phi(x b1) exp(z b2) with the joint (stacked) or block-diagonal variance;
  * cross-check (the case is not written if it fails): marginaleffects' avg_predictions
    (by=, wts=, variables=, vcov=V; its own finite-difference Jacobian) on a statsmodels model
    holding migref's estimates, estimates to 1e-9 and SEs to 1e-5 relative; for the two-part
    cases a 4th-order numerical Jacobian of the hand-coded E[y] margins instead.
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


def level_name(x):
    return migref.level_str(x)


def design_under(part, env, factor_levels, at):
    """The part's design with factors set to levels and numeric variables fixed."""
    e = dict(env)
    n = len(next(iter(env.values())))
    for v, x in at.items():
        if v in part.f.factors:
            factor_levels = dict(factor_levels, **{v: x})
        else:
            e[v] = np.full(n, float(x))

    def ind(v, x):
        if v in factor_levels:
            return np.full(n, float(factor_levels[v] == x))
        return (np.asarray(env[v]) == x).astype(float)
    return part.X(e, ind)


def pm(parts, env, w, factor_levels, at):
    """Average prediction (product of the parts' means) and its Jacobian."""
    preds, ders, Xs = [], [], []
    for p in parts:
        X = design_under(p, env, factor_levels, at)
        eta = X @ p.m.b
        preds.append(p.m.link.mu(eta))
        ders.append(p.m.link.d1(eta))
        Xs.append(X)
    W = w.sum()
    F = np.prod(preds, axis=0)
    jac = []
    for k in range(len(parts)):
        other = np.prod([preds[j] for j in range(len(parts)) if j != k], axis=0) if len(parts) > 1 else 1.0
        jac.append(Xs[k].T @ (w * ders[k] * other) / W)
    return float(F @ w / W), np.concatenate(jac)


def numeric_jac(parts, env, w, factor_levels, at, h=1e-5):
    """4th-order central differences of pm in the stacked parameters (a check)."""
    sizes = [len(p.m.b) for p in parts]
    b0 = np.concatenate([p.m.b for p in parts])
    out = np.zeros_like(b0)

    def f(b):
        o = 0
        for p, k in zip(parts, sizes):
            p.m.b = b[o:o + k]
            o += k
        return pm(parts, env, w, factor_levels, at)[0]
    for j in range(len(b0)):
        e = np.zeros_like(b0)
        s = h * max(1.0, abs(b0[j]))
        e[j] = s
        out[j] = (-f(b0 + 2 * e) + 8 * f(b0 + e) - 8 * f(b0 - e) + f(b0 - 2 * e)) / (12 * s)
    f(b0)
    return out


def row(term, est, se, at=None):
    d = {"term": term}
    if at:
        d["at"] = {k: float(v) for k, v in at.items()}
    d["estimate"] = est
    d["std_error"] = se
    return d


def contrast_pairs(levels, ref, kind):
    idx = list(range(len(levels)))
    if kind == "pairwise":
        return [(levels[b], levels[a]) for a in idx for b in idx if b > a]
    if kind == "reference":
        return [(x, ref) for x in levels if x != ref]
    return [(levels[i + 1], levels[i]) for i in range(len(levels) - 1)]


def margins_block(parts, env, w, V, text, var, levels, ref, kind, grid, check):
    preds, cons = [], []
    for at in grid:
        cache = {}
        for x in levels:
            est, J = pm(parts, env, w, {var: x}, at)
            if check:
                Jn = numeric_jac(parts, env, w, {var: x}, at)
                err = np.max(np.abs(J - Jn)) / (np.max(np.abs(J)) + 1e-300)
                assert err < 1e-6, f"analytic vs numeric Jacobian: {err}"
            cache[x] = (est, J)
            preds.append(row(f"{text}[{level_name(x)}]", est, float(np.sqrt(J @ V @ J)), at))
        if kind:
            for a, b in contrast_pairs(levels, ref, kind):
                est = cache[a][0] - cache[b][0]
                J = cache[a][1] - cache[b][1]
                cons.append(row(f"{text}[{level_name(a)}] - {text}[{level_name(b)}]", est,
                                float(np.sqrt(J @ V @ J)), at))
    return preds, cons


def me_check(model_kind, m, env_df, var, grid, preds, V, order):
    """marginaleffects avg_predictions on a statsmodels model holding migref's estimates."""
    import statsmodels.api as sm
    import marginaleffects as me
    import polars as pl
    # marginaleffects calls Series.is_in([0, 1]) on float columns, which polars >= 2 refuses
    # (Float64 against a list of Int64): compare with floats instead (same result).
    if not getattr(pl.Series.is_in, "_float_shim", False):
        _is_in = pl.Series.is_in

        def is_in(self, other, *a, **k):
            if self.dtype in (pl.Float32, pl.Float64) and isinstance(other, list):
                other = [float(x) for x in other]
            return _is_in(self, other, *a, **k)
        is_in._float_shim = True
        pl.Series.is_in = is_in
    fam = {"probit": sm.families.Binomial(sm.families.links.Probit()),
           "logit": sm.families.Binomial()}[model_kind]
    formula = m["formula"].replace("^", "**")
    import statsmodels.formula.api as smf
    mod = smf.glm(formula, data=env_df, family=fam)
    res = mod.fit()
    # migref's estimates (Stata's conventions) in statsmodels' column order.

    def ours(name):
        n = name.replace("Intercept", "(Intercept)").replace("[T.", "[").replace(" ** ", "^")
        n = n.replace("[1.0]", "[1]").replace("[2.0]", "[2]").replace("[3.0]", "[3]")
        return m["names"].index(n)
    res._results.params = np.array([m["b"][ours(n)] for n in res.params.index])
    assert np.allclose(res.params.to_numpy(), [m["b"][ours(n)] for n in res.params.index])
    perm = [ours(n) for n in res.params.index]
    data = pl.from_pandas(env_df)
    for at in grid:
        d = data
        for k, v in at.items():
            d = d.with_columns(pl.lit(float(v)).alias(k))
        levels = sorted(env_df[var].unique())
        Vsm = V[np.ix_(perm, perm)]
        out = me.avg_predictions(res, variables={var: levels}, by=var, newdata=d, wts="_w", vcov=Vsm)
        for r in out.iter_rows(named=True):
            term = f"C({var})[{r[var]}]"
            mine = [p for p in preds if p["term"] == term and p.get("at", {}) == {k: float(x) for k, x in at.items()}]
            assert len(mine) == 1, (term, at)
            o = mine[0]
            assert abs(o["estimate"] - r["estimate"]) <= 1e-9 * abs(o["estimate"]), (term, o, r)
            assert abs(o["std_error"] - r["std_error"]) <= 1e-5 * o["std_error"], (term, o["std_error"], r["std_error"])


def read(case):
    return pd.read_csv(os.path.join(ROOT, case, "data.csv"), na_values=["", "NA", "."], keep_default_na=False)


def fit_single(df, args):
    o = migref.parse_args(args)
    res, models, V = migref.run_fit(df, args)
    m = models[0]
    f0 = migref.Formula(o["formula"], df)
    cols = f0.used_columns() + [c for c in (o.get("weights"), o.get("cluster")) if c]
    mask = ~migref.missing_mask(df, cols)
    f, env, X, y = migref.build(df, o["formula"], mask)
    return o, m, V, migref.Part(m, f, env, mask), env, mask


def write(name, src, command, args, desc, expected, df=None):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    (df if df is not None else read(src)).to_csv(os.path.join(d, "data.csv"), index=False)
    case = {"command": command, "args": args, "description": desc,
            "reference": "tests/golden/scripts/predictions.py: migref.py fit and variance, hand-coded "
                         "analytic delta method (numpy), cross-checked against marginaleffects "
                         "avg_predictions (single models) or a numerical Jacobian (two-part)",
            "loglik_check": False, "tolerance": TOL}
    with open(os.path.join(d, "case.json"), "w") as fh:
        fh.write(dumps17(case, fmt=None) + "\n")
    with open(os.path.join(d, "expected.json"), "w") as fh:
        fh.write(dumps17(expected) + "\n")
    print(f"{name}: ok")


def single_case(name, src, args, var, kind, grid_text, grid, desc, me_model=None, df=None):
    df = read(src) if df is None else df
    o, m, V, part, env, mask = fit_single(df, args)
    f = part.f
    levels = f.levels[var]
    preds, cons = margins_block([part], env, m.w, V, f"C({var})", var, levels, f.ref[var], kind, grid, True)
    if me_model:
        env_df = df[mask].copy().reset_index(drop=True)
        env_df["_w"] = m.w
        env_df[var] = env_df[var].map(level_name).astype("category")
        order = [m.names.index(n) for n in m.names]
        me_check(me_model, {"formula": o["formula"], "b": m.b, "names": m.names}, env_df, var, grid, preds,
                 V, order)
    full = list(args) + ["--predict-margins", var]
    if kind:
        full += ["--contrast", f"{var}:{kind}"]
    if grid_text:
        full += ["--at", grid_text]
    e = {"models": [{"n_obs": int(round(m.N)), "predictions": preds, "contrasts": cons}]}
    if not cons:
        del e["models"][0]["contrasts"]
    write(name, src, "fit", full, desc, e, df)


def overall_case(name, args, grid_text, grid, desc, me_model, df):
    """`--predict-margins _cons --at GRID`: the overall average prediction at each grid point
    (Stata's `margins, at(...)` without a varlist), checked against marginaleffects
    `avg_predictions` on the counterfactual data (every row at the grid point)."""
    o, m, V, part, env, mask = fit_single(df, args)
    preds = []
    for at in grid:
        est, J = pm([part], env, m.w, {}, at)
        Jn = numeric_jac([part], env, m.w, {}, at)
        assert np.max(np.abs(J - Jn)) / (np.max(np.abs(J)) + 1e-300) < 1e-6
        preds.append(row("_cons", est, float(np.sqrt(J @ V @ J)), at))
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    import marginaleffects as me
    import polars as pl
    env_df = df[mask].copy().reset_index(drop=True)
    env_df["_w"] = m.w
    for v in part.f.factors:
        env_df[v] = env_df[v].map(level_name).astype("category")
    fam = {"probit": sm.families.Binomial(sm.families.links.Probit()), "logit": sm.families.Binomial()}[me_model]
    res = smf.glm(o["formula"].replace("^", "**"), data=env_df, family=fam).fit()

    def ours(name):
        n = name.replace("Intercept", "(Intercept)").replace("[T.", "[").replace(" ** ", "^")
        for lv in ("1", "2", "3"):
            n = n.replace(f"[{lv}.0]", f"[{lv}]")
        return m.names.index(n)
    perm = [ours(n) for n in res.params.index]
    res._results.params = np.array([m.b[j] for j in perm])
    data = pl.from_pandas(env_df)
    for at, mine in zip(grid, preds):
        d = data
        for k, v in at.items():
            d = d.with_columns(pl.lit(float(v)).alias(k))
        r = me.avg_predictions(res, newdata=d, wts="_w", vcov=V[np.ix_(perm, perm)]).row(0, named=True)
        assert abs(mine["estimate"] - r["estimate"]) <= 1e-9 * abs(mine["estimate"]), (at, mine, r)
        assert abs(mine["std_error"] - r["std_error"]) <= 1e-5 * mine["std_error"], (at, mine, r)
    full = list(args) + ["--predict-margins", "_cons", "--at", grid_text]
    write(name, None, "fit", full, desc, {"models": [{"n_obs": int(round(m.N)), "predictions": preds}]}, df)


def twopart_case(name, src, args, var, kind, desc, df=None):
    df = read(src) if df is None else df
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
    lhs2 = migref.Component(o["response2"], set(df.columns)) if "response2" in o else None
    f2, env2, _, _ = migref.build(df, f2text, pos, lhs2)
    K1 = m1.K
    V1, V2 = V[:K1, :K1], V[K1:, K1:]
    grid = [{}]
    p1, p2 = migref.Part(m1, f1, env1, mask), migref.Part(m2, f2, env2, pos)
    pr1, c1 = margins_block([p1], env1, m1.w, V1, f"C({var})", var, f1.levels[var], f1.ref[var], kind, grid, True)
    pr2, c2 = margins_block([p2], env2, m2.w, V2, f"C({var})", var, f2.levels[var], f2.ref[var], kind, grid, True)
    envc = {v: df[mask][v].to_numpy() for v in list(dict.fromkeys(f1.rhs_vars + f2.rhs_vars))}
    p1c, p2c = migref.Part(m1, f1, envc, mask), migref.Part(m2, f2, envc, mask)
    prc, cc = margins_block([p1c, p2c], envc, m1.w, V, f"C({var})", var, f1.levels[var], f1.ref[var], kind,
                            grid, True)
    full = list(args) + ["--predict-margins", var, "--contrast", f"{var}:{kind}"]
    e = {"models": [{"name": "first", "n_obs": int(round(m1.N)), "predictions": pr1, "contrasts": c1},
                    {"name": "second", "n_obs": int(round(m2.N)), "predictions": pr2, "contrasts": c2}],
         "combined": {"predictions": prc, "contrasts": cc}}
    write(name, src, "twopart", full, desc, e, df)


def main():
    mroz = read("twopart_mroz_hours")
    # kids: kidslt6 with 2 and 3 pooled (no woman with three young children works, so the
    # two-part model's second part would not see level 3).
    mroz["kids"] = np.minimum(mroz["kidslt6"], 2)
    single_case(
        "pm_logit_mroz_factor_robust", None,
        ["--formula", "inlf ~ C(kids) + age + I(age^2) + educ + educ:nwifeinc", "--model", "logit",
         "--vce", "robust"],
        "kids", "pairwise", None, [{}],
        "Logit, robust: predictive margins by a 3-level factor, pairwise contrasts; I(age^2) and an interaction",
        me_model="logit", df=mroz)
    single_case(
        "pm_probit_mroz_atgrid", None,
        ["--formula", "inlf ~ C(kids) + age + I(age^2) + educ + nwifeinc", "--model", "probit"],
        "kids", "reference", "age=30(10)50",
        [{"age": 30}, {"age": 40}, {"age": 50}],
        "Probit, OIM: predictive margins by kids at ages 30, 40, 50 (at-grid through I(age^2)); reference contrasts",
        me_model="probit", df=mroz)
    overall_case(
        "pm_logit_mroz_overall_at",
        ["--formula", "inlf ~ C(kids) + age + I(age^2) + educ + educ:nwifeinc", "--model", "logit", "--vce",
         "robust"],
        "age=25(5)55", [{"age": a} for a in range(25, 60, 5)],
        "Logit, robust: the overall predictive margin at ages 25 to 55 (Stata's margins, at(age=(25(5)55)), "
        "labelled _cons), through I(age^2); a 3-level factor and an interaction kept at their observed values",
        "logit", mroz)
    single_case(
        "pm_probit_ucb_fweight", "probit_ucb_fweight",
        ["--formula", "admit ~ female + C(dept)", "--model", "probit", "--weights", "freq", "--weight-type",
         "fweight"],
        "dept", "adjacent", None, [{}],
        "Probit with fweights: predictive margins by dept (6 levels), adjacent contrasts", me_model="probit")
    single_case(
        "pm_probit_api_pweight", "probit_api_pweight",
        ["--formula", "sch_wide ~ ell + meals + mobility + C(stype)", "--model", "probit", "--weights", "pw",
         "--weight-type", "pweight"],
        "stype", "pairwise", None, [{}],
        "Probit with pweights (robust): predictive margins by stype (3 levels), pairwise contrasts",
        me_model="probit")
    single_case(
        "pm_logit_wagepan_cluster", "logit_wagepan_factor_ref",
        ["--formula", "union ~ educ + exper + black + hisp + married + C(year)", "--model", "logit",
         "--vce", "cluster", "--cluster", "nr"],
        "year", "reference", None, [{}],
        "Logit, cluster by person: predictive margins by year (8 levels), contrasts against 1980",
        me_model="logit")
    twopart_case(
        "pm_twopart_mroz_joint", None,
        ["--formula", "hours ~ nwifeinc + educ + exper + I(exper^2) + age + C(kids)", "--first", "probit",
         "--family", "gamma", "--link", "log", "--joint-vce"],
        "kids", "pairwise",
        "Two-part (probit, gamma-log), joint robust variance: predictive margins of Pr(y>0), "
        "E[y|y>0] and E[y] by kids (kidslt6 capped at 2), pairwise contrasts", df=mroz)


if __name__ == "__main__":
    main()
