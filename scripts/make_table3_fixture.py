#!/usr/bin/env python3
"""Writes tests/fixtures/table3_small.csv: a small synthetic extract with the variables of the
reference study's Table 3 (Wang et al. 2022, BMJ Open; see /work/shared/studies/wang2022), for
the CLI test that reproduces the table's layout. The numbers mean nothing; the seed is fixed."""
import numpy as np, csv, sys

rng = np.random.default_rng(20220551)
n = 900
def pick(levels, p):
    return rng.choice(levels, size=n, p=p)

scheme = pick(["NCMS", "URBMI", "UEBMI"], [0.6, 0.1, 0.3])
scope = pick(["across_counties_within_city", "across_cities_within_province", "across_provinces"], [0.2, 0.3, 0.5])
education = pick(["primary_or_below", "junior_high", "senior_high", "college_plus"], [0.25, 0.45, 0.2, 0.1])
income = pick(["q1", "q2", "q3", "q4", "q5"], [0.2] * 5)
reason = pick(["seeking_jobs", "family_following", "other_reason"], [0.75, 0.2, 0.05])
duration = pick(["under_1_year", "1_to_4_years", "5_to_9_years", "10_plus_years"], [0.2, 0.4, 0.25, 0.15])
facility = pick(["primary_care_facility", "secondary_hospital", "tertiary_hospital", "private_hospital"], [0.2, 0.4, 0.3, 0.1])
age = rng.integers(18, 60, size=n)
female = rng.integers(0, 2, size=n)
married = (rng.random(n) < 0.85).astype(int)
has_job = (rng.random(n) < 0.7).astype(int)
rural_hukou = (rng.random(n) < 0.85).astype(int)
urban_area = (rng.random(n) < 0.6).astype(int)
city = rng.integers(1, 41, size=n)

xb = (0.2 + 0.9 * (scheme == "UEBMI") - 0.4 * (scope == "across_cities_within_province")
      - 0.7 * (scope == "across_provinces") + 0.01 * (age - 35) + 0.15 * urban_area)
received = (xb + rng.standard_normal(n) > 0).astype(int)
mu = np.exp(8.0 + 0.4 * (scheme == "UEBMI") + 0.3 * (scope != "across_counties_within_city")
            + 0.6 * (facility == "secondary_hospital") + 1.0 * (facility == "tertiary_hospital"))
amount = rng.gamma(2.0, mu / 2.0)
ratio = np.clip(rng.gamma(8.0, (0.35 + 0.15 * (scheme != "NCMS")) / 8.0), 0.01, 1.0)
usable = rng.random(n) < 0.85

w = csv.writer(open(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/table3_small.csv", "w", newline=""))
w.writerow(["received", "amount", "ratio", "scheme", "age", "age_squared", "female", "married",
            "education", "income_quintile", "has_job", "rural_hukou", "urban_area", "scope",
            "reason", "duration", "facility", "city"])
for i in range(n):
    ok = received[i] == 1 and usable[i]
    w.writerow([received[i], f"{amount[i]:.2f}" if ok else "NA", f"{ratio[i]:.4f}" if ok else "NA",
                scheme[i], age[i], age[i] ** 2, female[i], married[i], education[i], income[i],
                has_job[i], rural_hukou[i], urban_area[i], scope[i], reason[i], duration[i],
                facility[i], city[i]])
