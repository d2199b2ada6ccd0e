# R side of the end-to-end benchmark: read.csv, glm probit and Gamma(log), sandwich
# cluster-robust SEs (vcovCL, HC1 as Stata), hand-coded average marginal effects with
# delta-method SEs, Markdown table out.
suppressPackageStartupMessages(library(sandwich))
args <- commandArgs(trailingOnly = TRUE)
df <- read.csv(args[1])
for (v in c("scheme", "scope", "education", "income_q", "reason", "duration", "facility")) df[[v]] <- factor(df[[v]])
df$pos <- as.integer(df$amount > 0)
rhs <- "scheme + scope + age + age_squared + female + married + education + income_q + has_job + rural_hukou + urban_area + reason + duration + facility"
ame <- function(fit, V, linkinv, dlinkinv) {
  X <- model.matrix(fit); b <- coef(fit); eta <- drop(X %*% b)
  assign <- attr(X, "assign"); labs <- attr(terms(fit), "term.labels")
  facs <- names(fit$xlevels)
  out <- list()
  for (j in seq_along(b)[-1]) {
    term <- labs[assign[j]]
    if (term %in% facs) {
      X1 <- X; X1[, assign == assign[j]] <- 0; X0 <- X1; X1[, j] <- 1
      m1 <- linkinv(drop(X1 %*% b)); m0 <- linkinv(drop(X0 %*% b))
      est <- mean(m1 - m0)
      jac <- colMeans(dlinkinv(drop(X1 %*% b)) * X1 - dlinkinv(drop(X0 %*% b)) * X0)
    } else {
      d <- dlinkinv(eta)
      est <- mean(b[j] * d)
      # d/db of b_j * g'(eta): e_j g'(eta) + b_j g''(eta) x; g'' by a central difference.
      h <- 1e-6
      d2 <- (dlinkinv(eta + h) - dlinkinv(eta - h)) / (2 * h)
      jac <- b[j] * colMeans(d2 * X); jac[j] <- jac[j] + mean(d)
    }
    out[[colnames(X)[j]]] <- c(est, sqrt(drop(t(jac) %*% V %*% jac)))
  }
  do.call(rbind, out)
}
p1 <- glm(as.formula(paste("pos ~", rhs)), family = binomial(link = "probit"), data = df)
V1 <- vcovCL(p1, cluster = ~city, type = "HC1")
a1 <- ame(p1, V1, pnorm, dnorm)
pos <- df[df$pos == 1, ]
p2 <- glm(as.formula(paste("amount ~", rhs)), family = Gamma(link = "log"), data = pos)
V2 <- vcovCL(p2, cluster = ~city, type = "HC1")
a2 <- ame(p2, V2, exp, exp)
con <- file(args[2], "w")
writeLines("| term | probit AME | SE | GLM AME | SE |\n|---|---:|---:|---:|---:|", con)
for (t in rownames(a1)) writeLines(sprintf("| %s | %.3f | (%.3f) | %.3f | (%.3f) |", t, a1[t, 1], a1[t, 2], a2[t, 1], a2[t, 2]), con)
writeLines(sprintf("| N | %d | | %d | |", nobs(p1), nobs(p2)), con)
close(con)
