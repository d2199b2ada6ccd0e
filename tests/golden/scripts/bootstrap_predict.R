# Reference intervals for the bootstrap of predictive margins and their contrasts
# (tests/numbers/bootstrap.rs): R's boot::boot.ci fed the replicates that migfit's --save-reps
# wrote, as bootstrap_bca.R does for coefficients and effects.
#
#   migfit fit examples/mroz/mroz.csv -m logit -f "inlf ~ age + educ + kidslt6 + C(city)" \
#     --vce bootstrap --reps 499 --seed 20261206 --ci bca --predict-margins city \
#     --contrast city:reference --save-reps /tmp/mroz_boot_pm.csv --format json > /dev/null
#   Rscript tests/golden/scripts/bootstrap_predict.R /tmp/mroz_boot_pm.csv \
#     > tests/reference/bootstrap_mroz_predict/expected.json
#
# What is independent of migfit: the statistic (glm logit refitted on the resampled rows, the
# predictive margin of city = 1, mean(plogis(x'b)) with every row's city set to 1, and the
# contrast PM(city = 1) - PM(city = 0), computed here), the jackknife acceleration (boot's
# empinf(type = "jack"), which refits glm with each row deleted), the bias correction z0 and
# boot's norm.inter quantiles. What comes from migfit: the 499 replicates of the two statistics
# (the random draws), so that both sides read the same bootstrap distribution.
# R 4.2.2, boot 1.3.28.1.
suppressPackageStartupMessages({ library(boot) })
args <- commandArgs(trailingOnly = TRUE)
reps <- read.csv(args[1], check.names = FALSE, stringsAsFactors = FALSE)
stopifnot(all(reps$status == "ok"))
cols <- c("margin:predict:C(city)[1]", "margin:contrast:C(city)[1] - C(city)[0]")
stopifnot(all(cols %in% colnames(reps)))
d <- read.csv("examples/mroz/mroz.csv")
f <- inlf ~ age + educ + kidslt6 + city
stat <- function(data, i) {
  s <- data[i, ]
  m <- glm(f, family = binomial("logit"), data = s, control = glm.control(epsilon = 1e-14, maxit = 100))
  pm <- function(level) { t <- s; t$city <- level; mean(predict(m, newdata = t, type = "response")) }
  p1 <- pm(1)
  c(p1, p1 - pm(0))
}
t0 <- stat(d, seq_len(nrow(d)))
tt <- as.matrix(reps[, cols])
set.seed(1)
b <- boot(d, stat, R = 2)           # a boot object of the right shape ...
b$t0 <- t0                          # ... holding R's own estimates
b$t <- unname(tt)                   # and migfit's replicates
b$R <- nrow(tt)
# 17 significant digits (jsonlite stops at 15): the JSON written by hand.
num <- function(x) paste(sprintf("%.17g", x), collapse = ", ")
entries <- character()
for (j in seq_along(t0)) {
  L <- empinf(b, index = j, type = "jack")
  ci <- boot.ci(b, conf = 0.95, type = c("perc", "bca"), index = j, L = L)
  entries[j] <- sprintf(
    '    "%s": {\n      "estimate": %s,\n      "std_error": %s,\n      "percentile": [%s],\n      "bca": [%s],\n      "acceleration": %s\n    }',
    cols[j], num(t0[j]), num(sd(tt[, j])), num(ci$percent[1, 4:5]), num(ci$bca[1, 4:5]),
    num(sum(L^3) / (6 * sum(L^2)^1.5))
  )
}
cat(sprintf('{\n  "replicates": %d,\n  "statistics": {\n%s\n  }\n}\n', nrow(tt), paste(entries, collapse = ",\n")))
