"""migref: an independent numpy reference implementation of migfit's conventions.

Written for the golden tests only. It shares no code with migfit and is deliberately
plain: every quantity is computed from its textbook formula, with the Stata convention
stated next to it. The generator (generate.py) cross-checks it against statsmodels and R
wherever a peer implements the same convention, and crosscheck_stata.py checks it against
the Stata results that statsmodels ships.

Conventions (Stata's; see docs/conventions.md for the evidence):
- probit/logit: ML, y != 0 counts as 1, OIM variance (observed Hessian).
- GLM: ML; OIM = phi * inverse observed information; EIM = phi * (X'WX)^-1;
  phi = Pearson chi2 / (N - K) for gaussian/gamma/igaussian, 1 for binomial/poisson.
- robust: bread = inverse observed information (phi = 1), meat = sum of outer products of
  scores (phi = 1), times N/(N-1); cluster: sum scores within cluster, times G/(G-1).
- fweight: N = sum of weights; pweight: robust, scores times w, N = rows;
  aweight: rescaled to sum to N (rows), then used as prior weights.
- log-likelihood: gaussian-identity with sigma^2 = SSR/N; gamma and inverse gaussian with
  phi = 1 (what Stata's glm reports).
"""
import json
import re
import numpy as np
import pandas as pd
from scipy import special

# ----------------------------------------------------------------------------- formula


def split_top(s, sep):
    """Split s on sep at parenthesis depth 0."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == sep and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [p.strip() for p in out]


IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
FUNCS = {"log": np.log, "exp": np.exp, "sqrt": np.sqrt}


class Component:
    """One factor of a term: a numeric expression or a categorical C(v[, ref=L])."""

    def __init__(self, text, columns):
        self.text = text.replace(" ", "")
        m = re.fullmatch(r"C\(([^,()]+)(?:,ref=([^()]+))?\)", self.text)
        if m:
            self.kind = "factor"
            self.var = m.group(1)
            self.ref = m.group(2)
            self.vars = [self.var]
        else:
            self.kind = "numeric"
            expr = self.text
            if expr.startswith("I(") and expr.endswith(")"):
                expr = expr[2:-1]
            self.expr = expr.replace("^", "**")
            self.vars = [v for v in dict.fromkeys(IDENT.findall(expr)) if v in columns]
            if not self.vars:
                raise ValueError(f"no data column in {text}")

    def eval(self, env):
        return eval(self.expr, {"__builtins__": {}}, {**FUNCS, **env})


def level_str(v):
    if isinstance(v, str):
        return v
    fv = float(v)
    return str(int(fv)) if fv == int(fv) else repr(fv)


class Formula:
    def __init__(self, text, df):
        lhs, rhs = text.split("~")
        self.lhs = lhs.strip()
        self.text = text
        cols = set(df.columns)
        self.intercept = True
        terms = []
        for t in split_top(rhs, "+"):
            if t in ("1",):
                continue
            if t in ("0", "-1"):
                self.intercept = False
                continue
            comps = [Component(c, cols) for c in split_top(t, ":")]
            terms.append(comps)
        self.terms = terms
        self.lhs_comp = Component(self.lhs, cols)
        vars_ = []
        for comps in terms:
            for c in comps:
                vars_ += c.vars
        self.rhs_vars = list(dict.fromkeys(vars_))
        self.factors = {}  # var -> Component (first occurrence defines ref)
        for comps in terms:
            for c in comps:
                if c.kind == "factor" and c.var not in self.factors:
                    self.factors[c.var] = c

    def used_columns(self):
        return list(dict.fromkeys(self.lhs_comp.vars + self.rhs_vars))

    def set_levels(self, df):
        """Levels from the estimation sample; reference = lowest or ref=."""
        self.levels = {}
        self.ref = {}
        for v, c in self.factors.items():
            vals = sorted(pd.unique(df[v]))
            self.levels[v] = vals
            if c.ref is None:
                self.ref[v] = vals[0]
            else:
                matches = [x for x in vals if level_str(x) == c.ref]
                assert len(matches) == 1, (v, c.ref, vals)
                self.ref[v] = matches[0]
        # expand terms into columns
        self.columns = []  # list of (name, [(comp, level or None)])
        if self.intercept:
            self.columns.append(("(Intercept)", []))
        for comps in self.terms:
            expanded = [[]]
            for c in comps:
                if c.kind == "factor":
                    lv = [x for x in self.levels[c.var] if x != self.ref[c.var]]
                    expanded = [e + [(c, x)] for e in expanded for x in lv]
                else:
                    expanded = [e + [(c, None)] for e in expanded]
            for e in expanded:
                name = ":".join(
                    f"C({c.var})[{level_str(x)}]" if c.kind == "factor" else c.text for c, x in e
                )
                self.columns.append((name, e))
        self.names = [n for n, _ in self.columns]

    def design(self, env, indicator=None, n=None):
        """Design matrix. env: var -> array (may be complex, for complex-step derivatives).
        indicator(var, level) -> array gives factor indicators (default: env[var] == level)."""
        if n is None:
            n = len(next(iter(env.values())))
        if indicator is None:
            def indicator(v, x):
                return (np.asarray(env[v]) == x).astype(float)
        cols = []
        cache = {}
        for name, e in self.columns:
            col = np.ones(n, dtype=complex if any(np.iscomplexobj(a) for a in env.values()) else float)
            for c, x in e:
                if c.kind == "factor":
                    col = col * indicator(c.var, x)
                else:
                    if c.text not in cache:
                        cache[c.text] = np.broadcast_to(c.eval(env), (n,))
                    col = col * cache[c.text]
            cols.append(col)
        return np.column_stack(cols)


# ----------------------------------------------------------------------------- families


class Link:
    def __init__(self, name):
        self.name = name

    def mu(self, eta):
        n = self.name
        if n == "identity":
            return eta
        if n == "log":
            return np.exp(eta)
        if n == "inverse":
            return 1 / eta
        if n == "logit":
            return special.expit(eta)
        if n == "probit":
            return special.ndtr(eta)
        if n == "cloglog":
            return -np.expm1(-np.exp(eta))
        raise ValueError(n)

    def d1(self, eta):
        n = self.name
        if n == "identity":
            return np.ones_like(eta)
        if n == "log":
            return np.exp(eta)
        if n == "inverse":
            return -1 / eta**2
        if n == "logit":
            p = special.expit(eta)
            return p * (1 - p)
        if n == "probit":
            return np.exp(-0.5 * eta**2) / np.sqrt(2 * np.pi)
        if n == "cloglog":
            return np.exp(eta - np.exp(eta))
        raise ValueError(n)

    def d2(self, eta):
        n = self.name
        if n == "identity":
            return np.zeros_like(eta)
        if n == "log":
            return np.exp(eta)
        if n == "inverse":
            return 2 / eta**3
        if n == "logit":
            p = special.expit(eta)
            return p * (1 - p) * (1 - 2 * p)
        if n == "probit":
            return -eta * np.exp(-0.5 * eta**2) / np.sqrt(2 * np.pi)
        if n == "cloglog":
            return np.exp(eta - np.exp(eta)) * (1 - np.exp(eta))
        raise ValueError(n)

    def d3(self, eta):
        """Third derivative of the inverse link (needed by nothing but the Jacobian checks)."""
        h = 1e-4
        return (self.d2(eta + h) - self.d2(eta - h)) / (2 * h)


class Family:
    def __init__(self, name):
        self.name = name

    def var(self, mu):
        n = self.name
        if n == "gaussian":
            return np.ones_like(mu)
        if n == "binomial":
            return mu * (1 - mu)
        if n == "poisson":
            return mu
        if n == "gamma":
            return mu**2
        if n == "igaussian":
            return mu**3
        raise ValueError(n)

    def dvar(self, mu):
        n = self.name
        if n == "gaussian":
            return np.zeros_like(mu)
        if n == "binomial":
            return 1 - 2 * mu
        if n == "poisson":
            return np.ones_like(mu)
        if n == "gamma":
            return 2 * mu
        if n == "igaussian":
            return 3 * mu**2
        raise ValueError(n)

    def has_scale(self):
        return self.name in ("gaussian", "gamma", "igaussian")


DEFAULT_LINK = {"gaussian": "identity", "binomial": "logit", "poisson": "log",
                "gamma": "inverse", "igaussian": "inverse"}


# ----------------------------------------------------------------------------- model


class Model:
    """A fitted probit/logit/GLM on one estimation sample."""

    def __init__(self, family, link, y, X, names, w, wtype, cluster=None, n_dropped=0):
        self.family = Family(family)
        self.link = Link(link)
        self.y = y
        self.X_full = X
        self.names_full = names
        self.wtype = wtype
        self.n_rows = len(y)
        if wtype is None:
            w = np.ones(self.n_rows)
        elif wtype == "aweight":
            w = w * self.n_rows / w.sum()  # Stata: aweights rescaled to sum to N
        self.w = w
        self.N = w.sum() if wtype == "fweight" else self.n_rows
        self.cluster = cluster
        self.n_dropped = n_dropped
        self.drop_collinear()
        self.fit()

    # Stata's _rmcoll keeps columns in order and omits a column that is a linear combination
    # of the columns kept before it.
    def drop_collinear(self, tol=1e-9):
        X = self.X_full
        keep = []
        for j in range(X.shape[1]):
            cand = keep + [j]
            Q, R = np.linalg.qr(X[:, cand])
            if abs(R[-1, -1]) > tol * np.linalg.norm(X[:, j]):
                keep.append(j)
        self.keep = keep
        self.omitted = [self.names_full[j] for j in range(X.shape[1]) if j not in keep]
        self.X = X[:, keep]
        self.names = [self.names_full[j] for j in keep]
        self.K = len(keep)

    # per-observation pieces with phi = 1
    def pieces(self, b):
        eta = self.X @ b
        mu = self.link.mu(eta)
        d1 = self.link.d1(eta)
        d2 = self.link.d2(eta)
        if self.link.name == "probit" and self.family.name == "binomial":
            V = special.ndtr(eta) * special.ndtr(-eta)
        else:
            V = self.family.var(mu)
        dV = self.family.dvar(mu)
        r = (self.y - mu) * d1 / V  # score factor: dll/deta
        # -d2ll/deta2 (observed); for the canonical link it equals the expected d1^2/V
        h_obs = d1**2 / V - (self.y - mu) * (d2 / V - d1**2 * dV / V**2)
        h_exp = d1**2 / V
        return eta, mu, r, h_obs, h_exp

    def loglik(self, b, mu=None):
        if mu is None:
            mu = self.link.mu(self.X @ b)
        y, w, fam = self.y, self.w, self.family.name
        if fam == "binomial":
            if self.link.name == "probit":
                eta = self.X @ b
                lp, lq = special.log_ndtr(eta), special.log_ndtr(-eta)
            else:
                lp, lq = np.log(mu), np.log1p(-mu)
            ll = np.where(y > 0, y * lp, 0) + np.where(y < 1, (1 - y) * lq, 0)
        elif fam == "poisson":
            ll = special.xlogy(y, mu) - mu - special.gammaln(y + 1)
        elif fam == "gaussian":
            s2 = np.sum(w * (y - mu) ** 2) / self.N  # Stata: sigma^2 = SSR / N
            ll = -0.5 * ((y - mu) ** 2 / s2 + np.log(2 * np.pi * s2))
        elif fam == "gamma":  # Stata reports the gamma log-likelihood with phi = 1
            ll = -y / mu - np.log(mu)
        elif fam == "igaussian":  # ... and the inverse gaussian one with phi = 1
            ll = -0.5 * ((y - mu) ** 2 / (y * mu**2) + np.log(2 * np.pi * y**3))
        return float(np.sum(w * ll))

    def fit(self):
        X, y, w = self.X, self.y, self.w
        # IRLS start (Fisher scoring) from mu = (y + mean)/2
        mu = (y + np.average(y, weights=w)) / 2
        if self.family.name == "binomial":
            mu = np.clip(mu, 0.1, 0.9)
        eta = {"identity": lambda m: m, "log": np.log, "inverse": lambda m: 1 / m,
               "logit": special.logit, "probit": special.ndtri,
               "cloglog": lambda m: np.log(-np.log1p(-m))}[self.link.name](mu)
        b = np.linalg.lstsq(X, eta, rcond=None)[0]
        for it in range(25):
            _, _, r, _, he = self.pieces(b)
            g = X.T @ (w * r)
            I = X.T @ (X * (w * he)[:, None])
            step = np.linalg.solve(I, g)
            b = self._halve(b, step)
            if np.max(np.abs(step)) < 1e-8:
                break
        # Newton-Raphson on the observed information to machine precision
        self.iterations = 0
        for it in range(100):
            _, _, r, ho, _ = self.pieces(b)
            g = X.T @ (w * r)
            H = X.T @ (X * (w * ho)[:, None])
            step = np.linalg.solve(H, g)
            b = self._halve(b, step)
            self.iterations += 1
            if np.max(np.abs(step) / (np.abs(b) + 1e-3)) < 1e-14 or it > 60:
                break
        self.b = b
        eta, mu, r, ho, he = self.pieces(b)
        self.mu = mu
        self.grad = X.T @ (w * r)
        self.OI = X.T @ (X * (w * ho)[:, None])  # observed information, phi = 1
        self.EI = X.T @ (X * (w * he)[:, None])  # expected information, phi = 1
        self.scores = X * r[:, None]  # unit-weight scores, phi = 1
        self.ll = self.loglik(b)
        if self.family.has_scale():
            pearson = np.sum(w * (y - mu) ** 2 / self.family.var(mu))
            self.phi = pearson / (self.N - self.K)
        else:
            self.phi = 1.0

    def _halve(self, b, step):
        ll0 = self.loglik(b)
        t = 1.0
        for _ in range(40):
            nb = b + t * step
            ll1 = self.loglik(nb)
            if np.isfinite(ll1) and ll1 >= ll0 - 1e-12 * abs(ll0):
                return nb
            t /= 2
        return b

    def vcov(self, vce):
        if vce == "oim":
            return self.phi * np.linalg.inv(self.OI)
        if vce == "eim":
            return self.phi * np.linalg.inv(self.EI)
        bread = np.linalg.inv(self.OI)
        meat, factor = self.meat(vce)
        return factor * bread @ meat @ bread

    def weighted_scores(self):
        """Scores that enter the meat as sum_i u_i u_i' (robust) or sum_g (sum u_i)(...)'."""
        if self.wtype == "fweight":
            return self.scores * self.w[:, None]  # sum_i f_i s_i s_i' = sum (f s)(f s)/f
        return self.scores * self.w[:, None]

    def meat(self, vce):
        u = self.weighted_scores()
        if vce == "robust":
            if self.wtype == "fweight":
                M = (self.scores * self.w[:, None]).T @ self.scores
            else:
                M = u.T @ u
            return M, self.N / (self.N - 1)
        if vce == "cluster":
            S, G = cluster_sums(u, self.cluster)
            return S.T @ S, G / (G - 1)
        raise ValueError(vce)

    # ---- predictions and margins (prediction = mean of the response) ----------------
    def predict_from_eta(self, eta):
        return self.link.mu(eta)


def cluster_sums(u, cluster):
    codes, uniq = pd.factorize(pd.Series(cluster))
    G = len(uniq)
    S = np.zeros((G, u.shape[1]))
    np.add.at(S, codes, u)
    return S, G


# ----------------------------------------------------------------------------- margins


class Part:
    """A model plus how to rebuild its design from data (for margins)."""

    def __init__(self, model, formula, env, sample_mask):
        self.m = model
        self.f = formula
        self.env = env  # var -> array over the averaging sample
        self.mask = sample_mask

    def X(self, env, indicator=None):
        return self.f.design(env, indicator)[:, self.m.keep]


def complex_step_dX(part, env, var, indicator=None, h=1e-30):
    e2 = dict(env)
    e2[var] = np.asarray(env[var], dtype=float) + 1j * h
    return np.imag(part.X(e2, indicator)) / h


def weighted_mean(a, w, axis=0):
    return np.sum(a * (w if a.ndim == 1 else w[:, None]), axis=axis) / w.sum()


def margin_list(formulas):
    """(term, contrast, var, level) for every variable of the formulas, continuous first
    in order of appearance, factor levels by level."""
    out = []
    seen = set()
    for f in formulas:
        for v in f.rhs_vars:
            if v in seen:
                continue
            seen.add(v)
            if v in f.factors:
                for x in f.levels[v]:
                    if x != f.ref[v]:
                        out.append((f"C({v})[{level_str(x)}]",
                                    f"{level_str(x)} vs {level_str(f.ref[v])}", v, x))
            else:
                out.append((v, "dydx", v, None))
    return out


def factor_indicator_override(env, var, level, base_indicator=None):
    def ind(v, x):
        if v == var:
            return np.full(len(next(iter(env.values()))), float(x == level))
        if base_indicator is not None:
            return base_indicator(v, x)
        return (np.asarray(env[v]) == x).astype(float)
    return ind


def effect_pieces(parts, env, w, spec, atmeans_indicator=None):
    """Effect and its Jacobian for the product of the parts' predictions
    (one part: that part's prediction; two parts: Pr(y>0) * E[y|y>0]).
    env holds the rows to average over (one row when at means)."""
    term, contrast, var, level = spec
    preds, d1s, Xs = [], [], []
    if level is None:  # derivative via the design's complex-step derivative
        for p in parts:
            if var in p.f.rhs_vars:
                dX = complex_step_dX(p, env, var, atmeans_indicator)
            else:
                dX = np.zeros((len(w), p.m.K))
            X = p.X(env, atmeans_indicator)
            eta = X @ p.m.b
            preds.append(p.m.link.mu(eta))
            d1s.append((p.m.link.d1(eta), p.m.link.d2(eta), X, dX))
        # product rule: d(prod)/dv = sum_k (dpred_k/dv) prod_{j != k} pred_j
        total = np.zeros(len(w))
        jac = []
        for k, p in enumerate(parts):
            g1, g2, X, dX = d1s[k]
            dpk = g1 * (dX @ p.m.b)
            others = np.prod([preds[j] for j in range(len(parts)) if j != k], axis=0) if len(parts) > 1 else 1.0
            total += dpk * others
        for k, p in enumerate(parts):
            g1, g2, X, dX = d1s[k]
            dXb = dX @ p.m.b
            # d/db_k of [dpk * others] + d/db_k of [dpj * (pred_k ...)] for j != k
            J = (g2 * dXb)[:, None] * X + g1[:, None] * dX
            others = np.prod([preds[j] for j in range(len(parts)) if j != k], axis=0) if len(parts) > 1 else np.ones(len(w))
            Jk = J * others[:, None]
            for j, q in enumerate(parts):
                if j == k:
                    continue
                gj1, _, Xj, dXj = d1s[j]
                dpj = gj1 * (dXj @ q.m.b)
                rest = np.prod([preds[i] for i in range(len(parts)) if i not in (j, k)], axis=0) if len(parts) > 2 else np.ones(len(w))
                Jk = Jk + (dpj * rest * g1)[:, None] * X
            jac.append(weighted_mean(Jk, w))
        return weighted_mean(total, w), np.concatenate(jac)
    # discrete change: level vs reference
    ref = None
    for p in parts:
        if var in p.f.factors:
            ref = p.f.ref[var]
    vals = {}
    for lv in (level, ref):
        pr, dj = [], []
        for p in parts:
            ind = factor_indicator_override(env, var, lv, atmeans_indicator)
            X = p.X(env, ind)
            eta = X @ p.m.b
            pr.append(p.m.link.mu(eta))
            dj.append(p.m.link.d1(eta)[:, None] * X)
        prod = np.prod(pr, axis=0)
        jac = []
        for k in range(len(parts)):
            others = np.prod([pr[j] for j in range(len(parts)) if j != k], axis=0) if len(parts) > 1 else np.ones(len(w))
            jac.append(weighted_mean(dj[k] * others[:, None], w))
        vals[lv] = (weighted_mean(prod, w), np.concatenate(jac))
    return vals[level][0] - vals[ref][0], vals[level][1] - vals[ref][1]


def effect_numeric_jacobian(parts, env, w, spec, atmeans_indicator=None):
    """Central-difference Jacobian of the effect w.r.t. all parameters (cross-check)."""
    bs = [p.m.b.copy() for p in parts]
    sizes = [len(b) for b in bs]
    theta = np.concatenate(bs)
    J = np.zeros(len(theta))

    def f(t):
        off = 0
        for p, s in zip(parts, sizes):
            p.m.b = t[off:off + s]
            off += s
        val = effect_pieces(parts, env, w, spec, atmeans_indicator)[0]
        return val

    for i in range(len(theta)):
        h = 1e-5 * max(1.0, abs(theta[i]))
        tp, tm = theta.copy(), theta.copy()
        tp[i] += h
        tm[i] -= h
        tp2, tm2 = theta.copy(), theta.copy()
        tp2[i] += 2 * h
        tm2[i] -= 2 * h
        # 4th-order central difference
        J[i] = (-f(tp2) + 8 * f(tp) - 8 * f(tm) + f(tm2)) / (12 * h)
    f(theta)
    return J


def atmeans_env(parts, env, w):
    """Stata atmeans: numeric variables at their (weighted) means, factor indicators at
    their (weighted) sample proportions. Returns (one-row env, indicator function)."""
    menv = {}
    for v, a in env.items():
        if np.issubdtype(np.asarray(a).dtype, np.number):
            menv[v] = np.array([weighted_mean(np.asarray(a, dtype=float), w)])
        else:
            menv[v] = np.asarray(a)[:1]
    props = {}
    for p in parts:
        for v in p.f.factors:
            for x in p.f.levels[v]:
                props[(v, x)] = weighted_mean((np.asarray(env[v]) == x).astype(float), w)

    def ind(v, x):
        return np.array([props[(v, x)]])
    return menv, ind


CHECK_NUMERIC = True  # analytic vs numerical Jacobian check on every effect


def margins(parts, env, w, V, specs, at="average", check_numeric=None):
    """Effects with delta-method SEs. V: covariance of the stacked parameters."""
    out = []
    ind = None
    wuse = w
    if at == "means":
        env, ind = atmeans_env(parts, env, w)
        wuse = np.ones(1)
    if check_numeric is None:
        check_numeric = CHECK_NUMERIC
    for spec in specs:
        est, J = effect_pieces(parts, env, wuse, spec, ind)
        if check_numeric:
            Jn = effect_numeric_jacobian(parts, env, wuse, spec, ind)
            scale = np.max(np.abs(J)) + 1e-300
            err = np.max(np.abs(J - Jn)) / scale
            assert err < 1e-6, f"analytic vs numeric Jacobian differ for {spec[:2]}: {err}"
        se = float(np.sqrt(J @ V @ J))
        out.append({"term": spec[0], "contrast": spec[1], "estimate": float(est), "std_error": se})
    return out


# ----------------------------------------------------------------------------- CLI driver


def parse_args(args):
    """The subset of migfit's CLI the golden cases use."""
    o = {}
    i = 0
    flags = {"--margins", "--or", "--joint-vce"}
    while i < len(args):
        a = args[i]
        if a in flags:
            o[a[2:]] = True
            i += 1
        else:
            o[a[2:]] = args[i + 1]
            i += 2
    return o


def missing_mask(df, cols):
    m = np.zeros(len(df), dtype=bool)
    for c in cols:
        s = df[c]
        m |= s.isna().to_numpy()
    return m


def build(df, formula_text, rows_mask, lhs_override=None):
    f = Formula(formula_text, df)
    sub = df[rows_mask]
    f.set_levels(sub)
    env = {v: sub[v].to_numpy() for v in f.rhs_vars}
    env_all = {v: sub[v].to_numpy() for v in sub.columns if v in f.used_columns()}
    X = f.design(env)
    lhs = lhs_override if lhs_override is not None else f.lhs_comp
    y = np.asarray(lhs.eval({v: sub[v].to_numpy(dtype=float) for v in lhs.vars}), dtype=float)
    return f, env, X, y


def model_json(name, f, m, vce_desc, V, o, margins_list=None, model_kind=None):
    se = np.sqrt(np.diag(V))
    coefs = []
    for t, b, s in zip(m.names, m.b, se):
        if o.get("or"):
            coefs.append({"term": t, "estimate": float(np.exp(b)), "std_error": float(np.exp(b) * s)})
        else:
            coefs.append({"term": t, "estimate": float(b), "std_error": float(s)})
    d = {"name": name, "formula": f.text, "model": model_kind, "family": m.family.name,
         "link": m.link.name, "n_obs": int(round(m.N)), "n_dropped": int(m.n_dropped),
         "log_likelihood": m.ll, "vce": vce_desc, "dispersion": m.phi, "coefficients": coefs,
         "omitted": [{"term": t, "reason": "collinear"} for t in m.omitted]}
    if margins_list is not None:
        d["margins"] = margins_list
    return d


def resolve_family_link(o):
    model = o["model"] if "model" in o else "glm"
    if model == "probit":
        return "binomial", "probit"
    if model == "logit":
        return "binomial", "logit"
    fam = o.get("family", "gaussian")
    return fam, o.get("link", DEFAULT_LINK[fam])


def run_fit(df, args):
    o = parse_args(args)
    fam, link = resolve_family_link(o)
    f0 = Formula(o["formula"], df)
    cols = f0.used_columns() + [c for c in (o.get("weights"), o.get("cluster")) if c]
    mask = ~missing_mask(df, cols)
    f, env, X, y = build(df, o["formula"], mask)
    if o.get("model") in ("probit", "logit"):
        y = (y != 0).astype(float)  # Stata: y != 0 is a success
    sub = df[mask]
    wtype = o.get("weight-type")
    w = sub[o["weights"]].to_numpy(dtype=float) if "weights" in o else None
    cl = sub[o["cluster"]].to_numpy() if "cluster" in o else None
    m = Model(fam, link, y, X, f.names, w, wtype, cl, n_dropped=int((~mask).sum()))
    vce = o.get("vce", "robust" if wtype == "pweight" else "oim")
    if "scale" in o:
        if o["scale"] == "dev":
            raise NotImplementedError
        elif o["scale"] != "x2":
            m.phi = float(o["scale"])
    V = m.vcov(vce)
    mj = None
    if o.get("margins"):
        part = Part(m, f, env, mask)
        specs = margin_list([f])
        at = o.get("margins-at", "average")
        mj = margins([part], env, m.w, V, specs, at=at)
    return {"models": [model_json("fit", f, m, vce, V, o, mj, o.get("model", "glm"))]}, [m], V


def run_twopart(df, args):
    o = parse_args(args)
    f1text = o["formula"]
    f2text = o.get("formula2", f1text)
    first = o.get("first", "probit")
    fam2 = o.get("family", "gamma")
    link2 = o.get("link", "log")
    fa, fb = Formula(f1text, df), Formula(f2text, df)
    cols = list(dict.fromkeys(fa.used_columns() + fb.used_columns() +
                              [c for c in (o.get("weights"), o.get("cluster")) if c]))
    mask = ~missing_mask(df, cols)
    ycol = fa.lhs_comp.vars[0]
    yall = df[ycol].to_numpy(dtype=float)
    pos = mask & (yall > 0)
    f1, env1, X1, y1 = build(df, f1text, mask)
    y1 = (y1 > 0).astype(float)
    lhs2 = Component(o["response2"], set(df.columns)) if "response2" in o else None
    f2, env2, X2, y2 = build(df, f2text, pos, lhs2)
    wtype = o.get("weight-type")
    w1 = df[mask][o["weights"]].to_numpy(dtype=float) if "weights" in o else None
    w2 = df[pos][o["weights"]].to_numpy(dtype=float) if "weights" in o else None
    cl1 = df[mask][o["cluster"]].to_numpy() if "cluster" in o else None
    cl2 = df[pos][o["cluster"]].to_numpy() if "cluster" in o else None
    m1 = Model("binomial", first, y1, X1, f1.names, w1, wtype, cl1, int((~mask).sum()))
    m2 = Model(fam2, link2, y2, X2, f2.names, w2, wtype, cl2, int((~mask).sum()))
    vce = o.get("vce", "robust" if wtype == "pweight" else "oim")
    V1, V2 = m1.vcov(vce), m2.vcov(vce)
    K1, K2 = m1.K, m2.K
    Vb = np.zeros((K1 + K2, K1 + K2))
    Vb[:K1, :K1] = V1
    Vb[K1:, K1:] = V2
    if o.get("joint-vce"):
        # twopm, suest: stacked sandwich over the first part's sample; the second part's
        # scores are zero on rows with y = 0.
        assert wtype != "aweight"
        u1 = m1.weighted_scores()
        u2 = np.zeros((len(y1), K2))
        u2[pos[mask]] = m2.weighted_scores()
        u = np.hstack([u1, u2])
        bread = np.zeros_like(Vb)
        bread[:K1, :K1] = np.linalg.inv(m1.OI)
        bread[K1:, K1:] = np.linalg.inv(m2.OI)
        if vce == "cluster":
            S, G = cluster_sums(u, cl1)
            meat, fac = S.T @ S, G / (G - 1)
        else:
            if wtype == "fweight":
                meat = (u / w1[:, None]).T @ u
            else:
                meat = u.T @ u
            fac = m1.N / (m1.N - 1)
        Vj = fac * bread @ meat @ bread
        V = Vj
        V1, V2 = Vj[:K1, :K1], Vj[K1:, K1:]
    else:
        V = Vb
    res = {"models": []}
    p1 = Part(m1, f1, env1, mask)
    p2 = Part(m2, f2, env2, pos)
    if o.get("margins"):
        mj1 = margins([p1], env1, m1.w, V1, margin_list([f1]))
        mj2 = margins([p2], env2, m2.w, V2, margin_list([f2]))
    else:
        mj1 = mj2 = None
    res["models"].append(model_json("first", f1, m1, vce, V1, o, mj1, first))
    res["models"].append(model_json("second", f2, m2, vce, V2, o, mj2, "glm"))
    if o.get("margins"):
        # combined E[y] = Pr(y>0) * E[y|y>0] averaged over every estimation row
        envc = {v: df[mask][v].to_numpy() for v in list(dict.fromkeys(f1.rhs_vars + f2.rhs_vars))}
        p2c = Part(m2, f2, envc, mask)
        p1c = Part(m1, f1, envc, mask)
        res["combined"] = {"margins": margins([p1c, p2c], envc, m1.w, V, margin_list([f1, f2]))}
    return res, [m1, m2], V


def dumps17(obj, indent=0, fmt="%.17g"):
    """JSON with every float printed as %.17g (fmt=None: shortest round-trip repr); every golden file is written with it."""
    sp = "  " * indent
    if isinstance(obj, dict):
        items = [f'{sp}  {json.dumps(k)}: {dumps17(v, indent + 1, fmt).lstrip()}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + sp + "}" if items else "{}"
    if isinstance(obj, list):
        if not obj:
            return "[]"
        items = [sp + "  " + dumps17(v, indent + 1, fmt).lstrip() for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + sp + "]"
    if isinstance(obj, bool) or obj is None:
        return json.dumps(obj)
    if isinstance(obj, (float, np.floating)):
        return repr(float(obj)) if fmt is None else fmt % obj
    if isinstance(obj, (int, np.integer)):
        return str(int(obj))
    return json.dumps(obj)
