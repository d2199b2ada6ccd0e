#!/usr/bin/env python3
"""Simulated 200,000-row CMDS-like extract for the end-to-end benchmark (30 columns, of which
the two-part model uses 17; factors as integer codes, reference level 1; 348 city clusters).
Usage: make_e2e_data.py OUT.csv [ROWS]. Fixed seed."""
import sys
import numpy as np
import pandas as pd

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
rng = np.random.default_rng(2014)

def codes(p):
    return rng.choice(np.arange(1, len(p) + 1), size=n, p=p)

d = {}
d["scheme"] = codes([0.6, 0.1, 0.3])
d["scope"] = codes([0.2, 0.3, 0.5])
d["education"] = codes([0.25, 0.45, 0.2, 0.1])
d["income_q"] = codes([0.2] * 5)
d["reason"] = codes([0.75, 0.2, 0.05])
d["duration"] = codes([0.2, 0.4, 0.25, 0.15])
d["facility"] = codes([0.2, 0.4, 0.3, 0.1])
d["age"] = rng.integers(15, 60, size=n)
d["age_squared"] = d["age"] ** 2
d["female"] = rng.integers(0, 2, size=n)
d["married"] = (rng.random(n) < 0.85).astype(int)
d["has_job"] = (rng.random(n) < 0.7).astype(int)
d["rural_hukou"] = (rng.random(n) < 0.85).astype(int)
d["urban_area"] = (rng.random(n) < 0.6).astype(int)
d["city"] = rng.integers(1, 349, size=n)
s, sc, f = d["scheme"], d["scope"], d["facility"]
xb = (0.2 + 0.9 * (s == 3) + 0.1 * (s == 2) - 0.4 * (sc == 2) - 0.7 * (sc == 3)
      + 0.01 * (d["age"] - 35) + 0.15 * d["urban_area"] - 0.1 * d["has_job"])
pos = xb + rng.standard_normal(n) > 0
mu = np.exp(8.0 + 0.4 * (s == 3) + 0.2 * (s == 2) + 0.3 * (sc > 1) + 0.6 * (f == 2)
            + 1.0 * (f == 3) + 0.1 * (f == 4) + 0.005 * (d["age"] - 35) + 0.2 * d["married"])
d["amount"] = np.where(pos, np.round(rng.gamma(2.0, mu / 2.0), 2), 0.0)
# Columns the model does not use (a real extract has many).
for k in range(14):
    d[f"extra{k + 1}"] = np.round(rng.standard_normal(n), 4)
df = pd.DataFrame(d)
df = df[["amount"] + [c for c in df.columns if c != "amount"]]
df.to_csv(out, index=False)
print(f"{out}: {n} rows, {df.shape[1]} columns")
