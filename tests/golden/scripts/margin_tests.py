"""Golden numbers for tests and linear combinations of margins (issue 17, items 3 and 6:
`--test-margins`, `--lincom-margins`; Stata's `margins stype, post` then `test` / `lincom`):
writes tests/golden/mt_*/{data.csv, case.json, expected.json}. Run from the repository root:

    /work/venvs/margins/bin/python tests/golden/scripts/margin_tests.py   # marginaleffects 0.6.0,
    # statsmodels 0.15.0, numpy 2.4.6, scipy 1.17.1

Reference, per case:
  * the fit and its variance (pweights, cluster-robust G/(G-1)) from migref.py;
  * the margins vector m: predictive margins PM_l (every row set to level l) with the
    analytic Jacobian of predictions.py, and average marginal effects with migref's
    effect_pieces Jacobian (both checked against 4th-order numerical Jacobians);
  * V_m = J V J'; a test R m = r: W = (R m - r)' (R V_m R')^-1 (R m - r), chi2(q); a
    combination c'm with SE sqrt(c' V_m c), z statistic and interval;
  * cross-check (the case is not written if it fails): marginaleffects' avg_predictions /
    avg_slopes on a statsmodels model holding migref's estimates, with vcov = V and wts =
    the weights, give the margins (1e-9; slopes 1e-6, finite differences), their Jacobian
    (so V_m; 1e-5) and the lincom through `hypothesis=` (1e-5).
"""
import os
import sys

import numpy as np
from scipy import stats

sys.path.insert(0, os.path.dirname(__file__))
import migref  # noqa: E402
import predictions as P  # noqa: E402

# marginaleffects' slopes are finite differences (eps) and their Jacobian finite differences of
# those (eps_vcov): with its defaults the SE of dydx(ell) - dydx(meals) is 0.4% off; with
# these steps the nested differences agree with the analytic Jacobian to about 1e-5.
EPS, EPSV = 1e-6, 1e-6
TOL = {"estimate": 1e-6, "std_error": 1e-6, "margin_estimate": 1e-6, "margin_std_error": 1e-5, "test": 1e-5}


def wald(est, Vm, R, r):
    d = R @ est - r
    W = float(d @ np.linalg.solve(R @ Vm @ R.T, d))
    q = R.shape[0]
    return W, q, float(stats.chi2.sf(W, q))


def lincom(est, Vm, c, level=95.0):
    e = float(c @ est)
    se = float(np.sqrt(c @ Vm @ c))
    z = stats.norm.ppf(0.5 + level / 200)
    return {"estimate": e, "std_error": se, "statistic": e / se, "p_value": float(2 * stats.norm.sf(abs(e / se))),
            "conf_low": e - z * se, "conf_high": e + z * se}


def statsmodels_holding(formula, env_df, m, family):
    import statsmodels.formula.api as smf
    res = smf.glm(formula, data=env_df, family=family).fit()

    def ours(name):
        return m.names.index(name.replace("Intercept", "(Intercept)").replace("[T.", "["))
    perm = [ours(n) for n in res.params.index]
    res._results.params = np.array([m.b[i] for i in perm])
    return res, perm


def float_is_in_shim(pl):
    """marginaleffects calls Series.is_in([0, 1]) on float columns, which polars >= 2 refuses
    (Float64 against a list of Int64): compare with floats instead (as predictions.py does)."""
    if getattr(pl.Series.is_in, "_float_shim", False):
        return
    _is_in = pl.Series.is_in

    def is_in(self, other, *a, **k):
        if self.dtype in (pl.Float32, pl.Float64) and isinstance(other, list):
            other = [float(x) for x in other]
        return _is_in(self, other, *a, **k)
    is_in._float_shim = True
    pl.Series.is_in = is_in


def api_case():
    import marginaleffects as me
    import polars as pl
    import statsmodels.api as sm
    name = "mt_probit_api_pweight_cluster"
    src = "probit_api_pweight"
    args = ["--formula", "sch_wide ~ ell + meals + mobility + C(stype)", "--model", "probit", "--weights", "pw",
            "--weight-type", "pweight", "--vce", "cluster", "--cluster", "dnum"]
    df = P.read(src)
    o, m, V, part, env, mask = P.fit_single(df, args)
    w = m.w
    levels = part.f.levels["stype"]
    # The margins vector: PM_E, PM_H, PM_M, then the effects dydx(ell), dydx(meals),
    # dydx(mobility), dydx(C(stype)[H]), dydx(C(stype)[M]).
    names, est, J = [], [], []
    for x in levels:
        e, j = P.pm([part], env, w, {"stype": x}, {})
        jn = P.numeric_jac([part], env, w, {"stype": x}, {})
        assert np.max(np.abs(j - jn)) <= 1e-6 * np.max(np.abs(j))
        names.append(f"C(stype)[{x}]")
        est.append(e)
        J.append(j)
    for spec in migref.margin_list([part.f]):
        e, j = migref.effect_pieces([part], env, w, spec)
        jn = migref.effect_numeric_jacobian([part], env, w, spec)
        assert np.max(np.abs(j - jn)) <= 1e-6 * np.max(np.abs(j)), spec
        names.append(f"dydx({spec[0]})")
        est.append(e)
        J.append(j)
    est, J = np.array(est), np.array(J)
    Vm = J @ V @ J.T
    idx = {n: i for i, n in enumerate(names)}

    def row(coefs):
        r = np.zeros(len(names))
        for n, c in coefs.items():
            r[idx[n]] += c
        return r

    # Cross-check with marginaleffects on a statsmodels GLM holding migref's estimates.
    env_df = df[mask].copy().reset_index(drop=True)
    env_df["_w"] = w
    env_df["stype"] = env_df["stype"].astype("category")
    float_is_in_shim(pl)
    res, perm = statsmodels_holding(o["formula"], env_df, m, sm.families.Binomial(sm.families.links.Probit()))
    Vsm = V[np.ix_(perm, perm)]
    data = pl.from_pandas(env_df)
    ap = me.avg_predictions(res, variables={"stype": levels}, by="stype", newdata=data, wts="_w", vcov=Vsm)
    assert [r["stype"] for r in ap.iter_rows(named=True)] == levels
    me_est = np.array([r["estimate"] for r in ap.iter_rows(named=True)])
    assert np.allclose(me_est, est[:3], rtol=1e-9, atol=0)
    Jme = np.asarray(ap.jacobian)[:, np.argsort(perm)]
    Vme = Jme @ V @ Jme.T
    assert np.allclose(Vme, Vm[:3, :3], rtol=1e-5, atol=0), (Vme, Vm[:3, :3])
    h = me.avg_predictions(res, variables={"stype": levels}, by="stype", newdata=data, wts="_w", vcov=Vsm,
                           hypothesis="b1 - b2 = 0")  # 0-based: H - M
    hr = next(h.iter_rows(named=True))
    mine = lincom(est, Vm, row({"C(stype)[H]": 1, "C(stype)[M]": -1}))
    assert abs(hr["estimate"] - mine["estimate"]) <= 1e-9 * abs(mine["estimate"])
    assert abs(hr["std_error"] - mine["std_error"]) <= 1e-5 * mine["std_error"], (hr, mine)
    sl = me.avg_slopes(res, variables=["ell", "meals"], newdata=data, wts="_w", vcov=Vsm, hypothesis="b0 - b1 = 0",
                       eps=EPS, eps_vcov=EPSV)
    sr = next(sl.iter_rows(named=True))
    mine = lincom(est, Vm, row({"dydx(ell)": 1, "dydx(meals)": -1}))
    # Finite-difference slopes (marginaleffects' eps = 1e-4 of the range): 1e-5 absolute.
    assert abs(sr["estimate"] - mine["estimate"]) <= 1e-5 * max(1e-3, abs(mine["estimate"])) + 1e-8, (sr, mine)
    print("avg_slopes lincom SE relative difference:", abs(sr["std_error"] / mine["std_error"] - 1))
    assert abs(sr["std_error"] - mine["std_error"]) <= 1e-4 * mine["std_error"], (sr, mine)

    tests_spec = [
        ("stype[E] = stype[H], stype[E] = stype[M]",
         [row({"C(stype)[E]": 1, "C(stype)[H]": -1}), row({"C(stype)[E]": 1, "C(stype)[M]": -1})], [0.0, 0.0]),
        ("dydx(ell) = dydx(meals), dydx(mobility) = 0",
         [row({"dydx(ell)": 1, "dydx(meals)": -1}), row({"dydx(mobility)": 1})], [0.0, 0.0]),
        ("C(stype)[H] - C(stype)[E] = 0.1", [row({"C(stype)[H]": 1, "C(stype)[E]": -1})], [0.1]),
    ]
    tests = []
    for label, R, r in tests_spec:
        W, q, p = wald(est, Vm, np.array(R), np.array(r))
        tests.append({"test": label, "statistic": W, "df": q, "p_value": p, "kind": "chi2", "on": "margins"})
    lin_spec = [
        ("stype[H] - stype[M]", {"C(stype)[H]": 1, "C(stype)[M]": -1}),
        ("dydx(ell) - dydx(meals)", {"dydx(ell)": 1, "dydx(meals)": -1}),
        ("0.5*stype[E] + 0.5*stype[M] - dydx(stype[H])", {"C(stype)[E]": 0.5, "C(stype)[M]": 0.5,
                                                          "dydx(C(stype)[H])": -1}),
    ]
    lins = [dict(term=label, on="margins", **lincom(est, Vm, row(c))) for label, c in lin_spec]
    full = args + ["--margins", "--predict-margins", "stype"]
    for t, _, _ in tests_spec:
        full += ["--test-margins", t]
    for t, _ in lin_spec:
        full += ["--lincom-margins", t]
    expected = {"models": [{"n_obs": int(round(m.N)), "tests": tests, "lincom": lins}]}
    desc = ("Probit, pweights, cluster by district: tests and lincom of predictive margins by stype and of "
            "average marginal effects, under their joint delta-method covariance J V J'")
    P.write(name, src, "fit", full, desc, expected)
    # The reference line names this script, not predictions.py's.
    case_path = os.path.join(P.ROOT, name, "case.json")
    import json
    case = json.load(open(case_path))
    case["reference"] = ("tests/golden/scripts/margin_tests.py: migref.py fit and variance, hand-coded margins "
                         "Jacobians (numpy, checked numerically), V_m = J V J', chi2 and z by hand; margins, "
                         "Jacobian and lincom cross-checked against marginaleffects avg_predictions/avg_slopes "
                         "(hypothesis=)")
    case["tolerance"] = TOL
    with open(case_path, "w") as fh:
        fh.write(migref.dumps17(case, fmt=None) + "\n")


def effect_contrast_case():
    """Stata's `margins r.stype, dydx(ell)` (after `svy`-free probit with pweights, cluster):
    the AME of ell with every row set to each stype level (the at-grid `--at "stype=E H M"`),
    and its contrasts between levels through --lincom-margins / --test-margins.
    marginaleffects: avg_slopes on datagrid(stype=..., grid_type="counterfactual") by stype
    (each row duplicated at each level, the same weights), hypothesis "b1 - b0 = 0"."""
    import marginaleffects as me
    import polars as pl
    import statsmodels.api as sm
    name = "mt_probit_api_effect_contrasts"
    src = "probit_api_pweight"
    args = ["--formula", "sch_wide ~ ell + meals + mobility + C(stype) + C(stype):ell", "--model", "probit",
            "--weights", "pw", "--weight-type", "pweight", "--vce", "cluster", "--cluster", "dnum"]
    df = P.read(src)
    o, m, V, part, env, mask = P.fit_single(df, args)
    w = m.w
    levels = part.f.levels["stype"]
    spec = ("ell", "dydx", "ell", None)
    est, J, margins = [], [], []
    for x in levels:
        ind = migref.factor_indicator_override(env, "stype", x)
        e, j = migref.effect_pieces([part], env, w, spec, ind)
        jn = migref.effect_numeric_jacobian([part], env, w, spec, ind)
        assert np.max(np.abs(j - jn)) <= 1e-6 * np.max(np.abs(j))
        est.append(e)
        J.append(j)
        margins.append({"term": "ell", "contrast": "dydx", "at": {"stype": x}, "estimate": e,
                        "std_error": float(np.sqrt(j @ V @ j))})
    est, J = np.array(est), np.array(J)
    Vm = J @ V @ J.T

    env_df = df[mask].copy().reset_index(drop=True)
    env_df["_w"] = w
    env_df["stype"] = env_df["stype"].astype("category")
    float_is_in_shim(pl)
    res, perm = statsmodels_holding(o["formula"], env_df, m, sm.families.Binomial(sm.families.links.Probit()))
    Vsm = V[np.ix_(perm, perm)]
    data = pl.from_pandas(env_df)
    grid = me.datagrid(model=res, newdata=data, stype=levels, grid_type="counterfactual")
    sl = me.avg_slopes(res, variables="ell", newdata=grid, by="stype", wts="_w", vcov=Vsm, eps=EPS, eps_vcov=EPSV)
    rows = list(sl.iter_rows(named=True))
    assert [r["stype"] for r in rows] == levels, rows
    # marginaleffects' SEs of slopes come from finite differences of finite differences: about
    # 2e-4 relative here (the analytic Jacobian is checked numerically above to 1e-6).
    for r, e, mg in zip(rows, est, margins):
        assert abs(r["estimate"] - e) <= 1e-6 * abs(e), (r, e)
        assert abs(r["std_error"] - mg["std_error"]) <= 1e-3 * mg["std_error"], (r, mg)
    for a, b in [(1, 0), (2, 0)]:
        h = me.avg_slopes(res, variables="ell", newdata=grid, by="stype", wts="_w", vcov=Vsm, eps=EPS,
                          eps_vcov=EPSV, hypothesis=f"b{a} - b{b} = 0")
        hr = next(h.iter_rows(named=True))
        c = np.zeros(3)
        c[a], c[b] = 1, -1
        mine = lincom(est, Vm, c)
        assert abs(hr["estimate"] - mine["estimate"]) <= 1e-6 * abs(mine["estimate"]), (hr, mine)
        assert abs(hr["std_error"] - mine["std_error"]) <= 1e-3 * mine["std_error"], (hr, mine)

    nm = {x: f"dydx(ell)@(stype={x})" for x in levels}
    lins = []
    for a, b in [(1, 0), (2, 0), (2, 1)]:
        c = np.zeros(3)
        c[a], c[b] = 1, -1
        lins.append(dict(term=f"{nm[levels[a]]} - {nm[levels[b]]}", on="margins", **lincom(est, Vm, c)))
    R = np.array([[1.0, -1, 0], [1.0, 0, -1]])
    W, q, p = wald(est, Vm, R, np.zeros(2))
    label = f"{nm['E']} = {nm['H']}, {nm['E']} = {nm['M']}"
    tests = [{"test": label, "statistic": W, "df": q, "p_value": p, "kind": "chi2", "on": "margins"}]
    full = args + ["--margins", "--dydx", "ell", "--at", "stype=E H M", "--test-margins", label]
    for l in lins:
        full += ["--lincom-margins", l["term"]]
    expected = {"models": [{"n_obs": int(round(m.N)), "margins": margins, "tests": tests, "lincom": lins}]}
    desc = ("Contrasts of effects (Stata's margins r.stype, dydx(ell)): the AME of ell with every row set to "
            "each stype level (ell interacted with stype), its reference and pairwise contrasts and the joint "
            "test of equality, pweights, cluster by district")
    P.write(name, src, "fit", full, desc, expected)
    case_path = os.path.join(P.ROOT, name, "case.json")
    import json
    case = json.load(open(case_path))
    case["reference"] = ("tests/golden/scripts/margin_tests.py: migref.py fit and variance, migref's effect "
                         "Jacobian at each level (checked numerically), V_m = J V J'; cross-checked against "
                         "marginaleffects avg_slopes on a counterfactual datagrid by stype (hypothesis=)")
    case["tolerance"] = TOL
    with open(case_path, "w") as fh:
        fh.write(migref.dumps17(case, fmt=None) + "\n")


if __name__ == "__main__":
    api_case()
    effect_contrast_case()
