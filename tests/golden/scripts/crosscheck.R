# Cross-check the golden expected.json files with R, independently of migref.py.
#
# Run from the repository root:  Rscript tests/golden/scripts/crosscheck.R
#
# R's glm() gives the coefficients and the EIM covariance (phi * (X'WX)^-1). Stata's OIM is
# the inverse of the observed Hessian: here it comes from numDeriv's numerical Hessian of
# the log-likelihood written out below, so these checks share neither code nor method with
# migref.py. Robust and cluster variances use that Hessian as the bread and the scores
# sandwich::estfun() gives, with Stata's N/(N-1) or G/(G-1). The pweight cases are checked
# against survey::svyglm (coefficients; and svyglm's EIM-bread variance against the same
# sandwich with an EIM bread, which confirms the meat and the n/(n-1) factor). The two-part
# combined effects are recomputed by numerical differentiation of R predictions.
suppressMessages({
  library(jsonlite); library(numDeriv); library(sandwich); library(survey)
})
root <- "tests/golden"
fails <- 0
report <- function(case, what, ours, ref, tol) {
  err <- max(abs(ours - ref) / pmax(abs(ref), 1e-300))
  ok <- is.finite(err) && err <= tol
  if (!ok) fails <<- fails + 1
  cat(sprintf("%s %-34s %-44s max rel err %.2e (tol %.0e)\n", if (ok) "ok  " else "FAIL", case, what, err, tol))
}

arg <- function(args, name) { i <- match(name, args); if (is.na(i)) NULL else args[[i + 1]] }
has <- function(args, name) name %in% args

fam_of <- function(args) {
  model <- arg(args, "--model")
  if (model == "probit") return(binomial("probit"))
  if (model == "logit") return(binomial("logit"))
  fam <- arg(args, "--family"); link <- arg(args, "--link")
  switch(fam, gaussian = gaussian(link), binomial = binomial(link), poisson = poisson(link),
         gamma = Gamma(link))
}

# log-likelihood with phi = 1 (the phi-free kernel; its Hessian times 1/phi is the OIM)
loglik_fun <- function(fam, X, y, w) {
  function(b) {
    eta <- drop(X %*% b); mu <- fam$linkinv(eta)
    ll <- switch(fam$family,
      binomial = if (fam$link == "probit") y * pnorm(eta, log.p = TRUE) + (1 - y) * pnorm(-eta, log.p = TRUE)
                 else y * log(mu) + (1 - y) * log1p(-mu),
      poisson = y * log(mu) - mu,
      Gamma = -y / mu - log(mu),
      gaussian = -0.5 * (y - mu)^2)
    sum(w * ll)
  }
}

# R orders the variables of an interaction by first appearance in the formula: compare
# interaction names with their parts sorted.
canon <- function(nm) sapply(strsplit(nm, ":", fixed = TRUE), function(p) paste(sort(p), collapse = ":"))
by_term <- function(list_, field) { v <- sapply(list_, function(e) e[[field]]); names(v) <- canon(sapply(list_, function(e) e$term)); v }

check_fit <- function(case) {
  dir <- file.path(root, case)
  cj <- fromJSON(file.path(dir, "case.json"), simplifyVector = FALSE)
  ex <- fromJSON(file.path(dir, "expected.json"), simplifyVector = FALSE)
  args <- unlist(cj$args)
  if (cj$command != "fit" || grepl("C\\(", arg(args, "--formula"))) return(invisible())
  d <- read.csv(file.path(dir, "data.csv"), na.strings = c("", "NA", "."))
  fam <- fam_of(args)
  wt <- arg(args, "--weight-type"); wv <- arg(args, "--weights")
  fml <- as.formula(arg(args, "--formula"))
  vce <- arg(args, "--vce"); if (is.null(vce)) vce <- if (identical(wt, "pweight")) "robust" else "oim"
  mf <- model.frame(fml, d)
  w <- if (is.null(wv)) rep(1, nrow(mf)) else d[rownames(mf), wv]
  fit <- suppressWarnings(glm(fml, family = fam, data = d, weights = if (is.null(wv)) NULL else d[[wv]],
                              control = glm.control(epsilon = 1e-10, maxit = 100)))
  # (glm.fit's rank tolerance is min(1e-7, epsilon/1000): a tinier epsilon hides
  # collinearity, so detect aliasing first, then refit the kept columns to convergence)
  keep <- !is.na(coef(fit))
  X <- model.matrix(fit)[, keep, drop = FALSE]; y <- fit$y; n <- nrow(X)
  fit <- suppressWarnings(glm.fit(X, y, weights = fit$prior.weights, family = fam, start = coef(fit)[keep],
                                  control = glm.control(epsilon = 1e-15, maxit = 200)))
  fit$qr <- qr(X * sqrt(fit$weights)); class(fit) <- c("glm", "lm"); fit$call <- quote(glm()); fit$rank <- ncol(X); fit$df.residual <- n - ncol(X)
  b <- fit$coefficients
  names(b) <- canon(names(b))
  if (identical(wt, "aweight")) w <- w * n / sum(w)  # Stata rescales aweights to sum to N
  N <- if (identical(wt, "fweight")) sum(w) else n
  e <- ex$models[[1]]
  b_ex <- by_term(e$coefficients, "estimate"); se_ex <- by_term(e$coefficients, "std_error")
  if (has(args, "--or")) { se_ex <- se_ex / b_ex; b_ex <- log(b_ex) }
  # R's IRLS stops on the relative change in deviance, so its coefficients are converged to
  # a small fraction of a standard error, not to 1e-6 relative for a coefficient near zero:
  # compare in standard-error units, and check that the log-likelihood at the expected
  # coefficients is at least R's.
  report(case, "coefficients vs R glm, |diff|/se < 1e-5", max(abs(b - b_ex[names(b)]) / se_ex[names(b)]) + 1, 1, 1e-5)
  llf <- loglik_fun(fam, X, y, w)
  ll_ex <- llf(b_ex[names(b)]); ll_r <- llf(b)
  report(case, "ll(expected coefs) >= ll(R coefs)", as.numeric(ll_ex >= ll_r - 1e-13 * abs(ll_r)), 1, 0)
  K <- length(b)
  mu <- fam$linkinv(drop(X %*% b))
  phi <- if (fam$family %in% c("gaussian", "Gamma")) sum(w * (y - mu)^2 / fam$variance(mu)) / (N - K) else 1
  if (vce == "eim") {
    report(case, "EIM std errors = R glm's phi (X'WX)^-1", sqrt(diag(phi * chol2inv(qr.R(fit$qr)))), se_ex[names(b)], 1e-7)
    return(invisible())
  }
  H <- -hessian(loglik_fun(fam, X, y, w), b)  # observed information, phi = 1
  Hi <- solve(H)
  if (vce == "oim") {
    report(case, "OIM std errors (numDeriv Hessian)", sqrt(diag(phi * Hi)), se_ex[names(b)], 1e-6)
  } else {
    # phi-free score of each row times its prior weight: w * (y - mu) mu'(eta) / V(mu) * x
    eta <- drop(X %*% b); mu <- fam$linkinv(eta)
    s <- w * (y - mu) * fam$mu.eta(eta) / fam$variance(mu) * X
    if (vce == "robust") {
      meat <- if (identical(wt, "fweight")) crossprod(s / sqrt(w)) else crossprod(s)
      V <- N / (N - 1) * Hi %*% meat %*% Hi
    } else {
      g <- d[rownames(mf), arg(args, "--cluster")]
      S <- rowsum(s, g); G <- nrow(S)
      V <- G / (G - 1) * Hi %*% crossprod(S) %*% Hi
    }
    # numDeriv's Richardson Hessian is good to ~1e-6 relative when weights are large
    report(case, paste(vce, "std errors (numDeriv bread)"), sqrt(diag(V)), se_ex[names(b)], if (is.null(wt)) 1e-6 else 5e-6)
    if (vce == "robust" && is.null(wt)) {
      # R's sandwich() uses the EIM as bread: equal for canonical links only
      Vr <- sandwich(glm(fml, family = fam, data = d, control = glm.control(epsilon = 1e-12))) * n / (n - 1)
      cat(sprintf("     note: sandwich(glm)*n/(n-1) (EIM bread) vs Stata OIM bread: max rel diff %.2e\n",
                  max(abs(sqrt(diag(Vr)) - sqrt(diag(V))) / sqrt(diag(V)))))
    }
  }
  if (isTRUE(cj$loglik_check) && fam$family %in% c("binomial", "poisson")) {
    report(case, "log-likelihood vs R's aic()/2", (fit$aic - 2 * K) / -2, e$log_likelihood, 1e-10)
  }
  if (isTRUE(cj$loglik_check) && fam$family == "Gamma") {
    report(case, "log-likelihood (phi = 1)", loglik_fun(fam, X, y, w)(b), e$log_likelihood, 1e-10)
  }
}

check_pweight <- function(case, family) {
  dir <- file.path(root, case)
  cj <- fromJSON(file.path(dir, "case.json"), simplifyVector = FALSE)
  ex <- fromJSON(file.path(dir, "expected.json"), simplifyVector = FALSE)
  args <- unlist(cj$args)
  d <- read.csv(file.path(dir, "data.csv"), na.strings = c("", "NA", "."))
  fml <- as.formula(gsub("C\\(stype\\)", "stype", arg(args, "--formula")))
  clus <- arg(args, "--cluster")
  des <- svydesign(ids = if (is.null(clus)) ~1 else as.formula(paste0("~", clus)), weights = ~pw, data = d)
  fit <- suppressWarnings(svyglm(fml, design = des, family = family, control = glm.control(epsilon = 1e-14, maxit = 100)))
  b_ex <- by_term(ex$models[[1]]$coefficients, "estimate")
  b <- coef(fit); names(b) <- sub("^stype", "C(stype)[", names(b)); names(b) <- ifelse(grepl("\\[", names(b)), paste0(names(b), "]"), names(b))
  report(case, "coefficients vs survey::svyglm", b, b_ex[names(b)], 1e-7)
  # svyglm's variance uses the EIM bread; rebuild it to confirm the meat and the n/(n-1) (or
  # G/(G-1)) factor, then swap in the observed-information bread (Stata).
  X <- model.matrix(fit); y <- fit$y; w <- d$pw; n <- nrow(X)
  mu <- fitted(fit); eta <- fit$linear.predictors
  dmu <- family$mu.eta(eta); V <- family$variance(mu)
  s <- w * (y - mu) * dmu / V * X
  Ie <- crossprod(X * sqrt(w * dmu^2 / V))
  if (is.null(clus)) { M <- crossprod(s); fac <- n / (n - 1) } else { S <- rowsum(s, d[[clus]]); M <- crossprod(S); fac <- nrow(S) / (nrow(S) - 1) }
  Ve <- fac * solve(Ie) %*% M %*% solve(Ie)
  report(case, "EIM-bread sandwich == svyglm vcov", sqrt(diag(Ve)), sqrt(diag(vcov(fit))), 1e-6)
  H <- -hessian(loglik_fun(family, X, y, w), coef(fit))
  Vo <- fac * solve(H) %*% M %*% solve(H)
  se_ex <- by_term(ex$models[[1]]$coefficients, "std_error")
  report(case, "OIM-bread sandwich (Stata) std errors", sqrt(diag(Vo)), se_ex[names(b)], 1e-6)
}

# Two-part combined AMEs by numerical differentiation of R predictions.
check_twopart <- function(case) {
  dir <- file.path(root, case)
  cj <- fromJSON(file.path(dir, "case.json"), simplifyVector = FALSE)
  ex <- fromJSON(file.path(dir, "expected.json"), simplifyVector = FALSE)
  args <- unlist(cj$args)
  if (has(args, "--joint-vce") || !is.null(arg(args, "--vce"))) return(invisible())
  d <- read.csv(file.path(dir, "data.csv"), na.strings = c("", "NA", "."))
  f1 <- as.formula(arg(args, "--formula"))
  f2 <- if (is.null(arg(args, "--formula2"))) f1 else as.formula(arg(args, "--formula2"))
  yname <- all.vars(f1)[1]
  d$pos__ <- as.numeric(d[[yname]] > 0)
  fit1 <- glm(update(f1, pos__ ~ .), family = binomial(arg(args, "--first")), data = d,
              control = glm.control(epsilon = 1e-14, maxit = 100))
  fit2 <- glm(f2, family = Gamma("log"), data = d[d[[yname]] > 0, ], control = glm.control(epsilon = 1e-14, maxit = 100))
  X1 <- model.matrix(fit1); X2 <- model.matrix(fit2)
  phi2 <- summary(fit2)$dispersion
  H1 <- -hessian(loglik_fun(binomial(arg(args, "--first")), X1, fit1$y, rep(1, nrow(X1))), coef(fit1))
  H2 <- -hessian(loglik_fun(Gamma("log"), X2, fit2$y, rep(1, nrow(X2))), coef(fit2))
  K1 <- ncol(X1); K2 <- ncol(X2)
  V <- matrix(0, K1 + K2, K1 + K2)
  V[1:K1, 1:K1] <- solve(H1); V[K1 + 1:K2, K1 + 1:K2] <- phi2 * solve(H2)
  rhs1 <- delete.response(terms(f1)); rhs2 <- delete.response(terms(f2))
  pred <- function(theta, data) {
    p <- binomial(arg(args, "--first"))$linkinv(drop(model.matrix(rhs1, data) %*% theta[1:K1]))
    m <- exp(drop(model.matrix(rhs2, data) %*% theta[K1 + 1:K2]))
    p * m
  }
  theta <- c(coef(fit1), coef(fit2))
  ame <- function(theta, v) {
    h <- 1e-4 * max(1, mean(abs(d[[v]])))
    dp <- d; dm <- d; dp[[v]] <- d[[v]] + h; dm[[v]] <- d[[v]] - h
    dp2 <- d; dm2 <- d; dp2[[v]] <- d[[v]] + 2 * h; dm2[[v]] <- d[[v]] - 2 * h
    mean((-pred(theta, dp2) + 8 * pred(theta, dp) - 8 * pred(theta, dm) + pred(theta, dm2)) / (12 * h))
  }
  for (m in ex$combined$margins) {
    v <- m$term
    est <- ame(theta, v)
    J <- jacobian(function(t) ame(t, v), theta)
    se <- sqrt(drop(J %*% V %*% t(J)))
    report(case, paste("combined AME", v), est, m$estimate, 1e-6)
    report(case, paste("combined AME se", v), se, m$std_error, 1e-5)
  }
}

cases <- list.dirs(root, full.names = FALSE, recursive = FALSE)
cases <- setdiff(cases, "scripts")
for (cs in cases) {
  if (startsWith(cs, "twopart")) check_twopart(cs)
  else if (cs == "probit_api_pweight") check_pweight(cs, binomial("probit"))
  else if (startsWith(cs, "glm_gamma_api_pweight")) check_pweight(cs, Gamma("log"))
  else check_fit(cs)
}
cat(sprintf("\n%d failure(s)\n", fails))
quit(status = if (fails > 0) 1 else 0)
