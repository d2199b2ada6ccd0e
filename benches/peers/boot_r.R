# R side of the bootstrap benchmark (benches/peers/boot_twopart.sh): boot::boot over the city
# clusters of the e2e two-part job, as a user would write it. The design matrices are built
# once; each replicate refits the probit of amount > 0 and the gamma-log GLM on the positives
# with glm.fit (frequency weights = draw counts, rows of weight 0 dropped, started from the
# full-sample estimates) and recomputes every average effect of both parts and of the combined
# E[y] = pnorm(x b1) exp(x b2). Prints the seconds per replicate.
# Usage: Rscript boot_r.R DATA REPS
suppressPackageStartupMessages(library(boot))
args <- commandArgs(trailingOnly = TRUE)
df <- read.csv(args[1])
reps <- as.integer(args[2])
for (v in c("scheme", "scope", "education", "income_q", "reason", "duration", "facility")) df[[v]] <- factor(df[[v]])
X <- model.matrix(~ scheme + scope + age + age_squared + female + married + education + income_q +
                    has_job + rural_hukou + urban_area + reason + duration + facility, df)
y <- df$amount; d <- as.numeric(y > 0); pos <- y > 0
city <- as.integer(factor(df$city)); G <- max(city)
fam1 <- binomial(link = "probit"); fam2 <- Gamma(link = "log")
b1 <- glm.fit(X, d, family = fam1)$coefficients
b2 <- glm.fit(X[pos, ], y[pos], family = fam2)$coefficients
fac <- attr(X, "assign"); labs <- attr(terms(~ scheme + scope + age + age_squared + female + married +
  education + income_q + has_job + rural_hukou + urban_area + reason + duration + facility), "term.labels")
isfac <- labs %in% c("scheme", "scope", "education", "income_q", "reason", "duration", "facility")
effects <- function(c1, c2, w) {
  e1 <- drop(X %*% c1); e2 <- drop(X %*% c2); p <- pnorm(e1); m <- exp(e2)
  ws <- sum(w); wp <- sum(w[pos]); out <- c()
  for (j in 2:ncol(X)) {
    if (isfac[fac[j]]) {
      g <- which(fac == fac[j])
      s1 <- e1 - drop(X[, g] %*% c1[g]); s2 <- e2 - drop(X[, g] %*% c2[g])
      p1 <- pnorm(s1 + c1[j]); p0 <- pnorm(s1); m1 <- exp(s2 + c2[j]); m0 <- exp(s2)
      out <- c(out, sum(w * (p1 - p0)) / ws, sum((w * (m1 - m0))[pos]) / wp, sum(w * (p1 * m1 - p0 * m0)) / ws)
    } else {
      dp <- dnorm(e1) * c1[j]; dm <- m * c2[j]
      out <- c(out, sum(w * dp) / ws, sum((w * dm)[pos]) / wp, sum(w * (dp * m + p * dm)) / ws)
    }
  }
  out
}
stat <- function(ids, i) {
  w <- tabulate(ids[i], G)[city]; keep <- w > 0; k2 <- keep & pos
  c1 <- glm.fit(X[keep, ], d[keep], weights = w[keep], start = b1, family = fam1)$coefficients
  c2 <- glm.fit(X[k2, ], y[k2], weights = w[k2], start = b2, family = fam2)$coefficients
  c(c1, c2, effects(c1, c2, w))
}
set.seed(1)
t <- system.time(boot(seq_len(G), stat, R = reps))[["elapsed"]]
cat(sprintf("%.4f\n", t / reps))
