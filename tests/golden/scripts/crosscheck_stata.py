#!/usr/bin/env python3
"""Check migref.py against Stata output that statsmodels ships in its test suite.

Run from the repository root:  python3 tests/golden/scripts/crosscheck_stata.py

These are the strongest evidence for the conventions in docs/conventions.md: the numbers are
Stata's own (glm with fweight/aweight/pweight, OIM/robust/cluster; gamma-log
log-likelihood), produced by the .do files next to them in statsmodels.
"""
import os
import sys

import numpy as np
import statsmodels.api as sm
from statsmodels.genmod.tests.results import results_glm_poisson_weights as st
from statsmodels.genmod.tests.results.results_glm import CancerLog, Longley

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import migref  # noqa: E402

fails = 0


def check(what, ours, stata, rtol):
    global fails
    ours, stata = np.asarray(ours, float), np.asarray(stata, float)
    err = np.max(np.abs(ours - stata) / np.abs(stata))
    ok = err <= rtol
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {what:55s} max rel err {err:.2e} (tol {rtol:.0e})")


# --- Stata glm, family(poisson), cpunish data, with each weight type and VCE ------------
d = sm.datasets.cpunish.load()
X = np.asarray(d.exog, float).copy()
X[:, 3] = np.log(X[:, 3])
X = sm.add_constant(X, prepend=False)
y = np.asarray(d.endog, float)
fw = np.array([1, 1, 1, 2, 2, 2, 3, 3, 3, 1, 1, 1, 2, 2, 2, 3, 3], float)
gid = np.arange(1, 18) // 2  # Stata: gen id = (_n - mod(_n, 2)) / 2
names = [f"x{j}" for j in range(X.shape[1])]
# Stata's result names say "nonrobust" for the default VCE, which is robust for pweights
for wname, wtype in [("none", None), ("fweight", "fweight"), ("aweight", "aweight"),
                     ("pweight", "pweight")]:
    for vname, vce in [("nonrobust", None), ("hc1", "robust"), ("clu1", "cluster")]:
        res = getattr(st, f"results_poisson_{wname}_{vname}")
        m = migref.Model("poisson", "log", y, X, names, None if wtype is None else fw, wtype,
                         cluster=gid)
        v = vce or ("robust" if wtype == "pweight" else "oim")
        V = m.vcov(v)
        # Stata's input differed from statsmodels' copy of the data at the level of float
        # rounding (its log-likelihood is 1e-8 relative ABOVE the exact maximum on these
        # data, which no estimate on identical data can be), so agreement is ~1e-6 here.
        # That is still decisive for the conventions: a wrong small-sample factor
        # (N/(N-1) with N = 17 vs 33, G/(G-1) with G = 9) would be off by 3% to 6%.
        tol = 1e-5
        check(f"poisson {wname:8s} {v:8s} params", m.b, res.params_table[:, 0], tol)
        check(f"poisson {wname:8s} {v:8s} std errors", np.sqrt(np.diag(V)), res.params_table[:, 1], tol)
        check(f"poisson {wname:8s} {v:8s} log-likelihood", m.ll, res.infocrit[2], 1e-7)
        check(f"poisson {wname:8s} {v:8s} N", m.N, res.infocrit[0], 1e-12)

# --- Stata glm gamma-log (cancer data): reported log-likelihood uses phi = 1 -------------
r = CancerLog()
Xc = np.asarray(r.exog, float)
m = migref.Model("gamma", "log", np.asarray(r.endog, float), Xc, ["a", "b", "c", "k"], None, None)
check("gamma-log params (Stata/R, 8 digits, IRLS stop)", m.b, r.params, 1e-4)
check("gamma-log log-likelihood = Stata's (phi = 1)", m.ll, r.llf, 1e-10)
check("gamma-log Pearson dispersion", m.phi, r.scale, 1e-6)
# --- gaussian identity: sigma^2 = SSR/N ---------------------------------------------------
r = Longley()
dl = sm.datasets.longley.load()
Xl = sm.add_constant(np.asarray(dl.exog, float), prepend=False)
m = migref.Model("gaussian", "identity", np.asarray(dl.endog, float), Xl,
                 [str(j) for j in range(Xl.shape[1])], None, None)
check("gaussian log-likelihood = Stata's (sigma^2 = SSR/N)", m.ll, r.llf, 1e-10)
check("gaussian dispersion (Pearson/(N-K))", m.phi, r.scale, 1e-8)

print(f"\n{fails} failure(s)")
sys.exit(1 if fails else 0)
