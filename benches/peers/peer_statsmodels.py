#!/usr/bin/env python3
"""statsmodels side of the end-to-end benchmark: read the CSV with pandas, probit of
amount > 0 with get_margeff (cluster-robust), GLM gamma-log on the positives (cluster-robust)
with hand-coded average marginal effects and delta-method SEs, Markdown table out."""
import sys
import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

data, out = sys.argv[1], sys.argv[2]
df = pd.read_csv(data)
rhs = ("C(scheme) + C(scope) + age + age_squared + female + married + C(education) + C(income_q)"
       " + has_job + rural_hukou + urban_area + C(reason) + C(duration) + C(facility)")
df["pos"] = (df["amount"] > 0).astype(int)
p1 = smf.probit(f"pos ~ {rhs}", df).fit(disp=0, cov_type="cluster", cov_kwds={"groups": df["city"]})
m1 = p1.get_margeff(at="overall", dummy=True)
f1 = m1.summary_frame()

pos = df[df["pos"] == 1]
p2 = smf.glm(f"amount ~ {rhs}", pos, family=sm.families.Gamma(sm.families.links.Log())).fit(
    cov_type="cluster", cov_kwds={"groups": pos["city"]})
X = np.asarray(p2.model.exog)
b = np.asarray(p2.params)
V = np.asarray(p2.cov_params())
names = p2.model.exog_names
rows = []
mu = np.exp(X @ b)
groups = {}
for j, nm in enumerate(names):
    if nm.startswith("C("):
        groups.setdefault(nm.split("[")[0], []).append(j)
for j, nm in enumerate(names):
    if nm == "Intercept":
        continue
    if nm.startswith("C("):
        X1 = X.copy()
        X1[:, groups[nm.split("[")[0]]] = 0.0
        X0 = X1.copy()
        X1[:, j] = 1.0
        mu1, mu0 = np.exp(X1 @ b), np.exp(X0 @ b)
        ame = np.mean(mu1 - mu0)
        jac = (mu1[:, None] * X1 - mu0[:, None] * X0).mean(axis=0)
    else:
        ame = np.mean(b[j] * mu)
        jac = b[j] * (mu[:, None] * X).mean(axis=0)
        jac[j] += mu.mean()
    rows.append((nm, ame, float(np.sqrt(jac @ V @ jac))))

with open(out, "w") as f:
    f.write("| term | probit AME | SE | GLM AME | SE |\n|---|---:|---:|---:|---:|\n")
    for nm, ame, se in rows:
        a1, s1 = (f1.loc[nm, "dy/dx"], f1.loc[nm, "Std. Err."]) if nm in f1.index else (np.nan, np.nan)
        f.write(f"| {nm} | {a1:.3f} | ({s1:.3f}) | {ame:.3f} | ({se:.3f}) |\n")
    f.write(f"| N | {int(p1.nobs)} | | {int(p2.nobs)} | |\n")
