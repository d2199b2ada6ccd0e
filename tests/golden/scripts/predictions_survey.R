# Golden numbers for survey predictive margins and contrasts (issue 17): writes
# tests/golden/pm_svy_logit_nhanes/{data.csv, case.json, expected.json}. Run from the
# repository root:   Rscript tests/golden/scripts/predictions_survey.R
#
# Reference: survey::svyglm on survey::nhanes (strata, nested PSUs, pweights), its vcov (equal to
# Stata's linearized variance for the canonical logit link: survey.R checks it to 1e-8 against
# the hand-coded H^-1 G H^-1); predictive margins (Stata's `margins race`, Korn-Graubard
# predictive margins conditional on the covariates, vce(delta)) hand-coded:
#   PM_l = sum_i w_i plogis(x_i^(l) b) / sum_i w_i,  J_l = sum_i w_i p_i(1-p_i) x_i^(l) / sum_i w_i,
# every row set to race level l (and to female = 0 or 1 for the at-grid), SE sqrt(J V J');
# contrasts PM_a - PM_b with J_a - J_b; t statistics with the design df (degf()), as Stata's svy.
# Cross-check: survey::svycontrast applied to the svyglm fit with the predictive margin written
# as a nonlinear expression of the coefficients (the same delta method, R's own derivative).
suppressMessages(library(survey))
library(jsonlite)
options(digits = 17)
src <- "tests/golden/svy_logit_nhanes/data.csv"
dd <- read.csv(src, stringsAsFactors = FALSE)
dd$race_f <- factor(dd$race); dd$agecat_f <- factor(dd$agecat)
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~wt, nest = TRUE, data = dd)
ctrl <- glm.control(epsilon = 1e-15, maxit = 100)
m <- svyglm(hi_chol ~ race_f + agecat_f + female, design = des, family = quasibinomial(), control = ctrl)
b <- coef(m); V <- vcov(m); w <- dd$wt; df <- degf(des)
q <- qt(0.975, df)
row <- function(term, est, s, at = NULL) {
  r <- list(term = term)
  if (!is.null(at)) r$at <- at
  c(r, list(estimate = est, std_error = s, p_value = 2 * pt(-abs(est / s), df),
            conf_low = est - q * s, conf_high = est + q * s))
}
pm <- function(race, female = NULL) {
  nd <- dd
  nd$race_f <- factor(race, levels = levels(dd$race_f))
  if (!is.null(female)) nd$female <- female
  X <- model.matrix(~ race_f + agecat_f + female, nd)
  p <- plogis(drop(X %*% b))
  list(est = sum(w * p) / sum(w), J = colSums(X * (w * p * (1 - p))) / sum(w), X = X)
}
preds <- list(); cons <- list()
for (fem in list(NULL, 0, 1)) {
  at <- if (is.null(fem)) NULL else list(female = fem)
  lv <- levels(dd$race_f)
  r <- lapply(lv, function(l) pm(l, fem))
  for (i in seq_along(lv)) {
    s <- sqrt(drop(t(r[[i]]$J) %*% V %*% r[[i]]$J))
    preds[[length(preds) + 1]] <- row(sprintf("C(race)[%s]", lv[i]), r[[i]]$est, s, at)
  }
  for (a in seq_along(lv)) for (bb in seq_along(lv)) if (bb < a) {
    J <- r[[a]]$J - r[[bb]]$J
    cons[[length(cons) + 1]] <- row(sprintf("C(race)[%s] - C(race)[%s]", lv[a], lv[bb]),
                                    r[[a]]$est - r[[bb]]$est, sqrt(drop(t(J) %*% V %*% J)), at)
  }
}
# Cross-check of the first predictive margin with svycontrast (nonlinear, R's deriv()):
# PM = sum_i w_i plogis(x_i b) / W written over the distinct rows of X under the level.
X1 <- pm(levels(dd$race_f)[1])$X
key <- apply(X1, 1, paste, collapse = ",")
u <- !duplicated(key); Xu <- X1[u, , drop = FALSE]; wu <- tapply(w, key, sum)[key[u]]
nm <- names(b); nmq <- paste0("`", nm, "`")
terms <- sapply(seq_len(nrow(Xu)), function(i) {
  lin <- paste(sprintf("%.17g*%s", Xu[i, ], nmq), collapse = "+")
  sprintf("%.17g/(1+exp(-(%s)))", wu[i] / sum(w), lin)
})
sc <- svycontrast(m, parse(text = paste(terms, collapse = "+"))[[1]])
stopifnot(abs(coef(sc) - preds[[1]]$estimate) < 1e-12, abs(SE(sc) / preds[[1]]$std_error - 1) < 1e-9)
dir <- "tests/golden/pm_svy_logit_nhanes"
dir.create(dir, showWarnings = FALSE)
file.copy(src, file.path(dir, "data.csv"), overwrite = TRUE)
case <- list(command = "fit",
  args = c("--formula", "hi_chol ~ C(race) + C(agecat) + female", "--model", "logit", "--strata", "stratum",
           "--psu", "psu", "--weights", "wt", "--weight-type", "pweight", "--predict-margins", "race",
           "--contrast", "race:pairwise"),
  description = "Survey logit (nhanes: strata, PSUs, pweights): predictive margins by race with pairwise contrasts, t with design df",
  reference = paste0("tests/golden/scripts/predictions_survey.R (R ", getRversion(), ", survey ", packageVersion("survey"),
                     "): svyglm vcov, hand-coded delta method, checked against svycontrast"),
  loglik_check = FALSE,
  tolerance = list(estimate = 1e-6, std_error = 1e-6, margin_estimate = 1e-6, margin_std_error = 1e-5))
writeLines(toJSON(case, auto_unbox = TRUE, pretty = TRUE, digits = NA), file.path(dir, "case.json"))
exact <- function(v) {
  if (is.list(v)) return(lapply(v, exact))
  if (is.numeric(v) && length(v) == 1) return(structure(sprintf("%.17g", v), class = "json"))
  v
}
nogrid <- function(l) Filter(function(r) is.null(r$at), l)
writeLines(toJSON(exact(list(models = list(list(n_obs = nrow(dd), df_r = df, predictions = nogrid(preds),
                                                contrasts = nogrid(cons))))),
                  auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE), file.path(dir, "expected.json"))
# The at-grid case: the same with --at "female=0 1".
dir2 <- "tests/golden/pm_svy_logit_nhanes_at"
dir.create(dir2, showWarnings = FALSE)
file.copy(src, file.path(dir2, "data.csv"), overwrite = TRUE)
case$args <- c(case$args, "--at", "female=0 1")
case$description <- "Survey logit (nhanes): predictive margins by race and pairwise contrasts at female = 0 and 1"
writeLines(toJSON(case, auto_unbox = TRUE, pretty = TRUE, digits = NA), file.path(dir2, "case.json"))
grid <- function(l) Filter(function(r) !is.null(r$at), l)
writeLines(toJSON(exact(list(models = list(list(n_obs = nrow(dd), df_r = df, predictions = grid(preds),
                                                contrasts = grid(cons))))),
                  auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE), file.path(dir2, "expected.json"))
cat("pm_svy_logit_nhanes, pm_svy_logit_nhanes_at: ok\n")
