//! Average effects in one pass over the rows (see the module doc of `margins`).

use super::*;
use crate::design::{ColumnValues, FactorSetting, Scenario};
use crate::model::LinkKind;
use rayon::prelude::*;

/// Average effects at the observed data (no variable fixed) of several effect sets, all
/// requests in one pass over row chunks. Returns, per set and request, the estimate and the
/// Jacobian (stacked over all parts; zero for the parts the set's prediction does not use).
///
/// Derivatives: with `G_q = sum_i w_i g_qi` and `M_qp = X_p'(w h_qp)` computed once, an effect
/// whose columns are all linear in `v` costs O(k): estimate `sum_q s_q G_q / W`, Jacobian
/// `(sum_q s_q M_qp + G_p 1_lin) / W`. Non-linear terms add one gemm column each
/// (`X_p'(w sum_q h_qp R_q)`, `R_q = sum_{j nonlin} b_qj dX_qj/dv`) and their explicit
/// `sum w g_p dX/dv` on their own columns.
///
/// Discrete changes: each level of a factor is evaluated once per row (rows already at that
/// level reuse the observed evaluation), each part's `(h, h', h'')` once for every set reading
/// the level; a contrast is the difference of two levels' sums, its Jacobian the difference of
/// `X_p'(w g_p^(l))` with the affected columns replaced by `sum w g_p^(l) X_p^(l)`. The sets'
/// columns of `C_p` sit side by side: one `X_p' C_p` product per part and chunk.
///
/// With `jacobian` false (a bootstrap replicate needs the estimates only) the `X_p' C_p`
/// products are skipped and the Jacobians are zero, and rows that no set weighs (weight 0 in
/// every set: clusters not drawn) are not evaluated at the factor levels; the estimates are the
/// same sums in the same order.
pub(super) fn average_effects(parts: &[PartEval], sets: &[AverageSet], jacobian: bool) -> Vec<Vec<(f64, Vec<f64>)>> {
    let np = parts.len();
    let n = parts[0].x.nrows();
    assert!(sets.iter().all(|s| s.w.len() == n && s.rows.is_none_or(|m| m.len() == n)));
    let kx: Vec<usize> = parts.iter().map(|p| p.beta.len()).collect();

    // Plans. Factor levels are shared by the sets that read them.
    let mut factors: Vec<FactorPlan> = Vec::new();
    let mut levels: Vec<LevelEval> = Vec::new();
    let mut plans: Vec<SetPlan> = Vec::new();
    for (t, set) in sets.iter().enumerate() {
        let nr = set.relevant.len();
        let mut plan = SetPlan { dplans: Vec::new(), levels: Vec::new(), ncols: nr, nacc: nr, off: [0; 2] };
        for req in set.requests {
            match &req.kind {
                Kind::Derivative(v) => {
                    if plan.dplans.iter().any(|d| &d.0 == v) {
                        continue;
                    }
                    let scenario = Scenario { wrt: Some(v.clone()), ..Default::default() };
                    let mut lin = vec![Vec::new(); np];
                    let mut nonlin = vec![Vec::new(); np];
                    let mut s = [0.0; 2];
                    for &p in &set.relevant {
                        for j in 0..kx[p] {
                            if parts[p].spec.column_affected(j, &scenario) {
                                if is_identity_column(parts[p].spec, j, v) {
                                    lin[p].push(j);
                                    s[p] += parts[p].beta[j];
                                } else {
                                    nonlin[p].push(j);
                                }
                            }
                        }
                    }
                    let col = if nonlin.iter().any(|c| !c.is_empty()) {
                        plan.ncols += 1;
                        Some(plan.ncols - 1)
                    } else {
                        None
                    };
                    let acc = plan.nacc;
                    plan.nacc += 1 + nonlin.iter().map(Vec::len).sum::<usize>();
                    plan.dplans.push((v.clone(), DerivPlan { scenario, lin, nonlin, s, col, acc }));
                }
                Kind::Discrete { var, level, reference } => {
                    let fi = match factors.iter().position(|f| &f.var == var) {
                        Some(fi) => fi,
                        None => {
                            factors.push(FactorPlan {
                                var: var.clone(),
                                affected: vec![Vec::new(); np],
                                parts: Vec::new(),
                            });
                            factors.len() - 1
                        }
                    };
                    let f = &mut factors[fi];
                    for &p in &set.relevant {
                        if !f.parts.contains(&p) && f.affected[p].is_empty() {
                            let mut probe = Scenario::default();
                            probe.factors.insert(var.clone(), FactorSetting::Level(*reference));
                            f.affected[p] = (0..kx[p]).filter(|&j| parts[p].spec.column_affected(j, &probe)).collect();
                            if !f.affected[p].is_empty() {
                                f.parts.push(p);
                                f.parts.sort_unstable();
                            }
                        }
                    }
                    let width = 1 + set.relevant.iter().map(|&p| f.affected[p].len()).sum::<usize>();
                    for &l in &[*level, *reference] {
                        let e = match levels.iter().position(|e| e.factor == fi && e.level == l) {
                            Some(e) => e,
                            None => {
                                let mut scenario = Scenario::default();
                                scenario.factors.insert(var.clone(), FactorSetting::Level(l));
                                levels.push(LevelEval { factor: fi, level: l, scenario, users: Vec::new() });
                                levels.len() - 1
                            }
                        };
                        if !plan.levels.iter().any(|u| u.eval == e) {
                            levels[e].users.push((t, plan.levels.len()));
                            plan.levels.push(LevelUse { eval: e, col: plan.ncols, acc: plan.nacc });
                            plan.ncols += 1;
                            plan.nacc += width;
                        }
                    }
                }
            }
        }
        plans.push(plan);
    }
    // The sets' blocks side by side in each part's C.
    let mut nc = [0usize; 2];
    for (set, plan) in sets.iter().zip(plans.iter_mut()) {
        for &p in &set.relevant {
            plan.off[p] = nc[p];
            nc[p] += plan.ncols;
        }
    }
    let used: Vec<usize> = (0..np).filter(|p| sets.iter().any(|s| s.relevant.contains(p))).collect();

    let xsl: Vec<&[f64]> = parts.iter().map(|p| p.x.as_slice().expect("designs are row-major")).collect();
    // Rows some set weighs (estimates only): the others contribute `0 x F` to every sum, so
    // their evaluations are skipped (their scratch entries keep finite earlier values, their
    // linear index is 0).
    let live: Option<Vec<bool>> =
        (!jacobian).then(|| (0..n).map(|i| sets.iter().any(|s| s.has(i) && s.w[i] != 0.0)).collect());
    let live = live.as_deref();
    let eta: Vec<std::borrow::Cow<[f64]>> = parts
        .iter()
        .map(|p| match (live, p.eta) {
            (Some(m), None) => std::borrow::Cow::Owned(crate::linalg::xbeta_where(p.x, p.beta, m)),
            _ => p.linear_index(),
        })
        .collect();
    let n_chunks = n.div_ceil(AVG_CHUNK).max(1);
    let partials: Vec<ChunkSums> = (0..n_chunks)
        .into_par_iter()
        .map_init(
            || AvgScratch {
                c: (0..np).map(|p| vec![0.0; AVG_CHUNK * nc[p]]).collect(),
                lvb: Vec::with_capacity(AVG_CHUNK),
                lvl: Vec::with_capacity(AVG_CHUNK),
                levmu: [Vec::with_capacity(AVG_CHUNK), Vec::with_capacity(AVG_CHUNK)],
                idx: Vec::with_capacity(AVG_CHUNK),
            },
            |scratch, ci| {
                let lo = ci * AVG_CHUNK;
                let hi = (lo + AVG_CHUNK).min(n);
                let rows = hi - lo;
                let mut acc: Vec<Vec<f64>> = plans.iter().map(|pl| vec![0.0; pl.nacc]).collect();
                let AvgScratch { c, lvb, lvl, levmu, idx } = scratch;
                // The rows some set weighs (estimates only).
                idx.clear();
                if let Some(m) = live {
                    idx.extend((0..rows as u32).filter(|&r| m[lo + r as usize]));
                }
                let idx = &*idx;
                // Chunk rows not to evaluate (none when the Jacobians are computed).
                let skip = |lo: usize| move |r: usize| live.is_some_and(|m| !m[lo + r]);
                // The observed evaluation, shared by every effect of every set.
                // (Every entry of the used parts is written below: resizing fills only new rows.)
                lvb.resize(rows, [(0.0, 0.0, 0.0); 2]);
                for &p in &used {
                    eval_level(parts[p].link, &eta[p][lo..hi], |_| 0.0, lvb, p, |_| None, skip(lo));
                }
                for ((set, plan), acc) in sets.iter().zip(&plans).zip(acc.iter_mut()) {
                    let rel = &set.relevant;
                    // Estimates only: the rows some set weighs (a row of weight 0 adds 0).
                    let all: Box<dyn Iterator<Item = usize>> =
                        if jacobian { Box::new(0..rows) } else { Box::new(idx.iter().map(|&r| r as usize)) };
                    for r in all {
                        let i = lo + r;
                        if !set.has(i) {
                            // Rows outside the set: zero columns (every other entry of the set's
                            // block is written below before the product reads it).
                            for &p in rel.iter().filter(|_| jacobian) {
                                for col in plan.off[p]..plan.off[p] + plan.ncols {
                                    c[p][col * rows + r] = 0.0;
                                }
                            }
                            continue;
                        }
                        let wi = set.w[i];
                        let (_, g, h) = combine(set.target, &lvb[r]);
                        for (qi, &q) in rel.iter().enumerate() {
                            acc[qi] += wi * g[q];
                        }
                        for &p in rel.iter().filter(|_| jacobian) {
                            let o = plan.off[p];
                            for (qi, &q) in rel.iter().enumerate() {
                                c[p][(o + qi) * rows + r] = wi * h[q][p];
                            }
                        }
                    }
                    // Non-linear derivative terms.
                    for (_, d) in &plan.dplans {
                        let Some(col) = d.col else { continue };
                        let dx: Vec<Vec<Vec<crate::formula::Dual>>> = (0..np)
                            .map(|p| parts[p].spec.columns_under_rows(&d.nonlin[p], &d.scenario, lo..hi))
                            .collect();
                        for r in 0..rows {
                            let i = lo + r;
                            if !set.has(i) {
                                continue;
                            }
                            let wi = set.w[i];
                            let (_, g, h) = combine(set.target, &lvb[r]);
                            let mut rq = [0.0; 2];
                            for &p in rel {
                                for (a, &j) in d.nonlin[p].iter().enumerate() {
                                    rq[p] += parts[p].beta[j] * dx[p][a][r].d;
                                }
                            }
                            acc[d.acc] += wi * rel.iter().map(|&q| g[q] * rq[q]).sum::<f64>();
                            let mut o = d.acc + 1;
                            for &p in rel {
                                c[p][(plan.off[p] + col) * rows + r] =
                                    wi * rel.iter().map(|&q| h[q][p] * rq[q]).sum::<f64>();
                                for a in 0..d.nonlin[p].len() {
                                    acc[o + a] += wi * g[p] * dx[p][a][r].d;
                                }
                                o += d.nonlin[p].len();
                            }
                        }
                    }
                }
                // Factor levels: each part's (h, h', h'') under the level evaluated once per row,
                // then read by every set using the level.
                for le in &levels {
                    let f = &factors[le.factor];
                    // The affected columns under the level, per part: when they are all the
                    // factor's own indicators, the change of the linear index depends only on the
                    // row's level (a table); otherwise (interactions) per-row values.
                    let xl: Vec<LevelColumns> = (0..np)
                        .map(|p| {
                            let spec = parts[p].spec;
                            let cols: Vec<ColumnValues> = f.affected[p]
                                .iter()
                                .map(|&j| spec.column_values_rows(j, &le.scenario, lo..hi))
                                .collect();
                            match indicator_shifts(spec, &f.affected[p], &cols, parts[p].beta) {
                                Some((codes, shift)) => LevelColumns::Indicators {
                                    codes: &codes[lo..hi],
                                    shift,
                                    own: cols.iter().enumerate().find_map(|(a, v)| match v {
                                        ColumnValues::Const(x) if *x != 0.0 => Some((a, *x)),
                                        _ => None,
                                    }),
                                },
                                None => LevelColumns::General(cols),
                            }
                        })
                        .collect();
                    if !jacobian && f.parts.iter().all(|&p| matches!(xl[p], LevelColumns::Indicators { .. })) {
                        // Estimates only, the factor's own indicators only: each part's mean
                        // under the level on every row of the chunk, then each user's weighted
                        // sum of F (no derivatives, no per-row dispatch).
                        for &p in &used {
                            level_means(parts, &used, &xl, &eta[p][lo..hi], p, idx, lvb, &mut levmu[p]);
                        }
                        for &(t, u) in &le.users {
                            let set = &sets[t];
                            let u = &plans[t].levels[u];
                            let w = &set.w[lo..hi];
                            let keep = |r: usize| set.rows.is_none_or(|m| m[lo + r]);
                            let [m0, m1] = &*levmu;
                            acc[t][u.acc] += match set.target {
                                Target::Mean(0) => weighted_sum(idx, w, |j| m0[j], keep),
                                Target::Mean(_) => weighted_sum(idx, w, |j| m1[j], keep),
                                Target::Product => weighted_sum(idx, w, |j| m0[j] * m1[j], keep),
                            };
                        }
                        continue;
                    }
                    lvl.resize(rows, [(0.0, 0.0, 0.0); 2]);
                    for &p in used.iter().filter(|p| !f.parts.contains(p)) {
                        lvl.iter_mut().zip(lvb.iter()).for_each(|(l, b)| l[p] = b[p]);
                    }
                    let base = |r: usize, p: usize| Some(lvb[r][p]);
                    for &p in &f.parts {
                        let etap = &eta[p][lo..hi];
                        match &xl[p] {
                            LevelColumns::Indicators { codes, shift, .. } if parts[p].link == LinkKind::Log => {
                                // exp(eta + s) = exp(eta) exp(s): the observed mean times one
                                // factor per level code instead of an exponential per row (the
                                // same value to rounding); exp(eta + s) itself where exp(eta)
                                // is 0, subnormal or infinite. Rows at the level (s = 0) need no
                                // branch: their factor is exp(0) = 1, which gives the observed
                                // (h, h', h'') = (mu, mu, mu) bit for bit.
                                let factor: Vec<f64> = shift.iter().map(|s| s.exp()).collect();
                                for (r, (l, b)) in lvl.iter_mut().zip(lvb.iter()).enumerate() {
                                    let code = codes[r] as usize;
                                    let mu = b[p].0;
                                    let m =
                                        if mu.is_normal() { mu * factor[code] } else { (etap[r] + shift[code]).exp() };
                                    l[p] = (m, m, m);
                                }
                            }
                            LevelColumns::Indicators { codes, shift, .. } => eval_level(
                                parts[p].link,
                                etap,
                                |r| shift[codes[r] as usize],
                                lvl,
                                p,
                                |r| base(r, p),
                                skip(lo),
                            ),
                            LevelColumns::General(cols) => {
                                let (k, beta, aff) = (kx[p], parts[p].beta, &f.affected[p]);
                                let xp = &xsl[p][lo * k..hi * k];
                                let shift = |r: usize| {
                                    let xr = &xp[r * k..(r + 1) * k];
                                    let mut shift = 0.0;
                                    for (v, &j) in cols.iter().zip(aff) {
                                        shift += (v.at(r) - xr[j]) * beta[j];
                                    }
                                    shift
                                };
                                eval_level(parts[p].link, etap, shift, lvl, p, |r| base(r, p), skip(lo))
                            }
                        }
                    }
                    for &(t, u) in &le.users {
                        let (set, plan) = (&sets[t], &plans[t]);
                        let u = &plan.levels[u];
                        let acc = &mut acc[t];
                        let ind = set.relevant.iter().all(|&p| matches!(xl[p], LevelColumns::Indicators { .. }));
                        if ind {
                            // Indicators only: F, g and the one non-zero indicator per part.
                            let own = |p: usize| match &xl[p] {
                                LevelColumns::Indicators { own, .. } => {
                                    own.map(|(a, x)| (level_acc(set, f, u, p) + a, x))
                                }
                                LevelColumns::General(_) => None,
                            };
                            let sums = LevelSums { set, lo, lvl, acc, c: &mut *c };
                            match set.target {
                                Target::Mean(p) => {
                                    let col = [p, p].map(|p| plan.off[p] + u.col);
                                    sums.run::<1>([p, p], col, [own(p), None], u.acc, |lv| (lv[p].0, [lv[p].1, 0.0]));
                                }
                                Target::Product => {
                                    let col = [0, 1].map(|p| plan.off[p] + u.col);
                                    sums.run::<2>([0, 1], col, [own(0), own(1)], u.acc, |lv| {
                                        let (a, a1, _) = lv[0];
                                        let (b, b1, _) = lv[1];
                                        (a * b, [a1 * b, a * b1])
                                    });
                                }
                            }
                            continue;
                        }
                        for r in 0..rows {
                            let i = lo + r;
                            if !set.has(i) {
                                continue;
                            }
                            let wi = set.w[i];
                            let (fv, g, _) = combine(set.target, &lvl[r]);
                            acc[u.acc] += wi * fv;
                            let mut o = u.acc + 1;
                            for &p in &set.relevant {
                                let wg = wi * g[p];
                                c[p][(plan.off[p] + u.col) * rows + r] = wg;
                                match &xl[p] {
                                    // The other indicators are 0 under the level: nothing to add.
                                    LevelColumns::Indicators { own, .. } => {
                                        if let Some((a, x)) = own {
                                            acc[o + a] += wg * x;
                                        }
                                    }
                                    LevelColumns::General(cols) => {
                                        for (a, v) in cols.iter().enumerate() {
                                            acc[o + a] += wg * v.at(r);
                                        }
                                    }
                                }
                                o += f.affected[p].len();
                            }
                        }
                    }
                }
                // X_p' C_p for this chunk, every set's columns at once.
                let xtc: Vec<Vec<f64>> = (0..np)
                    .map(|p| {
                        let (k, m) = (kx[p], nc[p]);
                        if !jacobian {
                            return Vec::new();
                        }
                        let mut out = vec![0.0; k * m];
                        if rows > 0 && k > 0 && m > 0 {
                            // SAFETY: pointers and strides describe the live slices exactly:
                            // X chunk rows x k row-major, C rows x m column-major, out k x m.
                            unsafe {
                                matrixmultiply::dgemm(
                                    k,
                                    rows,
                                    m,
                                    1.0,
                                    xsl[p][lo * k..hi * k].as_ptr(),
                                    1,
                                    k as isize,
                                    c[p].as_ptr(),
                                    1,
                                    rows as isize,
                                    0.0,
                                    out.as_mut_ptr(),
                                    m as isize,
                                    1,
                                );
                            }
                        }
                        out
                    })
                    .collect();
                (acc, xtc)
            },
        )
        .collect();
    // In chunk order: deterministic for any number of threads.
    let mut acc: Vec<Vec<f64>> = plans.iter().map(|pl| vec![0.0; pl.nacc]).collect();
    let mut xtc: Vec<Vec<f64>> = (0..np).map(|p| vec![0.0; kx[p] * nc[p]]).collect();
    for (a, x) in partials {
        for (t, a) in acc.iter_mut().zip(&a) {
            t.iter_mut().zip(a).for_each(|(t, v)| *t += v);
        }
        for (t, xp) in xtc.iter_mut().zip(&x).filter(|_| jacobian) {
            t.iter_mut().zip(xp).for_each(|(t, v)| *t += v);
        }
    }

    sets.iter()
        .zip(&plans)
        .zip(&acc)
        .map(|((set, plan), acc)| {
            let rel = &set.relevant;
            // Column `col` of the set's block of X_p' C_p, row k.
            let xc =
                |p: usize, k: usize, col: usize| if jacobian { xtc[p][k * nc[p] + plan.off[p] + col] } else { 0.0 };
            set.requests
                .iter()
                .map(|req| {
                    let mut jac: Vec<Vec<f64>> = kx.iter().map(|&k| vec![0.0; k]).collect();
                    let est = match &req.kind {
                        Kind::Derivative(v) => {
                            let d = &plan.dplans.iter().find(|d| &d.0 == v).expect("plan").1;
                            let mut est: f64 = rel.iter().enumerate().map(|(qi, &q)| d.s[q] * acc[qi]).sum();
                            if d.col.is_some() {
                                est += acc[d.acc];
                            }
                            let mut o = d.acc + 1;
                            for (pi, &p) in rel.iter().enumerate() {
                                let jp = &mut jac[p];
                                for (k, jk) in jp.iter_mut().enumerate() {
                                    *jk = rel.iter().enumerate().map(|(qi, &q)| d.s[q] * xc(p, k, qi)).sum::<f64>()
                                        + d.col.map_or(0.0, |c| xc(p, k, c));
                                }
                                for &j in &d.lin[p] {
                                    jp[j] += acc[pi];
                                }
                                for (a, &j) in d.nonlin[p].iter().enumerate() {
                                    jp[j] += acc[o + a];
                                }
                                o += d.nonlin[p].len();
                            }
                            est
                        }
                        Kind::Discrete { var, level, reference } => {
                            let find = |l: usize| {
                                plan.levels
                                    .iter()
                                    .find(|u| levels[u.eval].level == l && factors[levels[u.eval].factor].var == *var)
                                    .expect("level plan")
                            };
                            let (lp, rp) = (find(*level), find(*reference));
                            let f = &factors[levels[lp.eval].factor];
                            let mut o = 1;
                            for &p in rel {
                                let jp = &mut jac[p];
                                for (k, jk) in jp.iter_mut().enumerate() {
                                    *jk = xc(p, k, lp.col) - xc(p, k, rp.col);
                                }
                                for (a, &j) in f.affected[p].iter().enumerate() {
                                    jp[j] = acc[lp.acc + o + a] - acc[rp.acc + o + a];
                                }
                                o += f.affected[p].len();
                            }
                            acc[lp.acc] - acc[rp.acc]
                        }
                    };
                    (est / set.wsum, jac.into_iter().flatten().map(|v| v / set.wsum).collect())
                })
                .collect()
        })
        .collect()
}
