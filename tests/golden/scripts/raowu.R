# Reference numbers for migfit's Rao-Wu survey bootstrap (tests/numbers/raowu.rs): R's survey
# package fed the replicate weights that migfit's --save-weights wrote, so that both sides
# refit the same replicates.
#
#   migfit fit tests/golden/svy_logit_nhanes/data.csv -m logit \
#     -f "hi_chol ~ C(race) + C(agecat) + female" --strata stratum --psu psu \
#     --weights wt --weight-type pweight --vce bootstrap --reps 40 --seed 20261206 \
#     --save-weights /tmp/raowu_nhanes_w.csv --format json > /dev/null
#   migfit fit tests/golden/svy_gamma_apistrat/data.csv -m glm --family gamma --link log \
#     -f "api00 ~ ell + meals + mobility" --strata stype --weights pw --weight-type pweight \
#     --vce bootstrap --reps 40 --seed 7 --save-weights /tmp/raowu_api_w.csv --format json > /dev/null
#   Rscript tests/golden/scripts/raowu.R /tmp/raowu_nhanes_w.csv /tmp/raowu_api_w.csv \
#     > tests/reference/raowu_survey/expected.json
#
# What is independent of migfit: every replicate's estimates (svyglm on
# svrepdesign(type = "bootstrap", repweights = migfit's multipliers, combined.weights = FALSE,
# scale = 1/(R-1), rscales = 1, mse = FALSE), i.e. glm refits with weights wt x multiplier)
# and the replicate variance (vcov of that svyglm: 1/(R-1) sum (b_r - bbar)(b_r - bbar)'),
# which is what R's as.svrepdesign(type = "subbootstrap") computes from its own draws. What
# comes from migfit: the multipliers (the random draws).
#
# The rescaling rule itself is checked twice, in the same terms: R's own subbootstrap
# replicate weights (as.svrepdesign(design, type = "subbootstrap"), whose source is
# survey:::subbootweights / survey:::subbootstratum: per stratum, n_h - 1 PSUs drawn with
# replacement, weight multiplier count x n_h / (n_h - 1)) and migfit's multipliers must both be
# constant within a PSU and equal to count x n_h / (n_h - 1) with non-negative integer counts
# summing to n_h - 1 in every stratum and replicate. R 4.2.2, survey 4.1.1, jsonlite.
suppressPackageStartupMessages({ library(survey); library(jsonlite) })
args <- commandArgs(trailingOnly = TRUE)

# TRUE when the multipliers `m` (rows x replicates) follow the Rao-Wu rule for `strata`/`psu`.
raowu_rule <- function(m, strata, psu) {
  ok <- TRUE
  for (h in unique(strata)) {
    rows <- strata == h
    upsu <- unique(psu[rows])
    nh <- length(upsu)
    first <- match(upsu, psu[rows])
    for (r in seq_len(ncol(m))) {
      mh <- m[rows, r]
      per_psu <- mh[first]
      ok <- ok && all(abs(mh - per_psu[match(psu[rows], upsu)]) < 1e-9)  # constant within a PSU
      counts <- per_psu * (nh - 1) / nh
      ok <- ok && all(abs(counts - round(counts)) < 1e-9) && all(counts > -1e-9)
      ok <- ok && abs(sum(counts) - (nh - 1)) < 1e-9
    }
  }
  ok
}

case <- function(name, data, weights_file, formula, family, strata, psu, wt) {
  d <- read.csv(data, stringsAsFactors = FALSE)
  w <- read.csv(weights_file)
  rows <- w$line - 1                                   # data line 2 is the first data row
  d <- d[rows, ]
  m <- as.matrix(w[, -1])
  R <- ncol(m)
  d$.strata <- d[[strata]]
  d$.psu <- if (is.null(psu)) seq_len(nrow(d)) else d[[psu]]
  d$.wt <- d[[wt]]
  des <- svydesign(ids = ~.psu, strata = ~.strata, weights = ~.wt, nest = TRUE, data = d)
  rep <- svrepdesign(data = d, repweights = m, type = "bootstrap", weights = ~.wt,
                     combined.weights = FALSE, scale = 1 / (R - 1), rscales = rep(1, R), mse = FALSE)
  fit <- svyglm(formula, design = rep, family = family, return.replicates = TRUE,
                control = list(epsilon = 1e-15, maxit = 200))
  reps <- fit$replicates
  set.seed(1)
  own <- as.svrepdesign(des, type = "subbootstrap", replicates = 20)
  own_m <- weights(own, "analysis") / weights(des)
  list(
    name = name,
    replicates = R,
    rule_migfit = raowu_rule(m, d$.strata, d$.psu),
    rule_r_subbootstrap = raowu_rule(own_m, d$.strata, d$.psu),
    r_subbootstrap_scale = own$scale,
    terms = names(coef(fit)),
    estimate = unname(coef(fit)),
    replicate_estimates = unname(reps),
    std_error = unname(sqrt(diag(vcov(fit)))),
    covariance = unname(as.matrix(vcov(fit)))
  )
}

out <- list(
  generator = "tests/golden/scripts/raowu.R",
  r = paste(R.version$major, R.version$minor, sep = "."),
  survey = as.character(packageVersion("survey")),
  cases = list(
    case("nhanes_logit", "tests/golden/svy_logit_nhanes/data.csv", args[1],
         hi_chol ~ factor(race) + factor(agecat) + female, quasibinomial("logit"), "stratum", "psu", "wt"),
    case("apistrat_gamma", "tests/golden/svy_gamma_apistrat/data.csv", args[2],
         api00 ~ ell + meals + mobility, Gamma("log"), "stype", NULL, "pw")
  )
)
stopifnot(all(sapply(out$cases, function(c) c$rule_migfit && c$rule_r_subbootstrap)))
cat(toJSON(out, digits = I(17), auto_unbox = TRUE, pretty = TRUE), "\n")
