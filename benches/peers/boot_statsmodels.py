#!/usr/bin/env python3
"""statsmodels side of the bootstrap benchmark (benches/peers/boot_twopart.sh): a cluster
bootstrap of the e2e two-part job written as a user would, as fast as statsmodels allows.
The design matrices are built once (patsy); each replicate draws the city clusters with
replacement, refits the probit of amount > 0 and the gamma-log GLM on the positives as GLMs
with frequency weights (the draw counts; no rows copied) starting from the full-sample
estimates, and recomputes every average effect of both parts and of the combined
E[y] = Phi(x b1) exp(x b2) (derivatives of the continuous variables, discrete changes of the
factor levels against the reference). Prints the seconds per replicate.
Usage: boot_statsmodels.py DATA REPS"""
import sys
import time
import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm

data, reps = sys.argv[1], int(sys.argv[2])
df = pd.read_csv(data)
rhs = ("C(scheme) + C(scope) + age + age_squared + female + married + C(education) + C(income_q)"
       " + has_job + rural_hukou + urban_area + C(reason) + C(duration) + C(facility)")
X = np.asarray(patsy.dmatrix(rhs, df, return_type="dataframe"))
names = patsy.dmatrix(rhs, df.head(50), return_type="dataframe").columns.tolist()
y = df["amount"].to_numpy()
d = (y > 0).astype(float)
pos = y > 0
city = pd.factorize(df["city"])[0]
G = city.max() + 1
fam1 = sm.families.Binomial(sm.families.links.Probit())
fam2 = sm.families.Gamma(sm.families.links.Log())
b1 = sm.GLM(d, X, family=fam1).fit().params
b2 = sm.GLM(y[pos], X[pos], family=fam2).fit().params
groups = {}
for j, nm in enumerate(names):
    if nm.startswith("C("):
        groups.setdefault(nm.split("[")[0], []).append(j)
from scipy.stats import norm


def effects(c1, c2, w):
    """Every average effect of part 1, part 2 (on the positives) and the combined E[y]."""
    out = []
    e1, e2 = X @ c1, X @ c2
    p, m = norm.cdf(e1), np.exp(e2)
    ws, wp = w.sum(), w[pos].sum()
    for j, nm in enumerate(names):
        if nm == "Intercept":
            continue
        if nm.startswith("C("):
            g = groups[nm.split("[")[0]]
            s1 = e1 - X[:, g] @ c1[g]
            s2 = e2 - X[:, g] @ c2[g]
            p1, p0 = norm.cdf(s1 + c1[j]), norm.cdf(s1)
            m1, m0 = np.exp(s2 + c2[j]), np.exp(s2)
            out += [w @ (p1 - p0) / ws, w[pos] @ (m1 - m0)[pos] / wp, w @ (p1 * m1 - p0 * m0) / ws]
        else:
            dp, dm = norm.pdf(e1) * c1[j], m * c2[j]
            out += [w @ dp / ws, w[pos] @ dm[pos] / wp, w @ (dp * m + p * dm) / ws]
    return out


rng = np.random.default_rng(1)
t0 = time.perf_counter()
for r in range(reps):
    counts = np.bincount(rng.integers(0, G, G), minlength=G).astype(float)
    w = counts[city]
    keep = w > 0
    c1 = sm.GLM(d[keep], X[keep], family=fam1, freq_weights=w[keep]).fit(start_params=b1).params
    k2 = keep & pos
    c2 = sm.GLM(y[k2], X[k2], family=fam2, freq_weights=w[k2]).fit(start_params=b2).params
    effects(c1, c2, w)
t = time.perf_counter() - t0
print(f"{t / reps:.4f}")
