"""Golden numbers for `--convention statsmodels`: what a user of statsmodels gets from
`Probit`/`Logit` (discrete models) and `GLM` (IRLS, the default `fit`), with `cov_type`
"nonrobust", "HC1" and "cluster" and their default corrections. Writes
tests/golden/conv_sm_*/{data.csv, case.json, expected.json}, reading the data of existing
golden cases. Run from the repository root:

    /work/venv/bin/python tests/golden/scripts/conventions.py

Every number is statsmodels' own (params, bse, llf). Robust: cov_type="HC1", which outside
OLS is HC0 (base/covtype.py: `cov_white_simple(use_correction=False)`). Cluster: the default
`use_correction=True`, G/(G-1) (N-1)/(N-K). statsmodels has no survey-design estimator.
docs/conventions.md lists the choices these numbers follow.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm
import statsmodels.formula.api as smf

ROOT = Path("tests/golden")
CONV = ["--convention", "statsmodels"]


def data(case):
    return pd.read_csv(ROOT / case / "data.csv", na_values=["", ".", "NA"])


def g17(x):
    return float(f"{x:.17g}")


def write_case(name, source, args, description, res, names, loglik=True):
    d = ROOT / name
    d.mkdir(exist_ok=True)
    shutil.copyfile(ROOT / source / "data.csv", d / "data.csv")
    case = {
        "command": "fit",
        "args": args,
        "description": description,
        "reference": f"tests/golden/scripts/conventions.py (statsmodels {statsmodels.__version__}, numpy {np.__version__})",
        "loglik_check": loglik,
        "tolerance": {"estimate": 1e-6, "std_error": 1e-6, "margin_estimate": 1e-6,
                      "margin_std_error": 1e-5, "log_likelihood": 1e-8},
    }
    (d / "case.json").write_text(json.dumps(case, indent=2) + "\n")
    model = {"n_obs": int(res.nobs)}
    if loglik:
        model["log_likelihood"] = g17(res.llf)
    model["coefficients"] = [
        {"term": t, "estimate": g17(b), "std_error": g17(s)}
        for t, b, s in zip(names, np.asarray(res.params), np.asarray(res.bse))
    ]
    (d / "expected.json").write_text(json.dumps({"models": [model]}, indent=2) + "\n")
    print(name, "written")


def names(res):
    return [n.replace("Intercept", "(Intercept)").replace("I(exper ** 2)", "I(exper^2)") for n in res.params.index]


TIGHT = dict(maxiter=200, tol=1e-14)

mroz = data("probit_mroz_oim")
mroz_f = "inlf ~ nwifeinc + educ + exper + I(exper**2) + age + kidslt6 + kidsge6"
mroz_args = "inlf ~ nwifeinc + educ + exper + I(exper^2) + age + kidslt6 + kidsge6"

# 1. Probit, plain: the observed Hessian (= Stata's OIM).
r = smf.probit(mroz_f, mroz).fit(method="newton", tol=1e-14, maxiter=100, disp=0)
write_case("conv_sm_probit_mroz", "probit_mroz_oim", ["--formula", mroz_args, "--model", "probit"] + CONV,
           "Probit, --convention statsmodels: Probit().fit() (observed Hessian), z", r, names(r))

# 2. Logit, robust: cov_type HC1 = HC0 outside OLS.
r = smf.logit(mroz_f, mroz).fit(method="newton", tol=1e-14, maxiter=100, disp=0, cov_type="HC1")
write_case("conv_sm_logit_mroz_robust", "probit_mroz_oim",
           ["--formula", mroz_args, "--model", "logit", "--vce", "robust"] + CONV,
           "Logit, --convention statsmodels --vce robust: Logit().fit(cov_type='HC1'), which is HC0 (no factor)",
           r, names(r))

# 3. Gamma-log GLM, plain: IRLS, expected information times the Pearson scale; llf at that scale.
wage = mroz.dropna(subset=["wage"])
wage_f = "wage ~ educ + exper + I(exper**2) + age + city"
wage_args = ["--formula", "wage ~ educ + exper + I(exper^2) + age + city", "--model", "glm",
             "--family", "gamma", "--link", "log"]
gam = sm.families.Gamma(sm.families.links.Log())
r = smf.glm(wage_f, wage, family=gam).fit(**TIGHT)
write_case("conv_sm_gamma_mroz", "probit_mroz_oim", wage_args + CONV,
           "Gamma-log GLM, --convention statsmodels: GLM().fit() (IRLS: EIM x Pearson scale, z), llf at the Pearson scale",
           r, names(r))

# 4. Gamma-log GLM, robust: the observed-Hessian bread (GLM.hessian observed), no factor.
r = smf.glm(wage_f, wage, family=gam).fit(cov_type="HC1", **TIGHT)
write_case("conv_sm_gamma_mroz_robust", "probit_mroz_oim", wage_args + ["--vce", "robust"] + CONV,
           "Gamma-log GLM, --convention statsmodels --vce robust: GLM().fit(cov_type='HC1') (OIM bread, HC0)",
           r, names(r))

# 5. Poisson (Wooldridge Example 17.3), robust.
crime = data("glm_poisson_log")
pf = "narr86 ~ pcnv + avgsen + tottime + ptime86 + qemp86 + inc86 + black + hispan + born60"
r = smf.glm(pf, crime, family=sm.families.Poisson()).fit(cov_type="HC1", **TIGHT)
write_case("conv_sm_poisson_crime", "glm_poisson_log",
           ["--formula", pf, "--model", "glm", "--family", "poisson", "--link", "log", "--vce", "robust"] + CONV,
           "Poisson-log GLM, --convention statsmodels --vce robust: GLM().fit(cov_type='HC1') (HC0)", r, names(r))

# 6. Weighted: gamma-log with sampling weights as var_weights, robust.
api = data("glm_gamma_api_pweight")
r = smf.glm("api00 ~ ell + meals + mobility", api, family=gam, var_weights=api["pw"]).fit(cov_type="HC1", **TIGHT)
write_case("conv_sm_gamma_api_pweight", "glm_gamma_api_pweight",
           ["--formula", "api00 ~ ell + meals + mobility", "--model", "glm", "--family", "gamma", "--link", "log",
            "--weights", "pw", "--weight-type", "pweight"] + CONV,
           "Gamma-log GLM with pweights, --convention statsmodels: GLM(var_weights=pw).fit(cov_type='HC1') (OIM bread, HC0)",
           r, names(r), loglik=False)

# 7. Cluster: probit on wagepan, cov_type cluster with its default correction.
wp = data("logit_wagepan_cluster")
wf = "union ~ educ + exper + I(exper**2) + black + hisp + married"
r = smf.probit(wf, wp).fit(method="newton", tol=1e-14, maxiter=100, disp=0, cov_type="cluster",
                            cov_kwds={"groups": wp["nr"]})
write_case("conv_sm_probit_wagepan_cluster", "logit_wagepan_cluster",
           ["--formula", "union ~ educ + exper + I(exper^2) + black + hisp + married", "--model", "probit",
            "--cluster", "nr"] + CONV,
           "Probit, --convention statsmodels --cluster nr: Probit().fit(cov_type='cluster'): G/(G-1) (N-1)/(N-K)",
           r, names(r))
