# Golden numbers for separation and Firth's bias reduction. Run from the repository root:
#     Rscript tests/golden/scripts/separation.R
#
# 1. Separation (tests/separation/): Konis's linear program (Konis 2007, ch. 4; the primal
#    "find" program of detectseparation::detect_separation), written here independently and
#    solved with lpSolve (the lp_solve library detectseparation's default separator uses):
#        maximise sum_i s_i x_i'b  s.t.  s_i x_i'b >= 0,  -1 <= b_j <= 1,
#    s_i = +1 for y = 1, -1 for y = 0, with b = u - v, 0 <= u, v <= 1 (lpSolve's variables are
#    non-negative). A coefficient with |b_j| > 1e-6 is infinite with the sign of b_j
#    (detectseparation's +Inf/-Inf table; brglm2 0.9 on Debian no longer carries
#    detect_separation and the detectseparation package is not packaged for Debian). Rows with
#    strictly positive margin s_i x_i'b under some separating direction are the rows it
#    determines (a second program, below). Only cases whose signs are unique
#    (every separating direction has them) are written, so the solver's choice of vertex does
#    not matter; the script checks that by maximising and minimising each b_j over the
#    separating directions with sum_i s_i x_i'b fixed at its optimum.
# 2. Firth (tests/golden/firth_*): brglm2::brglmFit(type = "AS_mean") on brglm2's
#    `endometrial` data (Heinze & Schemper 2002, 79 patients; NV separates HG
#    quasi-completely), logit, probit and cloglog links, converged to epsilon = 1e-14;
#    standard errors from summary() (the inverse expected information at the estimates).
suppressMessages(library(brglm2))
library(lpSolve)
library(jsonlite)
options(digits = 17)

num <- function(x) unname(as.numeric(x))
exact <- function(v) {
  if (is.list(v)) return(lapply(v, exact))
  if (is.numeric(v) && length(v) == 1) return(structure(sprintf("%.17g", v), class = "json"))
  v
}

konis <- function(X, y) {
  s <- ifelse(y == 1, 1, -1)
  Xb <- s * X
  p <- ncol(X)
  cobj <- colSums(Xb)
  A <- rbind(cbind(Xb, -Xb), cbind(diag(p), matrix(0, p, p)), cbind(matrix(0, p, p), diag(p)))
  dir <- c(rep(">=", nrow(X)), rep("<=", 2 * p))
  rhs <- c(rep(0, nrow(X)), rep(1, 2 * p))
  sol <- lp("max", c(cobj, -cobj), A, dir, rhs)
  stopifnot(sol$status == 0)
  b <- sol$solution[1:p] - sol$solution[(p + 1):(2 * p)]
  # Uniqueness of the signs: range of each b_j over the optimal face.
  for (j in seq_len(p)) {
    for (d in c("max", "min")) {
      obj <- c(replace(numeric(p), j, 1), -replace(numeric(p), j, 1))
      r <- lp(d, obj, rbind(A, c(cobj, -cobj)), c(dir, ">="), c(rhs, sol$objval - 1e-9))
      stopifnot(r$status == 0)
      bj <- r$objval
      if (abs(b[j]) > 1e-6) stopifnot(sign(bj) == sign(b[j]) && abs(bj) > 1e-6)
      else stopifnot(abs(bj) <= 1e-6)
    }
  }
  # The rows some separating direction determines (the largest such set: the sum of two
  # separating directions is one): maximise sum_i t_i with s_i x_i'b >= t_i, 0 <= t_i <= 1,
  # -1e4 <= b_j <= 1e4 (the vertex above may leave a determined row on its boundary).
  n <- nrow(X)
  A2 <- rbind(cbind(Xb, -Xb, -diag(n)), cbind(matrix(0, n, 2 * p), diag(n)),
              cbind(diag(2 * p), matrix(0, 2 * p, n)))
  r2 <- lp("max", c(numeric(2 * p), rep(1, n)), A2, c(rep(">=", n), rep("<=", n + 2 * p)),
           c(rep(0, n), rep(1, n), rep(1e4, 2 * p)))
  stopifnot(r2$status == 0)
  list(b = b, determined = round(r2$objval), separated = sol$objval > 1e-6)
}

sep_cases <- list()
sep_case <- function(name, data, formula, description) {
  X <- model.matrix(as.formula(formula), data)
  y <- model.response(model.frame(as.formula(formula), data))
  k <- konis(X, y)
  write.csv(data, file.path("tests/separation", paste0(name, ".csv")), row.names = FALSE)
  dirs <- ifelse(abs(k$b) > 1e-6, ifelse(k$b > 0, "+Inf", "-Inf"), "0")
  sep_cases[[length(sep_cases) + 1]] <<- list(
    name = name, data = paste0(name, ".csv"), formula = formula, description = description,
    separation = k$separated,
    betas = setNames(as.list(dirs), colnames(X)),
    determined = k$determined, n = nrow(X)
  )
}

data(endometrial, package = "brglm2")
endo <- endometrial[, c("HG", "NV", "PI", "EH")]
sep_case("endometrial", endo, "HG ~ NV + PI + EH",
         "brglm2's endometrial: NV = 1 only with HG = 1 (quasi-complete)")
sep_case("endometrial_overlap", endo, "HG ~ PI + EH", "endometrial without NV: the data overlap")
x <- 1:40
sep_case("threshold", data.frame(y = as.integer(x >= 20), x = x), "y ~ x",
         "y = (x >= 20) with x = 1..40: complete separation, Stata's 'outcome = x > 19.5 predicts data perfectly'")
z <- round(sin(1:42) * 10, 3)
xq <- c(1:40, 20, 20)
yq <- c(as.integer(1:40 > 20), 1L, 0L)
yq[20] <- 0L
sep_case("quasi", data.frame(y = yq, x = xq, z = z), "y ~ x + z",
         "y = 1 above x = 20, both outcomes at x = 20 (3 rows), noise z: quasi-complete")
writeLines(toJSON(exact(list(cases = sep_cases)), auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE),
           "tests/separation/expected.json")

firth_case <- function(name, link, args) {
  fit <- glm(HG ~ NV + PI + EH, family = binomial(link), data = endo, method = "brglmFit",
             type = "AS_mean", epsilon = 1e-14, maxit = 1000)
  se <- sqrt(diag(vcov(fit)))
  dir <- file.path("tests/golden", name)
  dir.create(dir, showWarnings = FALSE)
  write.csv(endo, file.path(dir, "data.csv"), row.names = FALSE)
  case <- list(
    command = "fit", args = c("--formula", "HG ~ NV + PI + EH", args, "--firth"),
    description = paste0("Firth's bias reduction (AS_mean), ", link, " link, endometrial data (NV separates)"),
    reference = paste0("tests/golden/scripts/separation.R (R ", getRversion(), ", brglm2 ",
                       packageVersion("brglm2"), "): brglmFit(type = \"AS_mean\"), SEs from vcov()"),
    loglik_check = FALSE,
    tolerance = list(estimate = 1e-6, std_error = 1e-6, margin_estimate = 1e-6, margin_std_error = 1e-5)
  )
  writeLines(toJSON(case, auto_unbox = TRUE, pretty = TRUE, digits = NA), file.path(dir, "case.json"))
  coefs <- lapply(seq_along(coef(fit)), function(i) list(
    term = names(coef(fit))[i], estimate = num(coef(fit)[i]), std_error = num(se[i])))
  models <- list(list(n_obs = nrow(endo), coefficients = coefs))
  writeLines(toJSON(exact(list(models = models)), auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE),
             file.path(dir, "expected.json"))
}
firth_case("firth_logit_endometrial", "logit", c("--model", "logit"))
firth_case("firth_probit_endometrial", "probit", c("--model", "probit"))
firth_case("firth_glm_cloglog_endometrial", "cloglog", c("--model", "glm", "--family", "binomial", "--link", "cloglog"))
