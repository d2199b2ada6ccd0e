# Golden case for tests under a survey design (issue #17, item 6): writes
# tests/golden/postest_svy_logit_nhanes/{data.csv, case.json, expected.json}.
# Run from the repository root:  Rscript tests/golden/scripts/postestimation.R
#
# Reference: R's survey package. The Wald statistic W = (Rb)' (R V R')^{-1} (Rb) is
# survey::regTermTest(method = "Wald")'s `Ftest * df` (R V R' from vcov(svyglm), the linearized
# variance; for the canonical logit link it equals Stata's, with the observed information as
# bread, and is checked against the SEs of tests/golden/svy_logit_nhanes). regTermTest reports
# F = W / q on (q, residual df); Stata's svy `test` reports the adjusted Wald F
#   F = (d - q + 1) / (d q) W  on (q, d - q + 1),  d = degf(design) = PSUs - strata
# ([SVY] svy postestimation, "adjusted Wald test"), computed here from R's W. The model test of
# Stata's svy header is the same adjusted F of every slope. lincom: c'b, sqrt(c'Vc), t with d df.
suppressMessages(library(survey))
library(jsonlite)
options(digits = 17)

src <- "tests/golden/svy_logit_nhanes"
name <- "postest_svy_logit_nhanes"
d0 <- read.csv(file.path(src, "data.csv"), stringsAsFactors = FALSE)
d0$race <- factor(d0$race)
d0$agecat <- factor(d0$agecat)
des <- svydesign(id = ~psu, strata = ~stratum, weights = ~wt, nest = TRUE, data = d0)
m <- svyglm(hi_chol ~ race + agecat + female, design = des, family = quasibinomial(),
            control = glm.control(epsilon = 1e-15, maxit = 100))
b <- coef(m)
V <- vcov(m)
dd <- degf(des)
terms <- c("(Intercept)", "C(race)[2]", "C(race)[3]", "C(race)[4]", "C(agecat)[(19,39]]",
           "C(agecat)[(39,59]]", "C(agecat)[(59,Inf]]", "female")
stopifnot(length(b) == length(terms))
# The same variance as the committed survey golden case.
ref <- fromJSON(file.path(src, "expected.json"))$models$coefficients[[1]]
stopifnot(max(abs(sqrt(diag(V)) - ref$std_error) / ref$std_error) < 1e-7)

adjusted <- function(label, idx, W) {
  q <- length(idx)
  # W by hand, as a second opinion to regTermTest's.
  Wh <- drop(t(b[idx]) %*% solve(V[idx, idx, drop = FALSE], b[idx]))
  stopifnot(abs(Wh - W) < 1e-9 * abs(W))
  F <- (dd - q + 1) / (dd * q) * W
  list(test = label, statistic = F, df = q, df_denominator = dd - q + 1,
       p_value = pf(F, q, dd - q + 1, lower.tail = FALSE), kind = "F")
}
rt <- function(term) { r <- regTermTest(m, term, method = "Wald"); drop(r$Ftest) * r$df }
tests <- list(
  adjusted("C(agecat)", 5:7, rt(~agecat)),
  adjusted("C(race)", 2:4, rt(~race)),
  adjusted("female = 0", 8, rt(~female))
)
model_test <- adjusted("all slopes = 0", 2:8, rt(~race + agecat + female))
model_test$test <- NULL

cvec <- rep(0, length(b)); cvec[7] <- 1; cvec[5] <- -1
est <- sum(cvec * b); se <- sqrt(drop(t(cvec) %*% V %*% cvec))
qq <- qt(0.975, dd)
lincom <- list(list(term = "C(agecat)[(59,Inf]] - C(agecat)[(19,39]]", estimate = est, std_error = se,
                    statistic = est / se, p_value = 2 * pt(-abs(est / se), dd),
                    conf_low = est - qq * se, conf_high = est + qq * se))

args <- c("--formula", "hi_chol ~ C(race) + C(agecat) + female", "--model", "logit", "--strata", "stratum",
          "--psu", "psu", "--weights", "wt", "--weight-type", "pweight",
          "--test", "C(agecat)", "--test", "C(race)", "--test", "female = 0",
          "--lincom", "C(agecat)[(59,Inf]] - C(agecat)[(19,39]]")
dir <- file.path("tests/golden", name)
dir.create(dir, showWarnings = FALSE, recursive = TRUE)
file.copy(file.path(src, "data.csv"), file.path(dir, "data.csv"), overwrite = TRUE)
case <- list(
  command = "fit", args = args,
  description = "Survey logit (nhanes: strata, PSUs, pweights): adjusted Wald F with design df for two factors and one coefficient, the svy header's model F, lincom with t(d)",
  reference = paste0("tests/golden/scripts/postestimation.R (R ", getRversion(), ", survey ",
                     packageVersion("survey"), "): regTermTest Wald W = Ftest * df with Stata's adjustment (d-q+1)/(d q)"),
  loglik_check = FALSE,
  tolerance = list(estimate = 1e-6, std_error = 1e-6, margin_estimate = 1e-6, margin_std_error = 1e-5, test = 1e-5)
)
writeLines(toJSON(case, auto_unbox = TRUE, pretty = TRUE, digits = NA), file.path(dir, "case.json"))
exact <- function(v) {
  if (is.list(v)) return(lapply(v, exact))
  if (is.numeric(v) && length(v) == 1) return(structure(sprintf("%.17g", v), class = "json"))
  v
}
coefs <- lapply(seq_along(b), function(i) list(term = terms[i], estimate = unname(b[i]), std_error = sqrt(V[i, i])))
models <- list(list(n_obs = nrow(d0), df_r = dd, coefficients = coefs, model_test = model_test,
                    tests = tests, lincom = lincom))
writeLines(toJSON(exact(list(models = models)), auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE),
           file.path(dir, "expected.json"))
cat(name, ": ok\n")
