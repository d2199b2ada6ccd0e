# Reference intervals for migfit's bootstrap (tests/numbers/bootstrap.rs): R's boot::boot.ci
# fed the replicates that migfit's --save-reps wrote.
#
#   migfit fit examples/mroz/mroz.csv -m logit -f "inlf ~ age + educ + kidslt6 + nwifeinc" \
#     --vce bootstrap --reps 499 --seed 20261206 --ci bca --margins \
#     --save-reps /tmp/mroz_boot_reps.csv --format json > /dev/null
#   Rscript tests/golden/scripts/bootstrap_bca.R /tmp/mroz_boot_reps.csv \
#     > tests/reference/bootstrap_mroz_logit/expected.json
#
# What is independent of migfit: the statistic (glm logit coefficients and the average
# marginal effects mean(dlogis(xb)) * b_j, computed here), the jackknife acceleration
# (boot's empinf(type = "jack"), which refits glm with each row deleted), the bias
# correction z0 and boot's norm.inter quantiles. What comes from migfit: the 499 replicates
# (the random draws), so that both sides read the same bootstrap distribution.
# R 4.2.2, boot 1.3.28.1, jsonlite.
suppressPackageStartupMessages({ library(boot); library(jsonlite) })
args <- commandArgs(trailingOnly = TRUE)
reps <- read.csv(args[1], check.names = FALSE, stringsAsFactors = FALSE)
stopifnot(all(reps$status == "ok"))
d <- read.csv("examples/mroz/mroz.csv")
f <- inlf ~ age + educ + kidslt6 + nwifeinc
stat <- function(data, i) {
  m <- glm(f, family = binomial("logit"), data = data[i, ], control = glm.control(epsilon = 1e-14, maxit = 100))
  b <- coef(m)
  xb <- predict(m, type = "link")
  ame <- mean(dlogis(xb)) * b[-1]
  c(b, ame)
}
t0 <- stat(d, seq_len(nrow(d)))
tt <- as.matrix(reps[, -(1:2)])
stopifnot(ncol(tt) == length(t0))
set.seed(1)
b <- boot(d, stat, R = 2)           # a boot object of the right shape ...
b$t0 <- t0                          # ... holding R's own estimates
b$t <- unname(tt)                   # and migfit's replicates
b$R <- nrow(tt)
out <- list()
for (j in seq_along(t0)) {
  L <- empinf(b, index = j, type = "jack")
  ci <- boot.ci(b, conf = 0.95, type = c("perc", "bca"), index = j, L = L)
  out[[colnames(reps)[j + 2]]] <- list(
    estimate = unname(t0[j]),
    std_error = sd(tt[, j]),
    percentile = unname(ci$percent[1, 4:5]),
    bca = unname(ci$bca[1, 4:5]),
    acceleration = sum(L^3) / (6 * sum(L^2)^1.5)
  )
}
cat(toJSON(list(replicates = nrow(tt), statistics = out), digits = I(17), auto_unbox = TRUE, pretty = TRUE), "\n")
