# Golden numbers for `--convention r`: what a user of R gets with glm(), summary.glm(),
# logLik(), sandwich::vcovHC(type = "HC1"), sandwich::vcovCL() (its defaults) and
# survey::svyglm(). Writes tests/golden/conv_r_*/{data.csv, case.json, expected.json},
# reading the data of existing golden cases. Run from the repository root:
#     Rscript tests/golden/scripts/conventions.R
# Every number is R's own (no hand-coded formula): coefficients, sqrt(diag(V)), logLik, and
# the t df (summary.glm's df.residual for families with an estimated dispersion; svyglm's
# df.residual = degf(design) + 1 - K under a survey design). docs/conventions.md lists the
# choices these numbers follow.
suppressMessages({ library(sandwich); library(survey) })
options(digits = 17)

root <- "tests/golden"
src_data <- function(case) read.csv(file.path(root, case, "data.csv"), na.strings = c("", ".", "NA"))

g17 <- function(x) sprintf("%.17g", x)
json_str <- function(s) paste0('"', gsub('"', '\\\\"', s), '"')

write_case <- function(name, from, args, description, fit_names, est, se, n, ll = NULL, df = NULL,
                       loglik_check = !is.null(ll)) {
  dir <- file.path(root, name)
  dir.create(dir, showWarnings = FALSE)
  file.copy(file.path(root, from, "data.csv"), file.path(dir, "data.csv"), overwrite = TRUE)
  ref <- sprintf("tests/golden/scripts/conventions.R (R %s, sandwich %s, survey %s)",
                 getRversion(), packageVersion("sandwich"), packageVersion("survey"))
  case <- c("{",
    sprintf('  "command": "fit",'),
    sprintf('  "args": [%s],', paste(json_str(args), collapse = ", ")),
    sprintf('  "description": %s,', json_str(description)),
    sprintf('  "reference": %s,', json_str(ref)),
    sprintf('  "loglik_check": %s,', if (loglik_check) "true" else "false"),
    '  "tolerance": {"estimate": 1e-06, "std_error": 1e-06, "margin_estimate": 1e-06, "margin_std_error": 1e-05, "log_likelihood": 1e-08}',
    "}")
  writeLines(case, file.path(dir, "case.json"))
  coefs <- sprintf('        {"term": %s, "estimate": %s, "std_error": %s}',
                   json_str(fit_names), g17(est), g17(se))
  head <- c(sprintf('      "n_obs": %d,', n))
  if (!is.null(ll)) head <- c(head, sprintf('      "log_likelihood": %s,', g17(ll)))
  if (!is.null(df)) head <- c(head, sprintf('      "df_r": %s,', g17(df)))
  out <- c("{", '  "models": [', "    {", head, '      "coefficients": [',
           paste(coefs, collapse = ",\n"), "      ]", "    }", "  ]", "}")
  writeLines(out, file.path(dir, "expected.json"))
  cat(name, "written\n")
}

se_of <- function(v) sqrt(diag(v))
mroz_f <- inlf ~ nwifeinc + educ + exper + I(exper^2) + age + kidslt6 + kidsge6
mroz_args <- "inlf ~ nwifeinc + educ + exper + I(exper^2) + age + kidslt6 + kidsge6"
conv <- c("--convention", "r")

# 1. Probit, plain SEs: summary.glm's expected information (differs from Stata's OIM).
mroz <- src_data("probit_mroz_oim")
m <- glm(mroz_f, family = binomial(link = "probit"), data = mroz, control = glm.control(epsilon = 1e-14, maxit = 100))
write_case("conv_r_probit_mroz", "probit_mroz_oim", c("--formula", mroz_args, "--model", "probit", conv),
           "Probit, --convention r: vcov(glm) (expected information), z; logLik",
           names(coef(m)), coef(m), se_of(vcov(m)), nobs(m), ll = as.numeric(logLik(m)))

# 2. Logit, robust: sandwich::vcovHC(type = "HC1"), N/(N-K).
m <- glm(mroz_f, family = binomial(link = "logit"), data = mroz, control = glm.control(epsilon = 1e-14, maxit = 100))
write_case("conv_r_logit_mroz_robust", "probit_mroz_oim",
           c("--formula", mroz_args, "--model", "logit", "--vce", "robust", conv),
           "Logit, --convention r --vce robust: sandwich::vcovHC(type = 'HC1')",
           names(coef(m)), coef(m), se_of(vcovHC(m, type = "HC1")), nobs(m), ll = as.numeric(logLik(m)))

# 3. Gamma-log, plain SEs: expected information times the Pearson dispersion, t with N-K df,
#    logLik at dispersion deviance/N.
wage_f <- wage ~ educ + exper + I(exper^2) + age + city
wage_args <- c("--formula", "wage ~ educ + exper + I(exper^2) + age + city", "--model", "glm",
               "--family", "gamma", "--link", "log")
mw <- glm(wage_f, family = Gamma(link = "log"), data = mroz, control = glm.control(epsilon = 1e-14, maxit = 100))
s <- summary(mw)
write_case("conv_r_gamma_mroz", "probit_mroz_oim", c(wage_args, conv),
           "Gamma-log GLM, --convention r: summary.glm (EIM x Pearson dispersion, t with N-K df), logLik at deviance/N",
           names(coef(mw)), coef(mw), s$coefficients[, 2], nobs(mw), ll = as.numeric(logLik(mw)), df = s$df.residual)

# 4. Gamma-log, robust: the expected-information bread and N/(N-K).
write_case("conv_r_gamma_mroz_robust", "probit_mroz_oim", c(wage_args, "--vce", "robust", conv),
           "Gamma-log GLM, --convention r --vce robust: sandwich::vcovHC(type = 'HC1') (EIM bread)",
           names(coef(mw)), coef(mw), se_of(vcovHC(mw, type = "HC1")), nobs(mw), ll = as.numeric(logLik(mw)))

# 5. Poisson (Wooldridge Example 17.3), robust HC1.
crime <- src_data("glm_poisson_log")
pf <- narr86 ~ pcnv + avgsen + tottime + ptime86 + qemp86 + inc86 + black + hispan + born60
mp <- glm(pf, family = poisson(), data = crime, control = glm.control(epsilon = 1e-14, maxit = 100))
write_case("conv_r_poisson_crime", "glm_poisson_log",
           c("--formula", "narr86 ~ pcnv + avgsen + tottime + ptime86 + qemp86 + inc86 + black + hispan + born60",
             "--model", "glm", "--family", "poisson", "--link", "log", "--vce", "robust", conv),
           "Poisson-log GLM, --convention r --vce robust: sandwich::vcovHC(type = 'HC1'); logLik",
           names(coef(mp)), coef(mp), se_of(vcovHC(mp, type = "HC1")), nobs(mp), ll = as.numeric(logLik(mp)))

# 6. Weighted: gamma-log with sampling weights (glm prior weights), robust HC1.
api <- src_data("glm_gamma_api_pweight")
ma <- glm(api00 ~ ell + meals + mobility, family = Gamma(link = "log"), weights = pw, data = api,
          control = glm.control(epsilon = 1e-14, maxit = 100))
write_case("conv_r_gamma_api_pweight", "glm_gamma_api_pweight",
           c("--formula", "api00 ~ ell + meals + mobility", "--model", "glm", "--family", "gamma", "--link", "log",
             "--weights", "pw", "--weight-type", "pweight", conv),
           "Gamma-log GLM with pweights, --convention r (robust implied): glm(weights = pw) + vcovHC(type = 'HC1')",
           names(coef(ma)), coef(ma), se_of(vcovHC(ma, type = "HC1")), nobs(ma))

# 7. Cluster: probit on wagepan, sandwich::vcovCL with its defaults for a glm (type HC0, cadjust G/(G-1)).
wp <- src_data("logit_wagepan_cluster")
ml <- glm(union ~ educ + exper + I(exper^2) + black + hisp + married, family = binomial(link = "probit"), data = wp,
          control = glm.control(epsilon = 1e-14, maxit = 100))
write_case("conv_r_probit_wagepan_cluster", "logit_wagepan_cluster",
           c("--formula", "union ~ educ + exper + I(exper^2) + black + hisp + married", "--model", "probit",
             "--cluster", "nr", conv),
           "Probit, --convention r --cluster nr: sandwich::vcovCL(cluster = ~nr) with its defaults for a glm (HC0, cadjust): G/(G-1)",
           names(coef(ml)), coef(ml), se_of(vcovCL(ml, cluster = ~nr)), nobs(ml), ll = as.numeric(logLik(ml)))

# 8. Survey design: probit on apiclus1, svyglm (expected-information bread), t with
#    degf - K + 1 df.
ac <- src_data("svy_probit_apiclus1")
des <- svydesign(id = ~dnum, fpc = ~fpc, weights = ~pw, data = ac)
ms <- svyglm(sch_wide ~ ell + meals + mobility, design = des, family = quasibinomial(link = "probit"),
             control = glm.control(epsilon = 1e-14, maxit = 100))
write_case("conv_r_svy_probit_apiclus1", "svy_probit_apiclus1",
           c("--formula", "sch_wide ~ ell + meals + mobility", "--model", "probit", "--psu", "dnum", "--fpc", "fpc",
             "--weights", "pw", "--weight-type", "pweight", conv),
           "Survey probit on apiclus1, --convention r: vcov(svyglm) (EIM bread), t with degf - K + 1 df",
           names(coef(ms)), coef(ms), se_of(vcov(ms)), nrow(ac), df = ms$df.residual)

# 9. Survey design: gamma-log on apistrat (strata), svyglm.
st <- src_data("svy_gamma_apistrat")
des2 <- svydesign(id = ~1, strata = ~stype, fpc = ~fpc, weights = ~pw, data = st)
mg <- svyglm(api00 ~ ell + meals + mobility, design = des2, family = Gamma(link = "log"),
             control = glm.control(epsilon = 1e-14, maxit = 100))
write_case("conv_r_svy_gamma_apistrat", "svy_gamma_apistrat",
           c("--formula", "api00 ~ ell + meals + mobility", "--model", "glm", "--family", "gamma", "--link", "log",
             "--strata", "stype", "--fpc", "fpc", "--weights", "pw", "--weight-type", "pweight", conv),
           "Survey gamma-log GLM on apistrat (strata, FPC), --convention r: vcov(svyglm) (EIM bread), t with degf - K + 1 df",
           names(coef(mg)), coef(mg), se_of(vcov(mg)), nrow(st), df = mg$df.residual)
