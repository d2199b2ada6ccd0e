# Golden numbers for tests and linear combinations of predictive margins under a survey design
# (issue 17: --test-margins, --lincom-margins; Stata's `svy: logit`, `margins race, post`, then
# `test` / `lincom`): writes tests/golden/mt_svy_logit_nhanes/{data.csv, case.json,
# expected.json}. Run from the repository root:  Rscript tests/golden/scripts/margin_tests_survey.R
#
# Reference: survey::svycontrast on the svyglm fit (survey::nhanes: strata, nested PSUs,
# pweights) with each predictive margin written as a nonlinear expression of the coefficients,
#   PM_l = sum_i w_i plogis(x_i^(l) b) / sum_i w_i   (every row set to race level l),
# so that R's own symbolic derivative (deriv()) gives the margins and their joint covariance
# V_m = J V J' (V = vcov(svyglm), the linearized variance, equal to Stata's for the logit link:
# survey.R). A test R m = r: W = (R m - r)' (R V_m R')^-1 (R m - r), reported as Stata's svy
# adjusted Wald F = (d - q + 1) / (d q) W on (q, d - q + 1), d = degf(design) ([SVY] svy
# postestimation); a combination c'm with SE sqrt(c' V_m c) and t(d). The hand-coded Jacobian
# (colSums(X w p (1 - p)) / W) is checked against svycontrast's covariance.
suppressMessages(library(survey))
library(jsonlite)
options(digits = 17)
src <- "tests/golden/svy_logit_nhanes/data.csv"
dd <- read.csv(src, stringsAsFactors = FALSE)
dd$race_f <- factor(dd$race); dd$agecat_f <- factor(dd$agecat)
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~wt, nest = TRUE, data = dd)
m <- svyglm(hi_chol ~ race_f + agecat_f + female, design = des, family = quasibinomial(),
            control = glm.control(epsilon = 1e-15, maxit = 100))
b <- coef(m); V <- vcov(m); w <- dd$wt; d <- degf(des)
lv <- levels(dd$race_f)
nm <- names(b); nmq <- paste0("`", nm, "`")
# PM_l as an expression over the distinct design rows under level l (weights summed).
pm_expr <- function(l) {
  nd <- dd; nd$race_f <- factor(l, levels = lv)
  X <- model.matrix(~ race_f + agecat_f + female, nd)
  key <- apply(X, 1, paste, collapse = ",")
  u <- !duplicated(key); Xu <- X[u, , drop = FALSE]; wu <- tapply(w, key, sum)[key[u]]
  terms <- sapply(seq_len(nrow(Xu)), function(i) {
    sprintf("%.17g/(1+exp(-(%s)))", wu[i] / sum(w), paste(sprintf("%.17g*%s", Xu[i, ], nmq), collapse = "+"))
  })
  p <- plogis(drop(X %*% b))
  list(expr = parse(text = paste(terms, collapse = "+"))[[1]], J = colSums(X * (w * p * (1 - p))) / sum(w))
}
pms <- lapply(lv, pm_expr)
sc <- svycontrast(m, setNames(lapply(pms, `[[`, "expr"), paste0("race", lv)))
est <- coef(sc); Vm <- vcov(sc)
J <- t(sapply(pms, `[[`, "J"))
stopifnot(max(abs(J %*% V %*% t(J) - Vm)) < 1e-10 * max(abs(Vm)))
adjusted <- function(label, R, r) {
  R <- matrix(R, ncol = length(lv)); q <- nrow(R)
  dv <- drop(R %*% est) - r
  W <- drop(t(dv) %*% solve(R %*% Vm %*% t(R), dv))
  F <- (d - q + 1) / (d * q) * W
  list(test = label, statistic = F, df = q, df_denominator = d - q + 1,
       p_value = pf(F, q, d - q + 1, lower.tail = FALSE), kind = "F", on = "margins")
}
e <- function(i) { v <- rep(0, length(lv)); v[i] <- 1; v }
tests <- list(
  adjusted("race[1] = race[2], race[1] = race[3], race[1] = race[4]",
           rbind(e(1) - e(2), e(1) - e(3), e(1) - e(4)), c(0, 0, 0)),
  adjusted("C(race)[4] - C(race)[3] = 0.05", rbind(e(4) - e(3)), 0.05)
)
qq <- qt(0.975, d)
lin <- function(label, cvec) {
  x <- sum(cvec * est); s <- sqrt(drop(t(cvec) %*% Vm %*% cvec))
  list(term = label, estimate = x, std_error = s, statistic = x / s, p_value = 2 * pt(-abs(x / s), d),
       conf_low = x - qq * s, conf_high = x + qq * s, on = "margins")
}
lincom <- list(lin("race[3] - race[2]", e(3) - e(2)),
               lin("(race[1] + race[2])*0.5 - race[4]", 0.5 * e(1) + 0.5 * e(2) - e(4)))
args <- c("--formula", "hi_chol ~ C(race) + C(agecat) + female", "--model", "logit", "--strata", "stratum",
          "--psu", "psu", "--weights", "wt", "--weight-type", "pweight", "--predict-margins", "race",
          "--test-margins", tests[[1]]$test, "--test-margins", tests[[2]]$test,
          "--lincom-margins", lincom[[1]]$term, "--lincom-margins", "0.5*race[1] + 0.5*race[2] - race[4]")
lincom[[2]]$term <- "0.5*race[1] + 0.5*race[2] - race[4]"
dir <- "tests/golden/mt_svy_logit_nhanes"
dir.create(dir, showWarnings = FALSE)
file.copy(src, file.path(dir, "data.csv"), overwrite = TRUE)
case <- list(command = "fit", args = args,
  description = "Survey logit (nhanes: strata, PSUs, pweights): joint test of equal predictive margins by race (adjusted Wald F with design df), a test against a constant, lincom of margins with t(d)",
  reference = paste0("tests/golden/scripts/margin_tests_survey.R (R ", getRversion(), ", survey ", packageVersion("survey"),
                     "): svycontrast of the predictive margins (nonlinear, R's deriv) for the margins and V_m; Stata's adjusted F"),
  loglik_check = FALSE,
  tolerance = list(estimate = 1e-6, std_error = 1e-6, margin_estimate = 1e-6, margin_std_error = 1e-5, test = 1e-5))
writeLines(toJSON(case, auto_unbox = TRUE, pretty = TRUE, digits = NA), file.path(dir, "case.json"))
exact <- function(v) {
  if (is.list(v)) return(lapply(v, exact))
  if (is.numeric(v) && length(v) == 1) return(structure(sprintf("%.17g", v), class = "json"))
  v
}
writeLines(toJSON(exact(list(models = list(list(n_obs = nrow(dd), df_r = d, tests = tests, lincom = lincom)))),
                  auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE), file.path(dir, "expected.json"))
cat("mt_svy_logit_nhanes: ok\n")
