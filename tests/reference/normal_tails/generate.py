#!/usr/bin/env python3
"""Reference values of the standard normal CDF, upper tail and density for
`tests/normal_tails.rs` (migfit's `stats::norm_tails`).

Computed with mpmath at 50 significant digits and printed with 17, so each value is the
double nearest the exact one (up to the last-digit rounding of a 17-digit decimal). Points: a
grid of 1,501 from -37.5 to 37.5 in steps of 0.05, the region boundaries of Cody's
approximations (|x| = 0.46875 sqrt(2) and 4 sqrt(2)) with their neighbours, and 2,000
pseudo-random points (fixed seed) in [-10, 10], where probit linear predictors live.
The x values are written with 17 digits, so the double read back is the one evaluated.

Regenerate: python3 tests/reference/normal_tails/generate.py > tests/reference/normal_tails/values.csv
"""
import math
import random

import mpmath

mpmath.mp.dps = 50


def row(x):
    x = float(x)
    xm = mpmath.mpf(x)
    lower = mpmath.ncdf(xm)
    upper = mpmath.ncdf(-xm)
    pdf = mpmath.npdf(xm)
    f = lambda v: mpmath.nstr(v, 17, min_fixed=1, max_fixed=0, strip_zeros=False)
    return f"{x!r},{f(lower)},{f(upper)},{f(pdf)}"


points = [i * 0.05 for i in range(-750, 751)]
for b in (0.46875 * 2**0.5, 4.0 * 2**0.5):
    for s in (-1, 1):
        v = s * b
        points += [v, math.nextafter(v, -math.inf), math.nextafter(v, math.inf)]
rng = random.Random(20261122)
points += [rng.uniform(-10.0, 10.0) for _ in range(2000)]
seen = set()
print("x,lower,upper,pdf")
for p in points:
    if p in seen:
        continue
    seen.add(p)
    print(row(p))
