"""Reference numbers for `migfit mediate` (tests/golden/mediation/), written independently of
migfit with numpy, scipy and statsmodels on the mroz data (Wooldridge; examples/mroz/mroz.csv)
plus two derived 0/1 columns: college = educ >= 13, young_kids = kidslt6 > 0.

KHB (Karlson, Holm & Breen 2012): mediators residualised on treatment + controls by OLS, the
reduced / full / naive models by statsmodels Logit/Probit (Newton), the SE of the difference
by the delta method over (c, Theta) with the mediator regressions' JOINT covariance (the
multivariate-regression kron(Sigma_r, (W'W)^-1) for OIM, the stacked sandwich for robust),
and the APE difference by the delta method over (reduced coefficients, Theta) with the full
model's coefficients rebuilt from them (b_W = b'_W - Theta c) and evaluated on the full
design. Causal mediation (Imai, Keele & Tingley 2010): closed forms (probit with a linear
mediator: Phi(A / sqrt(1 + B^2 s^2)); binary mediator: the two-point mixture), Gauss-Hermite
(numpy hermgauss, 120 nodes) for logit with a linear mediator, each closed form checked
against a Monte Carlo draw of the mediator; delta-method SEs by central differences.

    /work/venv/bin/python tests/golden/scripts/mediation.py
"""
import json, os, sys
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import norm

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
OUT = os.path.join(ROOT, "tests", "golden", "mediation")


def load():
    d = pd.read_csv(os.path.join(ROOT, "examples", "mroz", "mroz.csv"))
    d["college"] = (d["educ"] >= 13).astype(int)
    d["young_kids"] = (d["kidslt6"] > 0).astype(int)
    return d


def link_fns(model):
    if model == "logit":
        F = lambda x: 1.0 / (1.0 + np.exp(-x))
        f = lambda x: F(x) * (1 - F(x))
        return F, f, sm.Logit
    return norm.cdf, norm.pdf, sm.Probit


def fit_binary(model, y, X, vce):
    F, f, M = link_fns(model)
    r = M(y, X).fit(method="newton", tol=1e-14, maxiter=200, disp=0)
    b = r.params.values if hasattr(r.params, "values") else r.params
    H = -r.model.hessian(b)
    bread = np.linalg.inv(H)
    if vce == "oim":
        V = bread
    else:
        S = r.model.score_obs(b)
        n = len(y)
        V = bread @ (S.T @ S) @ bread * n / (n - 1)
    return np.asarray(b), V


def ols(y, X, vce):
    XtX_inv = np.linalg.inv(X.T @ X)
    b = XtX_inv @ X.T @ y
    r = y - X @ b
    n, k = X.shape
    if vce == "oim":
        V = XtX_inv * (r @ r) / (n - k)
    else:
        V = XtX_inv @ (X.T * r**2) @ X @ XtX_inv * n / (n - 1)
    return b, r, V


def design(d, terms):
    cols, names = [np.ones(len(d))], ["(Intercept)"]
    for t in terms:
        if t.startswith("C("):
            v = t[2:-1]
            lv = sorted(d[v].unique())
            for l in lv[1:]:
                cols.append((d[v] == l).astype(float).values)
                names.append(f"{t}[{l}]")
        else:
            cols.append(d[t].astype(float).values)
            names.append(t)
    return np.column_stack(cols), names


def grad(f, x, h=1e-6):
    g = np.zeros(len(x))
    for j in range(len(x)):
        e = np.zeros(len(x)); e[j] = h * max(abs(x[j]), 1e-2)
        g[j] = (f(x + e) - f(x - e)) / (2 * e[j])
    return g


def est(v, se):
    return {"estimate": float(v), "std_error": float(se)}


def khb_case(d, outcome, controls, treatment, mediators, model, vce, ape):
    F, f, _ = link_fns(model)
    y = d[outcome].values.astype(float)
    Xf, names = design(d, [treatment] + mediators + controls)
    t_idx = [i for i, n in enumerate(names) if n.startswith(treatment if treatment.startswith("C(") else treatment) and n != "(Intercept)" and (n == treatment or n.startswith(treatment + "["))]
    z_idx = [i for i, n in enumerate(names) if any(n == m or n.startswith(m + "[") for m in mediators)]
    w_idx = [i for i in range(Xf.shape[1]) if i not in z_idx]
    W, Z = Xf[:, w_idx], Xf[:, z_idx]
    J, kw = len(z_idx), len(w_idx)
    Theta = np.zeros((kw, J)); R = np.zeros_like(Z)
    for j in range(J):
        th, r, _ = ols(Z[:, j], W, vce)
        Theta[:, j] = th; R[:, j] = r
    n = len(y)
    # Joint covariance of vec(Theta) (column-major: mediator j's block j).
    WtW_inv = np.linalg.inv(W.T @ W)
    if vce == "oim":
        Sig = R.T @ R / (n - kw)
        VT = np.kron(Sig, WtW_inv)
    else:
        G = np.hstack([W * R[:, [j]] for j in range(J)])
        A = np.kron(np.eye(J), WtW_inv)
        VT = A @ (G.T @ G) @ A * n / (n - 1)
    bf, Vf = fit_binary(model, y, Xf, vce)
    Xr = Xf.copy(); Xr[:, z_idx] = R
    br, Vr = fit_binary(model, y, Xr, vce)
    bn, Vn = fit_binary(model, y, W, vce)
    c = bf[z_idx]; Vc = Vf[np.ix_(z_idx, z_idx)]
    out = []
    discrete = treatment.startswith("C(")
    for t in t_idx:
        tw = w_idx.index(t)
        diff_fn = lambda p: p[:J] @ p[J:].reshape(J, kw)[:, tw]  # c' theta_t; p = (c, vec Theta by mediator)
        p0 = np.concatenate([c, Theta.T.ravel()])
        Vp = np.zeros((len(p0), len(p0))); Vp[:J, :J] = Vc; Vp[J:, J:] = VT
        g = grad(diff_fn, p0)
        comps = []
        for j, zi in enumerate(z_idx):
            cj, th = bf[zi], Theta[tw, j]
            se = np.sqrt(th**2 * Vf[zi, zi] + cj**2 * VT[j * kw + tw, j * kw + tw])
            comps.append({"mediator": names[zi], "contribution": est(cj * th, se)})
        e = {
            "term": names[t],
            "reduced": est(br[t], np.sqrt(Vr[t, t])),
            "full": est(bf[t], np.sqrt(Vf[t, t])),
            "difference": est(br[t] - bf[t], np.sqrt(g @ Vp @ g)),
            "naive": est(bn[tw], np.sqrt(Vn[tw, tw])),
            "conf_ratio": float(br[t] / bf[t]),
            "rescale_factor": float(bn[tw] / br[t]),
            "components": comps,
        }
        assert abs((br[t] - bf[t]) - diff_fn(p0)) < 1e-8 * (1 + abs(br[t])), "KHB identity"
        if ape:
            def ape_on(X, b):
                eta = X @ b
                if discrete:
                    base = eta - X[:, t_idx] @ b[t_idx]
                    return np.mean(F(base + b[t]) - F(base))
                return np.mean(f(eta)) * b[t]
            ar = ape_on(Xr, br); af = ape_on(Xf, bf)
            gr = grad(lambda b: ape_on(Xr, b), br); gf = grad(lambda b: ape_on(Xf, b), bf)
            # The full model's coefficients from the reduced ones and Theta.
            def full_from(q):
                b = q[:len(br)]; Th = q[len(br):].reshape(J, kw).T
                cc = b[z_idx]
                out_b = np.zeros(len(bf))
                out_b[w_idx] = b[w_idx] - Th @ cc
                out_b[z_idx] = cc
                return out_b
            q0 = np.concatenate([br, Theta.T.ravel()])
            assert np.allclose(full_from(q0), bf, atol=1e-7), (full_from(q0), bf)
            Vq = np.zeros((len(q0), len(q0))); Vq[:len(br), :len(br)] = Vr; Vq[len(br):, len(br):] = VT
            gd = grad(lambda q: ape_on(Xr, q[:len(br)]) - ape_on(Xf, full_from(q)), q0)
            e["ape"] = {"reduced": est(ar, np.sqrt(gr @ Vr @ gr)), "full": est(af, np.sqrt(gf @ Vf @ gf)),
                        "difference": est(ar - af, np.sqrt(gd @ Vq @ gd))}
        out.append(e)
    return {"n_obs": n, "khb": {"effects": out}}


def causal_case(d, outcome, controls, treatment, mediator, model, interaction):
    F, f, _ = link_fns(model)
    y = d[outcome].values.astype(float)
    tx = d[treatment].values.astype(float); mx = d[mediator].values.astype(float)
    C, _ = design(d, controls)  # intercept + controls
    Xy = np.column_stack([C[:, :1], tx, mx] + ([tx * mx] if interaction else []) + [C[:, 1:]])
    by, Vy = fit_binary(model, y, Xy, "oim")
    Xm = np.column_stack([C[:, :1], tx, C[:, 1:]])
    binary_m = set(np.unique(mx)) <= {0.0, 1.0}
    n = len(y)
    if binary_m:
        am, Vm = fit_binary(model, mx, Xm, "oim")
    else:
        am, r, Vm = ols(mx, Xm, "oim")
        s2 = r @ r / n
    ky, km = len(by), len(am)
    hx, hw = np.polynomial.hermite.hermgauss(120)
    Cb = C[:, 1:]

    def pom(p, t, tp):
        b = p[:ky]; a = p[ky:ky + km]
        bi = 3 if interaction else None
        slope = b[2] + (b[3] * t if interaction else 0.0)
        bc = b[4:] if interaction else b[3:]
        base = b[0] + b[1] * t + Cb @ bc
        lin = a[0] + a[1] * tp + Cb @ a[2:]
        if binary_m:
            pm = F(lin)
            return np.mean(pm * F(base + slope) + (1 - pm) * F(base))
        s = np.sqrt(max(p[-1], 0.0))
        A = base + slope * lin
        if model == "probit":
            return np.mean(norm.cdf(A / np.sqrt(1 + slope**2 * s**2)))
        vals = F(A[:, None] + slope * np.sqrt(2) * s * hx[None, :]) @ hw / np.sqrt(np.pi)
        return np.mean(vals)

    p0 = np.concatenate([by, am] + ([] if binary_m else [[s2]]))
    V = np.zeros((len(p0), len(p0)))
    V[:ky, :ky] = Vy; V[ky:ky + km, ky:ky + km] = Vm
    if not binary_m:
        V[-1, -1] = 2 * s2**2 / n
        # Check the closed form / quadrature against a simulation of the mediator.
        rng = np.random.default_rng(1)
        b = by; t, tp = 1.0, 0.0
        slope = b[2] + (b[3] * t if interaction else 0.0)
        bc = b[4:] if interaction else b[3:]
        m_draw = am[0] + am[1] * tp + Cb @ am[2:] + np.sqrt(s2) * rng.standard_normal((20000, n))
        mc = np.mean(F(b[0] + b[1] * t + slope * m_draw + Cb @ bc))
        assert abs(mc - pom(p0, t, tp)) < 1e-3, (mc, pom(p0, t, tp))
    t0, t1 = 0.0, 1.0
    fns = {
        "nde": lambda p: pom(p, t1, t0) - pom(p, t0, t0),
        "nie": lambda p: pom(p, t1, t1) - pom(p, t1, t0),
        "total": lambda p: pom(p, t1, t1) - pom(p, t0, t0),
        "proportion_mediated": lambda p: (pom(p, t1, t1) - pom(p, t1, t0)) / (pom(p, t1, t1) - pom(p, t0, t0)),
    }
    out = {}
    for k, fn in fns.items():
        g = grad(fn, p0)
        out[k] = est(fn(p0), np.sqrt(g @ V @ g))
    return {"n_obs": n, "causal": out}


CASES = {
    "khb_logit_city_two_mediators_ape": dict(
        kind="khb", args=["--outcome", "inlf ~ age + kidslt6 + kidsge6", "--treatment", "C(city)",
                          "--mediators", "educ,nwifeinc", "-m", "logit", "--ape"],
        ref=lambda d: khb_case(d, "inlf", ["age", "kidslt6", "kidsge6"], "C(city)", ["educ", "nwifeinc"], "logit", "oim", True)),
    "khb_probit_educ_robust_ape": dict(
        kind="khb", args=["--outcome", "inlf ~ age + exper + kidslt6", "--treatment", "educ",
                          "--mediators", "nwifeinc,C(young_kids)", "-m", "probit", "--vce", "robust", "--ape"],
        ref=lambda d: khb_case(d, "inlf", ["age", "exper", "kidslt6"], "educ", ["nwifeinc", "C(young_kids)"], "probit", "robust", True)),
    "khb_logit_college_one_mediator": dict(
        kind="khb", args=["--outcome", "inlf ~ age + exper", "--treatment", "college", "--mediators", "nwifeinc", "-m", "logit"],
        ref=lambda d: khb_case(d, "inlf", ["age", "exper"], "college", ["nwifeinc"], "logit", "oim", False)),
    "causal_probit_linear": dict(
        kind="causal", args=["--outcome", "inlf ~ age + kidsge6", "--treatment", "college", "--mediators", "nwifeinc",
                             "-m", "probit", "--method", "causal"],
        ref=lambda d: causal_case(d, "inlf", ["age", "kidsge6"], "college", "nwifeinc", "probit", False)),
    "causal_probit_linear_interaction": dict(
        kind="causal", args=["--outcome", "inlf ~ age + kidsge6", "--treatment", "college", "--mediators", "nwifeinc",
                             "-m", "probit", "--method", "causal", "--interaction"],
        ref=lambda d: causal_case(d, "inlf", ["age", "kidsge6"], "college", "nwifeinc", "probit", True)),
    "causal_logit_linear_interaction": dict(
        kind="causal", args=["--outcome", "inlf ~ age + kidsge6", "--treatment", "college", "--mediators", "nwifeinc",
                             "-m", "logit", "--method", "causal", "--interaction"],
        ref=lambda d: causal_case(d, "inlf", ["age", "kidsge6"], "college", "nwifeinc", "logit", True)),
    "causal_logit_binary_mediator": dict(
        kind="causal", args=["--outcome", "inlf ~ age + exper", "--treatment", "college", "--mediators", "young_kids",
                             "-m", "logit", "--method", "causal", "--interaction"],
        ref=lambda d: causal_case(d, "inlf", ["age", "exper"], "college", "young_kids", "logit", True)),
}


def main():
    d = load()
    os.makedirs(OUT, exist_ok=True)
    d.to_csv(os.path.join(OUT, "mroz_mediation.csv"), index=False, float_format="%.17g")
    cases = {}
    for name, c in CASES.items():
        cases[name] = {"kind": c["kind"], "args": c["args"], "expected": c["ref"](d)}
    meta = {"data": "mroz_mediation.csv", "generator": "tests/golden/scripts/mediation.py",
            "versions": {"numpy": np.__version__, "pandas": pd.__version__, "statsmodels": sm.__version__},
            "tolerance": {"estimate": 1e-6, "std_error": 1e-5}, "cases": cases}
    with open(os.path.join(OUT, "cases.json"), "w") as fh:
        fh.write(json.dumps(meta, indent=1, default=float, allow_nan=False))
        fh.write("\n")


if __name__ == "__main__":
    main()
