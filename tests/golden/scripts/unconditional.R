# Golden numbers for `--margins-vce unconditional` (Stata's margins, vce(unconditional); issue 17
# item 10): writes tests/golden/uc_*/{data.csv, case.json, expected.json}. Run from the
# repository root:   Rscript tests/golden/scripts/unconditional.R
#
# The reference is built from R's own pieces, not from migfit's formula:
#   * the fits are survey::svyglm's (weighted ML, converged to 1e-15);
#   * each row's influence function of the coefficients is psi_i = H^{-1} w_i u_i x_i, with
#     u_i x_i the row's score and H the observed information (Stata's bread; for the canonical
#     logit link H is also svyglm's, and the design variance of psi's totals is checked against
#     vcov(svyglm) below);
#   * a margin m = sum_i w_i f_i / W (f_i the row's prediction, or effect, under the scenario)
#     is linearized jointly with the coefficients: z_i = w_i (f_i - m) / W + J psi_i, J = dm/db
#     (Binder 1983; Korn and Graubard 1999, sec. 3.5); a two-part E[y] margin stacks both parts,
#     J_1 psi_1i + J_2 psi_2i with psi_2i = 0 outside the positive part;
#   * V_unconditional = survey::svytotal's design variance of the totals of z (svytotal of
#     z_i / w_i under the design with weights w_i: the same strata, PSUs, FPC, and n_h/(n_h - 1)
#     as the coefficients' linearized variance; a cluster design without strata gives Stata's
#     G/(G-1) of vce(cluster));
#   * tie to the package: survey::svypredmeans (which adds J V J' and svymean's variance of the
#     predictions, without the cross term) is run on each single-model case, and its two parts
#     (attr(, "parts")) must equal the script's own J V J' and the variance of the w (f - m)/W
#     totals (stop() otherwise); the reference adds the cross term they leave out.
#   * t statistics with the design df (degf()) under a survey design, z with clusters (Stata).
suppressMessages(library(survey))
library(jsonlite)
options(digits = 17)
ctrl <- glm.control(epsilon = 1e-15, maxit = 200)
out_root <- "tests/golden"
num <- function(x) unname(as.numeric(x))

write_case <- function(name, data, args, description, expected, command = "fit") {
  dir <- file.path(out_root, name)
  dir.create(dir, showWarnings = FALSE, recursive = TRUE)
  write.csv(data, file.path(dir, "data.csv"), row.names = FALSE, na = "")
  case <- list(
    command = command, args = args, description = description,
    reference = paste0("tests/golden/scripts/unconditional.R (R ", getRversion(), ", survey ",
                       packageVersion("survey"), "): svytotal design variance of the linearization ",
                       "w (f - m)/W + J psi (psi = observed-information bread x scores), parts checked against svypredmeans"),
    loglik_check = FALSE,
    tolerance = list(estimate = 1e-6, std_error = 1e-6, margin_estimate = 1e-6, margin_std_error = 1e-6,
                     test = 1e-5))
  writeLines(toJSON(case, auto_unbox = TRUE, pretty = TRUE, digits = NA), file.path(dir, "case.json"))
  exact <- function(v) {
    if (is.list(v)) return(lapply(v, exact))
    if (is.numeric(v) && length(v) == 1) return(structure(sprintf("%.17g", v), class = "json"))
    v
  }
  writeLines(toJSON(exact(expected), auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE),
             file.path(dir, "expected.json"))
}

# The inverse link and its first two derivatives in eta.
links <- list(
  logit = list(F = plogis, d1 = function(e) plogis(e) * (1 - plogis(e)),
               d2 = function(e) { p <- plogis(e); p * (1 - p) * (1 - 2 * p) }),
  probit = list(F = pnorm, d1 = dnorm, d2 = function(e) -e * dnorm(e)),
  log = list(F = exp, d1 = exp, d2 = exp))

# Score u_i (dl/deta, per unit weight) and observed information of a weighted fit.
binary_pieces <- function(link, X, b, y, w) {
  eta <- drop(X %*% b)
  if (link == "logit") {
    p <- plogis(eta)
    list(u = y - p, H = crossprod(X * (w * p * (1 - p)), X))
  } else {
    q <- 2 * y - 1; r <- dnorm(q * eta) / pnorm(q * eta)
    list(u = q * r, H = crossprod(X * (w * r * (q * eta + r)), X))
  }
}
gamma_pieces <- function(X, b, y, w) {
  mu <- exp(drop(X %*% b))
  list(u = y / mu - 1, H = crossprod(X * (w * y / mu), X))
}

# A margin: its estimate, per-row value f (on the design's rows; 0 outside the averaging rows),
# the averaging indicator, W, and the Jacobian J in the stacked coefficients. Linear maps of
# margins act on all of them.
# The margin's own per-row linearization divided by the design weight: (f_i - m) / W on the
# averaging rows (w_i cancels against svytotal's weighting).
own <- function(mg) if (isTRUE(mg$centred)) mg$f else mg$ind * (mg$f - mg$est) / mg$W
lin_comb <- function(a, b, ca = 1, cb = -1) {
  list(est = ca * a$est + cb * b$est, f = ca * own(a) + cb * own(b), centred = TRUE, J = ca * a$J + cb * b$J)
}
# Unconditional covariance of a list of margins: svytotal of own + A J under the design.
uncond_cov <- function(ms, A, data, mk) {
  Z <- sapply(ms, function(mg) own(mg) + drop(A %*% mg$J))
  Z <- matrix(Z, ncol = length(ms))
  colnames(Z) <- paste0("zz", seq_along(ms))
  des2 <- mk(cbind(data, Z))
  unname(vcov(svytotal(as.formula(paste("~", paste(colnames(Z), collapse = "+"))), des2)))
}
own_cov <- function(ms, data, mk) {
  Z <- matrix(sapply(ms, own), ncol = length(ms))
  colnames(Z) <- paste0("zz", seq_along(ms))
  unname(vcov(svytotal(as.formula(paste("~", paste(colnames(Z), collapse = "+"))), mk(cbind(data, Z)))))
}
row_of <- function(term, est, se, df, contrast = NULL) {
  r <- list(term = term)
  if (!is.null(contrast)) r$contrast <- contrast
  if (is.null(df)) {
    q <- qnorm(0.975); p <- 2 * pnorm(-abs(est / se))
  } else {
    q <- qt(0.975, df); p <- 2 * pt(-abs(est / se), df)
  }
  c(r, list(estimate = num(est), std_error = num(se), p_value = num(p),
            conf_low = num(est - q * se), conf_high = num(est + q * se)))
}

# A single model's margins under scenario data frames: `mmat(nd)` gives the design matrix.
pm_single <- function(link, b, mmat, nd, w, ind = rep(1, length(w))) {
  X <- mmat(nd); eta <- drop(X %*% b); L <- links[[link]]
  W <- sum(w * ind)
  f <- L$F(eta) * ind
  list(est = sum(w * f) / W, f = f, ind = ind, W = W, J = colSums(X * (w * ind * L$d1(eta))) / W)
}
# The derivative of a variable entering linearly, coefficient index k.
dydx_single <- function(link, b, X, k, w) {
  eta <- drop(X %*% b); L <- links[[link]]; W <- sum(w)
  f <- L$d1(eta) * b[k]
  J <- colSums(X * (w * L$d2(eta) * b[k])) / W
  J[k] <- J[k] + sum(w * L$d1(eta)) / W
  list(est = sum(w * f) / W, f = f, ind = rep(1, length(w)), W = W, J = J)
}
# svypredmeans' two parts against the script's own J V J' and own-part variance.
check_parts <- function(pmR, levels_, ms, V, data, mk) {
  parts <- attr(attr(pmR, "var"), "parts")
  nm <- names(coef(pmR))
  for (i in seq_along(levels_)) {
    j <- match(levels_[i], nm)
    jvj <- drop(t(ms[[i]]$J) %*% V %*% ms[[i]]$J)
    ov <- own_cov(ms[i], data, mk)[1, 1]
    if (abs(jvj / parts[[1]][j, j] - 1) > 1e-7 || abs(ov / parts[[2]][j, j] - 1) > 1e-9 ||
        abs(ms[[i]]$est / coef(pmR)[j] - 1) > 1e-12)
      stop(sprintf("svypredmeans parts differ at level %s: J V J' %.17g vs %.17g, own %.17g vs %.17g",
                   levels_[i], jvj, parts[[1]][j, j], ov, parts[[2]][j, j]))
  }
}

# Adjusted Wald F of R m = r (Stata's svy test) and lincom with t(df), from the margins' V.
adjusted <- function(label, est, V, R, r, d) {
  diffs <- R %*% est - r
  W <- drop(t(diffs) %*% solve(R %*% V %*% t(R)) %*% diffs)
  q <- nrow(R)
  F <- (d - q + 1) / (d * q) * W
  list(test = label, statistic = F, df = q, df_denominator = d - q + 1,
       p_value = pf(F, q, d - q + 1, lower.tail = FALSE), kind = "F", on = "margins")
}

# ---- 1, 2. Logit and probit on NHANES (strata, 2 PSUs each, pweights) -----------------------
src <- file.path(out_root, "svy_logit_nhanes", "data.csv")
dd0 <- read.csv(src, stringsAsFactors = FALSE)
nh <- function(link) {
  dd <- dd0
  dd$race_f <- factor(dd$race); dd$agecat_f <- factor(dd$agecat)
  mk <- function(x) svydesign(ids = ~psu, strata = ~stratum, weights = ~wt, nest = TRUE, data = x)
  des <- mk(dd)
  fam <- quasibinomial(link = link)
  m <- svyglm(hi_chol ~ race_f + agecat_f + female, design = des, family = fam, control = ctrl)
  b <- coef(m); w <- dd$wt; df <- degf(des)
  X <- model.matrix(m)
  pc <- binary_pieces(link, X, b, dd$hi_chol, w)
  A <- (pc$u * X) %*% solve(pc$H)
  # The design variance of psi's totals is the coefficients' linearized V (Stata's).
  V <- uncond_cov(lapply(seq_along(b), function(k) list(est = 0, f = 0 * w, ind = 0 * w, W = 1,
                                                         J = as.numeric(seq_along(b) == k))), A, dd, mk)
  if (link == "logit") stopifnot(max(abs(V - vcov(m)) / abs(vcov(m))) < 1e-8)
  mmat <- function(nd) model.matrix(~ race_f + agecat_f + female, nd)
  at_level <- function(var, l) {
    nd <- dd; nd[[var]] <- factor(l, levels = levels(dd[[var]])); nd
  }
  pvar <- if (link == "logit") "race_f" else "agecat_f"
  pname <- if (link == "logit") "race" else "agecat"
  lv <- levels(dd[[pvar]])
  pms <- lapply(lv, function(l) pm_single(link, b, mmat, at_level(pvar, l), w))
  # svypredmeans with the other terms as the adjustment model: R adds the factor back.
  other <- if (pvar == "race_f") "agecat_f" else "race_f"
  adj <- eval(bquote(svyglm(.(as.formula(paste("hi_chol ~", other, "+ female"))), design = des,
                            family = quasibinomial(link = .(link)), control = ctrl)))
  pmR <- svypredmeans(adj, as.formula(paste("~", pvar)))
  check_parts(pmR, lv, pms, vcov(m), dd, mk)
  # Effects: female (a numeric 0/1, Stata's c.: derivative), each factor level vs the reference.
  eff <- list(); eff_terms <- list()
  eff[[1]] <- dydx_single(link, b, X, which(names(b) == "female"), w)
  eff_terms[[1]] <- c("female", "dydx")
  for (var in c("race_f", "agecat_f")) {
    lvs <- levels(dd[[var]]); base <- pm_single(link, b, mmat, at_level(var, lvs[1]), w)
    for (l in lvs[-1]) {
      eff[[length(eff) + 1]] <- lin_comb(pm_single(link, b, mmat, at_level(var, l), w), base)
      eff_terms[[length(eff)]] <- c(sprintf("C(%s)[%s]", sub("_f$", "", var), l), sprintf("%s vs %s", l, lvs[1]))
    }
  }
  pairs <- list(); pair_terms <- c()
  for (a in seq_along(lv)) for (bb in seq_along(lv)) if (bb < a) {
    pairs[[length(pairs) + 1]] <- lin_comb(pms[[a]], pms[[bb]])
    pair_terms <- c(pair_terms, sprintf("C(%s)[%s] - C(%s)[%s]", pname, lv[a], pname, lv[bb]))
  }
  all <- c(pms, pairs, eff)
  C <- uncond_cov(all, A, dd, mk)
  se <- sqrt(diag(C))
  np <- length(pms); nc <- length(pairs)
  preds <- lapply(seq_len(np), function(i) row_of(sprintf("C(%s)[%s]", pname, lv[i]), pms[[i]]$est, se[i], df))
  cons <- lapply(seq_len(nc), function(i) row_of(pair_terms[i], pairs[[i]]$est, se[np + i], df))
  effs <- lapply(seq_along(eff), function(i) row_of(eff_terms[[i]][1], eff[[i]]$est, se[np + nc + i], df,
                                                    contrast = eff_terms[[i]][2]))
  model <- list(n_obs = nrow(dd), df_r = df, predictions = preds, contrasts = cons, margins = effs)
  args <- c("--formula", "hi_chol ~ C(race) + C(agecat) + female", "--model", link, "--strata", "stratum",
            "--psu", "psu", "--weights", "wt", "--weight-type", "pweight", "--margins",
            "--predict-margins", pname, "--contrast", paste0(pname, ":pairwise"), "--margins-vce", "unconditional")
  if (link == "logit") {
    # Tests and combinations of margins read the same covariance (here of the 4 margins).
    Cm <- C[1:np, 1:np]; est <- sapply(pms, `[[`, "est")
    e <- function(i) as.numeric(seq_len(np) == i)
    model$tests <- list(adjusted("race[1] = race[2], race[1] = race[3], race[1] = race[4]", est, Cm,
                                 rbind(e(1) - e(2), e(1) - e(3), e(1) - e(4)), c(0, 0, 0), df))
    cvec <- e(3) - e(2)
    l <- row_of("race[3] - race[2]", sum(cvec * est), sqrt(drop(t(cvec) %*% Cm %*% cvec)), df)
    l$statistic <- l$estimate / l$std_error
    l$on <- "margins"
    model$lincom <- list(l)
    args <- c(args, "--test-margins", "race[1] = race[2], race[1] = race[3], race[1] = race[4]",
              "--lincom-margins", "race[3] - race[2]")
  }
  write_case(paste0("uc_svy_", link, "_nhanes"), dd0, args,
    sprintf("Survey %s (nhanes: strata, PSUs, pweights), --margins-vce unconditional: predictive margins by %s with pairwise contrasts, average effects%s",
            link, pname, if (link == "logit") ", an adjusted Wald F and a lincom of margins" else ""),
    list(models = list(model)))
}
nh("logit")
nh("probit")

# ---- 3. Probit on apistrat (strata, FPC, pweights, each school its PSU) ---------------------
data(api)
d <- apistrat
dd <- data.frame(any_emer = as.numeric(d$emer > 0), emer = d$emer, ell = d$ell, meals = d$meals,
                 stype = as.character(d$stype), fpc = d$fpc, pw = d$pw)
dd$stype_f <- factor(dd$stype)
mk <- function(x) svydesign(ids = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = x)
des <- mk(dd); df <- degf(des); w <- dd$pw
m <- svyglm(any_emer ~ ell + meals + stype_f, design = des, family = quasibinomial(link = "probit"), control = ctrl)
b <- coef(m); X <- model.matrix(m)
pc <- binary_pieces("probit", X, b, dd$any_emer, w)
A <- (pc$u * X) %*% solve(pc$H)
mmat <- function(nd) model.matrix(~ ell + meals + stype_f, nd)
lv <- levels(dd$stype_f)
at_l <- function(l) { nd <- dd; nd$stype_f <- factor(l, levels = lv); nd }
pms <- lapply(lv, function(l) pm_single("probit", b, mmat, at_l(l), w))
adj <- svyglm(any_emer ~ ell + meals, design = des, family = quasibinomial(link = "probit"), control = ctrl)
check_parts(svypredmeans(adj, ~stype_f), lv, pms, vcov(m), dd, mk)
pairs <- list(lin_comb(pms[[2]], pms[[1]]), lin_comb(pms[[3]], pms[[1]]), lin_comb(pms[[3]], pms[[2]]))
pair_terms <- c("C(stype)[H] - C(stype)[E]", "C(stype)[M] - C(stype)[E]", "C(stype)[M] - C(stype)[H]")
eff <- list(dydx_single("probit", b, X, 2, w), dydx_single("probit", b, X, 3, w),
            lin_comb(pms[[2]], pms[[1]]), lin_comb(pms[[3]], pms[[1]]))
eff_terms <- list(c("ell", "dydx"), c("meals", "dydx"), c("C(stype)[H]", "H vs E"), c("C(stype)[M]", "M vs E"))
C <- uncond_cov(c(pms, pairs, eff), A, dd, mk); se <- sqrt(diag(C))
write_case("uc_svy_probit_apistrat", dd[, c("any_emer", "ell", "meals", "stype", "fpc", "pw")],
  c("--formula", "any_emer ~ ell + meals + C(stype)", "--model", "probit", "--strata", "stype", "--fpc", "fpc",
    "--weights", "pw", "--weight-type", "pweight", "--margins", "--predict-margins", "stype",
    "--contrast", "stype:pairwise", "--margins-vce", "unconditional"),
  "Survey probit (apistrat: strata, FPC, pweights, schools as PSUs), --margins-vce unconditional: average effects of continuous ell and meals, predictive margins of a 3-level factor with pairwise contrasts",
  list(models = list(list(n_obs = nrow(dd), df_r = df,
    predictions = lapply(1:3, function(i) row_of(sprintf("C(stype)[%s]", lv[i]), pms[[i]]$est, se[i], df)),
    contrasts = lapply(1:3, function(i) row_of(pair_terms[i], pairs[[i]]$est, se[3 + i], df)),
    margins = lapply(1:4, function(i) row_of(eff_terms[[i]][1], eff[[i]]$est, se[6 + i], df, eff_terms[[i]][2]))))))

# ---- 4. Two-part model on apistrat: probit for emer > 0, gamma-log on the positives ---------
# The second part is a subpopulation of the design (zero scores outside it); E[y] margins stack
# both parts' influence functions.
inside <- dd$emer > 0
m1 <- m
m2 <- svyglm(emer ~ ell + meals + stype_f, design = subset(des, emer > 0), family = Gamma(link = "log"), control = ctrl)
b2 <- coef(m2)
X2 <- model.matrix(~ ell + meals + stype_f, dd)
g2 <- gamma_pieces(X2[inside, ], b2, dd$emer[inside], w[inside])
u2 <- rep(0, nrow(dd)); u2[inside] <- g2$u
A2 <- (u2 * X2) %*% solve(g2$H)
AA <- cbind(A, A2)
k1 <- length(b); k2 <- length(b2)
pad <- function(mg, part) { mg$J <- if (part == 1) c(mg$J, rep(0, k2)) else c(rep(0, k1), mg$J); mg }
p1 <- lapply(lv, function(l) pad(pm_single("probit", b, mmat, at_l(l), w), 1))
p2 <- lapply(lv, function(l) pad(pm_single("log", b2, mmat, at_l(l), w, ind = as.numeric(inside)), 2))
ey <- lapply(lv, function(l) {
  Xs <- mmat(at_l(l)); e1 <- drop(Xs %*% b); e2 <- drop(Xs %*% b2); W <- sum(w)
  f <- pnorm(e1) * exp(e2)
  list(est = sum(w * f) / W, f = f, ind = rep(1, length(w)), W = W,
       J = c(colSums(Xs * (w * dnorm(e1) * exp(e2))) / W, colSums(Xs * (w * pnorm(e1) * exp(e2))) / W))
})
block <- function(ms) {
  prs <- list(lin_comb(ms[[2]], ms[[1]]), lin_comb(ms[[3]], ms[[1]]), lin_comb(ms[[3]], ms[[2]]))
  C <- uncond_cov(c(ms, prs), AA, dd, mk); se <- sqrt(diag(C))
  list(predictions = lapply(1:3, function(i) row_of(sprintf("C(stype)[%s]", lv[i]), ms[[i]]$est, se[i], df)),
       contrasts = lapply(1:3, function(i) row_of(pair_terms[i], prs[[i]]$est, se[3 + i], df)))
}
b1 <- block(p1); b2r <- block(p2); bc <- block(ey)
write_case("uc_twopart_apistrat", dd[, c("emer", "ell", "meals", "stype", "fpc", "pw")],
  c("--formula", "emer ~ ell + meals + C(stype)", "--first", "probit", "--family", "gamma", "--link", "log",
    "--strata", "stype", "--fpc", "fpc", "--weights", "pw", "--weight-type", "pweight",
    "--predict-margins", "stype", "--contrast", "stype:pairwise", "--margins-vce", "unconditional"),
  "Two-part model on apistrat with a survey design, --margins-vce unconditional: predictive margins of Pr(y>0), E[y|y>0] (positives, a subpopulation) and E[y] by stype with pairwise contrasts, both parts' influence functions stacked",
  list(models = list(c(list(name = "first", n_obs = nrow(dd), df_r = df), b1),
                     c(list(name = "second", n_obs = sum(inside), df_r = df), b2r)),
       combined = bc),
  command = "twopart")

# ---- 5. Probit on apiclus1 with clusters and pweights (vce cluster, not svy) -----------------
d <- apiclus1
dd <- data.frame(sch_wide = as.numeric(d$sch.wide == "Yes"), ell = d$ell, meals = d$meals,
                 mobility = d$mobility, dnum = d$dnum, pw = d$pw)
# Clusters as PSUs of one stratum, no FPC: svytotal's n/(n-1) between-cluster variance is
# Stata's G/(G-1) of vce(cluster) (the totals sum to zero at the estimates).
mk <- function(x) svydesign(ids = ~dnum, weights = ~pw, data = x)
des <- mk(dd); w <- dd$pw
m <- svyglm(sch_wide ~ ell + meals + mobility, design = des, family = quasibinomial(link = "probit"), control = ctrl)
b <- coef(m); X <- model.matrix(m)
pc <- binary_pieces("probit", X, b, dd$sch_wide, w)
A <- (pc$u * X) %*% solve(pc$H)
eff <- lapply(2:4, function(k) dydx_single("probit", b, X, k, w))
C <- uncond_cov(eff, A, dd, mk); se <- sqrt(diag(C))
G <- length(unique(dd$dnum))
# The same totals by hand with G/(G-1), no centring (a check of the factor).
Z <- sapply(eff, function(mg) own(mg) + drop(A %*% mg$J)) * w
Tg <- rowsum(Z, dd$dnum)
stopifnot(max(abs(G / (G - 1) * crossprod(Tg) / C - 1)) < 1e-8)
write_case("uc_probit_apiclus1_cluster", dd,
  c("--formula", "sch_wide ~ ell + meals + mobility", "--model", "probit", "--cluster", "dnum",
    "--weights", "pw", "--weight-type", "pweight", "--margins", "--margins-vce", "unconditional"),
  "Probit on apiclus1 with cluster-robust variance (clusters dnum, pweights), --margins-vce unconditional: average effects linearized over the clusters with G/(G-1), z statistics",
  list(models = list(list(n_obs = nrow(dd),
    margins = lapply(1:3, function(i) row_of(c("ell", "meals", "mobility")[i], eff[[i]]$est, se[i], NULL, "dydx"))))))
# ---- 6. The overall margin of a logit with an intercept: its linearization is the mean's ------
# (J H^-1 = e_1'/W by the score equations), so the unconditional SE is svymean(~y)'s exactly.
mk <- function(x) svydesign(ids = ~psu, strata = ~stratum, weights = ~wt, nest = TRUE, data = x)
des <- mk(dd0); sm <- svymean(~hi_chol, des)
write_case("uc_svy_logit_nhanes_overall", dd0,
  c("--formula", "hi_chol ~ C(race) + female", "--model", "logit", "--strata", "stratum", "--psu", "psu",
    "--weights", "wt", "--weight-type", "pweight", "--predict-margins", "_cons", "--margins-vce", "unconditional"),
  "Survey logit (nhanes), the overall predictive margin under --margins-vce unconditional: equal to svymean of the outcome and its SE (a closed form of the linearization)",
  list(models = list(list(n_obs = nrow(dd0), df_r = degf(des),
    predictions = list(row_of("_cons", coef(sm), SE(sm), degf(des)))))))
cat("uc_svy_logit_nhanes, uc_svy_probit_nhanes, uc_svy_probit_apistrat, uc_twopart_apistrat, uc_probit_apiclus1_cluster, uc_svy_logit_nhanes_overall: ok\n")
