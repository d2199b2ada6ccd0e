# Golden numbers for survey-design (linearized) variances: writes tests/golden/svy_*/
# {data.csv, case.json, expected.json}. Run from the repository root:
#     Rscript tests/golden/scripts/survey.R
#
# Reference: Stata's svy linearized variance ([SVY] variance estimation):
#   V = H^{-1} G H^{-1},  G = sum_h (1 - f_h) n_h/(n_h - 1) sum_j (z_hj - zbar_h)(z_hj - zbar_h)',
# with H the observed information of the weighted log likelihood and z_hj the PSU totals of the
# weighted scores. Here:
#   * G is survey::svytotal's design-based variance of the score totals (R's survey package,
#     an independent implementation of the same between-PSU formula, with the FPC);
#   * H is coded by hand from the analytic second derivatives (observed information);
#   * the estimates are survey::svyglm's (weighted ML), converged to 1e-15;
#   * for the canonical logit link H equals the expected information, so V is also checked
#     against vcov(svyglm) (stopifnot below);
#   * t statistics with design degrees of freedom degf() = PSUs - strata, as Stata's svy;
#   * AMEs (weighted averages over the estimation sample, factor levels as discrete changes)
#     and their delta-method SEs are hand-coded with analytic Jacobians.
suppressMessages(library(survey))
library(jsonlite)
options(digits = 17)

out_root <- "tests/golden"
num <- function(x) unname(as.numeric(x))

write_case <- function(name, data, args, description, models, command = "fit") {
  dir <- file.path(out_root, name)
  dir.create(dir, showWarnings = FALSE, recursive = TRUE)
  write.csv(data, file.path(dir, "data.csv"), row.names = FALSE, na = "")
  case <- list(
    command = command, args = args, description = description,
    reference = paste0("tests/golden/scripts/survey.R (R ", getRversion(), ", survey ",
                       packageVersion("survey"), "): svytotal between-PSU variance of the scores, ",
                       "hand-coded observed-information bread, t with degf() design df"),
    loglik_check = FALSE,
    tolerance = list(estimate = 1e-6, std_error = 1e-6, margin_estimate = 1e-6, margin_std_error = 1e-5)
  )
  writeLines(toJSON(case, auto_unbox = TRUE, pretty = TRUE, digits = NA), file.path(dir, "case.json"))
  # jsonlite prints at most 15 significant digits: write every number verbatim with %.17g.
  exact <- function(v) {
    if (is.list(v)) return(lapply(v, exact))
    if (is.numeric(v) && length(v) == 1) return(structure(sprintf("%.17g", v), class = "json"))
    v
  }
  writeLines(toJSON(exact(list(models = models)), auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE),
             file.path(dir, "expected.json"))
}

# Inference rows with t(df).
rows <- function(terms, est, se, df, level = 0.95) {
  q <- qt(0.5 + level / 2, df)
  lapply(seq_along(terms), function(i) list(
    term = terms[i], estimate = num(est[i]), std_error = num(se[i]),
    p_value = num(2 * pt(-abs(est[i] / se[i]), df)),
    conf_low = num(est[i] - q * se[i]), conf_high = num(est[i] + q * se[i])))
}

# Linearized variance from unweighted per-row scores u (dl/deta), design matrix X, observed
# information H, for a design built by `mk(data)`.
linearized <- function(u, X, H, d, mk) {
  Z <- u * X
  colnames(Z) <- paste0("z", seq_len(ncol(X)))
  d2 <- cbind(d, Z)
  des2 <- mk(d2)
  G <- vcov(svytotal(as.formula(paste("~", paste(colnames(Z), collapse = "+"))), des2))
  B <- solve(H)
  V <- B %*% G %*% B
  (V + t(V)) / 2
}

ctrl <- glm.control(epsilon = 1e-15, maxit = 200)

# Linearized variance of a weighted probit fit m of the 0/1 response y: with q = 2y - 1 and
# r = phi(q eta)/Phi(q eta), the score is q r and the observed information r (q eta + r).
probit_linearized <- function(m, y, w, d, mk) {
  X <- model.matrix(m); eta <- drop(X %*% coef(m))
  q <- 2 * y - 1
  r <- dnorm(q * eta) / pnorm(q * eta)
  linearized(q * r, X, crossprod(X * (w * r * (q * eta + r)), X), d, mk)
}

# ---- 1. Logit, NHANES (stratified, 2 PSUs per stratum, nested), AMEs ----------------------
data(nhanes)
d <- nhanes[complete.cases(nhanes[, c("HI_CHOL", "race", "agecat", "RIAGENDR", "SDMVPSU", "SDMVSTRA", "WTMEC2YR")]), ]
d$agecat <- as.character(d$agecat)
d$race <- as.numeric(d$race)
dd <- data.frame(hi_chol = d$HI_CHOL, race = d$race, agecat = d$agecat, female = as.numeric(d$RIAGENDR == 2),
                 psu = d$SDMVPSU, stratum = d$SDMVSTRA, wt = d$WTMEC2YR)
mk <- function(x) svydesign(ids = ~psu, strata = ~stratum, weights = ~wt, nest = TRUE, data = x)
dd$race_f <- factor(dd$race); dd$agecat_f <- factor(dd$agecat)
des <- mk(dd)
m <- svyglm(hi_chol ~ race_f + agecat_f + female, design = des, family = quasibinomial(), control = ctrl)
X <- model.matrix(m)
b <- coef(m)
eta <- drop(X %*% b); p <- plogis(eta); w <- dd$wt
H <- crossprod(X * (w * p * (1 - p)), X)
V <- linearized(dd$hi_chol - p, X, H, dd, mk)
stopifnot(max(abs(V - vcov(m)) / abs(vcov(m))) < 1e-8)
df <- degf(des)
terms <- c("(Intercept)", paste0("C(race)[", levels(dd$race_f)[-1], "]"),
           paste0("C(agecat)[", levels(dd$agecat_f)[-1], "]"), "female")
se <- sqrt(diag(V))
# AMEs: female (derivative), race and agecat levels (discrete changes vs the reference).
wm <- function(v) sum(w * v) / sum(w)
lam <- function(e) plogis(e) * (1 - plogis(e))
margins <- list()
add_margin <- function(term, contrast, est, J) {
  s <- sqrt(drop(t(J) %*% V %*% J))
  q <- qt(0.975, df)
  margins[[length(margins) + 1]] <<- list(term = term, contrast = contrast, estimate = est, std_error = s,
    p_value = 2 * pt(-abs(est / s), df), conf_low = est - q * s, conf_high = est + q * s)
}
j <- which(colnames(X) == "female")
e <- b[j] * lam(eta)
J <- sapply(seq_len(ncol(X)), function(k) wm(lam(eta) * (1 - 2 * p) * X[, k] * b[j] + lam(eta) * (k == j)))
add_margin("female", "dydx", num(wm(e)), J)
for (f in c("race", "agecat")) {
  cols <- grep(paste0("^", f, "_f"), colnames(X))
  labs <- levels(dd[[paste0(f, "_f")]])
  for (ci in seq_along(cols)) {
    X1 <- X; X1[, cols] <- 0; X1[, cols[ci]] <- 1
    X0 <- X; X0[, cols] <- 0
    e1 <- drop(X1 %*% b); e0 <- drop(X0 %*% b)
    J <- sapply(seq_len(ncol(X)), function(k) wm(lam(e1) * X1[, k] - lam(e0) * X0[, k]))
    add_margin(paste0("C(", f, ")[", labs[ci + 1], "]"), paste(labs[ci + 1], "vs", labs[1]),
               num(wm(plogis(e1) - plogis(e0))), J)
  }
}
write_case("svy_logit_nhanes", dd[, c("hi_chol", "race", "agecat", "female", "psu", "stratum", "wt")],
  c("--formula", "hi_chol ~ C(race) + C(agecat) + female", "--model", "logit",
    "--strata", "stratum", "--psu", "psu", "--weights", "wt", "--weight-type", "pweight", "--margins"),
  "Logit on survey::nhanes with strata, PSUs (nested) and pweights: linearized variance, t with design df, AMEs",
  list(list(n_obs = nrow(dd), df_r = df, coefficients = rows(terms, b, se, df), margins = margins)))

# ---- 1b. The same design, a subpopulation (Stata's svy, subpop(); R's subset() of a design) --
# Every PSU and stratum stays in the variance; the rows outside the subpopulation have zero
# scores. Canonical link: vcov(svyglm) on the subset design is the reference itself.
dsub <- subset(des, female == 1)
ms <- svyglm(hi_chol ~ race_f + agecat_f, design = dsub, family = quasibinomial(), control = ctrl)
Xs <- model.matrix(~ race_f + agecat_f, dd)
ps <- plogis(drop(Xs %*% coef(ms))); inside <- dd$female == 1
Hs <- crossprod(Xs[inside, ] * (w[inside] * ps[inside] * (1 - ps[inside])), Xs[inside, ])
Vs <- linearized(ifelse(inside, dd$hi_chol - ps, 0), Xs, Hs, dd, mk)
stopifnot(max(abs(Vs - vcov(ms)) / abs(vcov(ms))) < 1e-8)
# Stata's design df: PSUs minus strata, over the strata with subpopulation members.
act <- unique(dd$stratum[inside])
dfs <- length(unique(paste(dd$stratum, dd$psu)[dd$stratum %in% act])) - length(act)
write_case("svy_logit_nhanes_subpop", dd[, c("hi_chol", "race", "agecat", "female", "psu", "stratum", "wt")],
  c("--formula", "hi_chol ~ C(race) + C(agecat)", "--model", "logit",
    "--strata", "stratum", "--psu", "psu", "--weights", "wt", "--weight-type", "pweight", "--subpop", "female == 1"),
  "Logit on survey::nhanes for the subpopulation female == 1 (svy, subpop()): every PSU kept, zero scores outside, equal to vcov(svyglm) on subset(design)",
  list(list(n_obs = sum(inside), df_r = dfs, coefficients = rows(terms[!grepl("female", terms)], coef(ms), sqrt(diag(Vs)), dfs))))

# ---- 1c. Strata with a single PSU (Stata's svyset singleunit(); R's survey.lonely.psu) -------
# The nhanes design with the second PSU of three strata removed: those strata keep one PSU.
# Stata's certainty = R "certainty" (no contribution); scaled = R "average" (the other strata's
# variance times H / (H - H_1)); centered = R "adjust" (R centres a lonely PSU total at zero,
# Stata at the grand mean of the PSU totals: the same at the estimates, where the weighted
# scores sum to zero). Canonical link: vcov(svyglm) is the reference, and the hand-coded
# linearized() agrees with it (stopifnot).
lone <- sort(unique(dd$stratum))[1:3]
dl <- dd[!(dd$stratum %in% lone & dd$psu == 2), ]
for (rule in list(c("certainty", "certainty"), c("scaled", "average"), c("centered", "adjust"))) {
  old <- options(survey.lonely.psu = rule[2])
  desl <- mk(dl)
  ml <- svyglm(hi_chol ~ race_f + agecat_f + female, design = desl, family = quasibinomial(), control = ctrl)
  Xl <- model.matrix(ml)
  pl <- plogis(drop(Xl %*% coef(ml)))
  Hl <- crossprod(Xl * (dl$wt * pl * (1 - pl)), Xl)
  Vl <- linearized(dl$hi_chol - pl, Xl, Hl, dl, mk)
  # Relative to the SEs (an off-diagonal near zero differs by 3e-7 of itself, 6e-9 of the largest).
  sd <- sqrt(diag(vcov(ml)))
  stopifnot(max(abs(Vl - vcov(ml)) / outer(sd, sd)) < 1e-7)
  dfl <- degf(desl)
  write_case(paste0("svy_logit_nhanes_singleunit_", rule[1]),
    dl[, c("hi_chol", "race", "agecat", "female", "psu", "stratum", "wt")],
    c("--formula", "hi_chol ~ C(race) + C(agecat) + female", "--model", "logit",
      "--strata", "stratum", "--psu", "psu", "--weights", "wt", "--weight-type", "pweight",
      "--singleunit", rule[1]),
    paste0("Logit on survey::nhanes with three single-PSU strata, --singleunit ", rule[1],
           " (R survey.lonely.psu = \"", rule[2], "\"): linearized variance, t with design df"),
    list(list(n_obs = nrow(dl), df_r = dfl, coefficients = rows(terms, coef(ml), sqrt(diag(vcov(ml))), dfl))))
  options(old)
}

# ---- 2. Probit, apiclus1 (one-stage cluster sample of districts, FPC as population size) ---
data(api)
d <- apiclus1
dd <- data.frame(sch_wide = as.numeric(d$sch.wide == "Yes"), ell = d$ell, meals = d$meals,
                 mobility = d$mobility, dnum = d$dnum, fpc = d$fpc, pw = d$pw)
mk <- function(x) svydesign(ids = ~dnum, weights = ~pw, fpc = ~fpc, data = x)
des <- mk(dd)
m <- svyglm(sch_wide ~ ell + meals + mobility, design = des, family = quasibinomial(link = "probit"), control = ctrl)
b <- coef(m)
V <- probit_linearized(m, dd$sch_wide, dd$pw, dd, mk)
df <- degf(des)
write_case("svy_probit_apiclus1", dd,
  c("--formula", "sch_wide ~ ell + meals + mobility", "--model", "probit",
    "--psu", "dnum", "--fpc", "fpc", "--weights", "pw", "--weight-type", "pweight"),
  "Probit on survey::apiclus1, a one-stage cluster sample (PSU dnum, FPC as population size, pweights): linearized variance with the observed-information bread",
  list(list(n_obs = nrow(dd), df_r = df, coefficients = rows(c("(Intercept)", "ell", "meals", "mobility"), b, sqrt(diag(V)), df))))

# ---- 3. Gamma GLM with log link, apistrat (stratified, FPC as population size) -------------
d <- apistrat
dd <- data.frame(api00 = d$api00, ell = d$ell, meals = d$meals, mobility = d$mobility,
                 stype = as.character(d$stype), fpc = d$fpc, pw = d$pw)
mk <- function(x) svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = x)
des <- mk(dd)
m <- svyglm(api00 ~ ell + meals + mobility, design = des, family = Gamma(link = "log"), control = ctrl)
X <- model.matrix(m); b <- coef(m); mu <- exp(drop(X %*% b)); w <- dd$pw; y <- dd$api00
# Gamma log likelihood at phi = 1: l = -y/mu - log(mu); dl/deta = y/mu - 1; -d2l/deta2 = y/mu.
H <- crossprod(X * (w * y / mu), X)
V <- linearized(y / mu - 1, X, H, dd, mk)
df <- degf(des)
write_case("svy_gamma_apistrat", dd,
  c("--formula", "api00 ~ ell + meals + mobility", "--model", "glm", "--family", "gamma", "--link", "log",
    "--strata", "stype", "--fpc", "fpc", "--weights", "pw", "--weight-type", "pweight"),
  "Gamma GLM with log link on survey::apistrat (strata, each school its own PSU, FPC as population size, pweights): linearized variance with the observed-information bread",
  list(list(n_obs = nrow(dd), df_r = df, coefficients = rows(c("(Intercept)", "ell", "meals", "mobility"), b, sqrt(diag(V)), df))))

# ---- 4. Two-part model, apistrat: probit for emer > 0, gamma-log GLM on the positives ------
# The second part is a subpopulation of the design (Stata's svy, subpop(); R's subset() of a
# design keeps every PSU and stratum): svytotal on the subset design gives G with zero scores
# outside it.
dd <- data.frame(emer = d$emer, ell = d$ell, meals = d$meals, mobility = d$mobility,
                 stype = as.character(d$stype), fpc = d$fpc, pw = d$pw)
dd$pos <- as.numeric(dd$emer > 0)
des <- mk(dd)
df <- degf(des)
m1 <- svyglm(pos ~ ell + meals + mobility, design = des, family = quasibinomial(link = "probit"), control = ctrl)
b1 <- coef(m1); w <- dd$pw
V1 <- probit_linearized(m1, dd$pos, w, dd, mk)
m2 <- svyglm(emer ~ ell + meals + mobility, design = subset(des, emer > 0), family = Gamma(link = "log"), control = ctrl)
b2 <- coef(m2)
X2 <- model.matrix(~ ell + meals + mobility, dd)
mu <- exp(drop(X2 %*% b2)); y <- dd$emer; inside <- dd$emer > 0
H2 <- crossprod(X2[inside, ] * (w[inside] * y[inside] / mu[inside]), X2[inside, ])
u2 <- ifelse(inside, y / mu - 1, 0)
V2 <- linearized(u2, X2, H2, dd, mk)
terms <- c("(Intercept)", "ell", "meals", "mobility")
write_case("svy_twopart_apistrat", dd[, c("emer", "ell", "meals", "mobility", "stype", "fpc", "pw")],
  c("--formula", "emer ~ ell + meals + mobility", "--first", "probit", "--family", "gamma", "--link", "log",
    "--strata", "stype", "--fpc", "fpc", "--weights", "pw", "--weight-type", "pweight"),
  "Two-part model on survey::apistrat with a survey design: probit on all rows, gamma-log GLM on the positives as a subpopulation of the design (zero scores outside it), t with design df",
  list(list(name = "first", n_obs = nrow(dd), df_r = df, coefficients = rows(terms, b1, sqrt(diag(V1)), df)),
       list(name = "second", n_obs = sum(inside), df_r = df, coefficients = rows(terms, b2, sqrt(diag(V2)), df))),
  command = "twopart")
cat("wrote svy_logit_nhanes, svy_logit_nhanes_subpop, svy_logit_nhanes_singleunit_{certainty,scaled,centered}, svy_probit_apiclus1, svy_gamma_apistrat, svy_twopart_apistrat\n")
