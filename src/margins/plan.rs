//! The plan of an average-effects pass: which sums each set of effects needs per part,
//! factor level and row chunk, and the per-row evaluation at a factor level.

use super::*;
use crate::design::{ColumnValues, DesignSpec, Scenario};
use crate::model::LinkKind;

/// Rows per chunk of the average-effects pass: fixed boundaries, partial sums added in chunk
/// order, so results do not depend on the number of threads.
pub(super) const AVG_CHUNK: usize = 2048;

/// A derivative effect in the average pass. Columns of a part containing `v` are split into
/// those equal to `v` itself (`dX/dv = 1` on every row: their contribution needs no row loop)
/// and the others (`I(v^2)`, `log(v)`, `v:z`), which need per-row work.
pub(super) struct DerivPlan {
    pub(super) scenario: Scenario,
    pub(super) lin: Vec<Vec<usize>>,
    pub(super) nonlin: Vec<Vec<usize>>,
    /// Per part, `sum_{j in lin} b_j`: the constant part of `d eta_p / dv`.
    pub(super) s: [f64; 2],
    /// Column of the set's block of `C_p` holding `w sum_q h_qp R_q` (non-linear terms only).
    pub(super) col: Option<usize>,
    /// Offset in the set's scalar accumulator: the non-linear estimate sum, then per part the
    /// non-linear columns' `sum w g_p dX/dv`.
    pub(super) acc: usize,
}

/// One effect set of the average pass: a prediction averaged over some of the evaluation
/// rows (a two-part model's second part: its own, positive, rows) with its weights.
pub(super) struct AverageSet<'a> {
    pub(super) target: Target,
    /// The parts the prediction depends on, in part order.
    pub(super) relevant: Vec<usize>,
    pub(super) requests: &'a [Request],
    /// Averaging weights on the evaluation rows (read only on the set's rows).
    pub(super) w: &'a [f64],
    /// The rows averaged over (`None`: every evaluation row).
    pub(super) rows: Option<&'a [bool]>,
    pub(super) wsum: f64,
}

impl AverageSet<'_> {
    #[inline]
    pub(super) fn has(&self, i: usize) -> bool {
        self.rows.is_none_or(|m| m[i])
    }
}

/// A set's share of the pass: its derivative plans, the factor levels it reads, and where its
/// sums live. Columns of the set's block of `C_p`: first `w h_qp` for each relevant part `q`
/// (in order), then one per non-linear derivative and per factor level. Scalars: first
/// `sum w g_q` per relevant part, then the plans' sums.
pub(super) struct SetPlan {
    pub(super) dplans: Vec<(String, DerivPlan)>,
    pub(super) levels: Vec<LevelUse>,
    pub(super) ncols: usize,
    pub(super) nacc: usize,
    /// Per part, the first column of the set's block in the chunk's `C_p`.
    pub(super) off: [usize; 2],
}

/// A factor level as one set uses it.
pub(super) struct LevelUse {
    /// Index in the pass's list of level evaluations.
    pub(super) eval: usize,
    /// Column of the set's block of `C_p` holding `w g_p^(level)`.
    pub(super) col: usize,
    /// Offset in the set's scalar accumulator: `sum w F^(level)`, then per relevant part the
    /// affected columns' `sum w g_p^(level) X^(level)`.
    pub(super) acc: usize,
}

/// A factor level, every row set to it: evaluated once per row for all the sets reading it.
pub(super) struct LevelEval {
    pub(super) factor: usize,
    pub(super) level: usize,
    pub(super) scenario: Scenario,
    /// The sets reading it: (set, index in the set's `levels`).
    pub(super) users: Vec<(usize, usize)>,
}

pub(super) struct FactorPlan {
    pub(super) var: String,
    /// Per part, the columns the factor enters (parts of the sets using it).
    pub(super) affected: Vec<Vec<usize>>,
    /// The parts with affected columns.
    pub(super) parts: Vec<usize>,
}

/// The affected columns of one part under one factor level, on a chunk of rows.
pub(super) enum LevelColumns<'a> {
    /// Only the factor's own indicators: the index changes by `shift[code]` on a row at level
    /// `code`; `own` is the indicator that is non-zero under the level (position, value).
    Indicators { codes: &'a [u32], shift: Vec<f64>, own: Option<(usize, f64)> },
    /// Interactions or transformations: the columns' values on the rows.
    General(Vec<ColumnValues>),
}

/// When every affected column is an indicator of one factor atom, the change of the linear
/// index for each observed level: `sum_a (x_a^(level) - x_a(code)) b_a` over the columns in
/// order, the same sum the per-row loop computes (indicators are exactly 0 or 1).
pub(super) fn indicator_shifts<'s>(
    spec: &'s DesignSpec,
    affected: &[usize],
    under: &[ColumnValues],
    beta: &[f64],
) -> Option<(&'s [u32], Vec<f64>)> {
    use crate::design::{Part, ResolvedAtom};
    let mut atom = None;
    let mut levels = Vec::with_capacity(affected.len());
    for (&j, v) in affected.iter().zip(under) {
        let (&[Part::Level(a, l)], ColumnValues::Const(_)) = (spec.columns[j].parts.as_slice(), v) else {
            return None;
        };
        if atom.is_some_and(|b| b != a) {
            return None;
        }
        atom = Some(a);
        levels.push(l);
    }
    let ResolvedAtom::Factor { codes, levels: names, .. } = &spec.atoms[atom?] else {
        return None;
    };
    let shift = (0..names.len())
        .map(|code| {
            let mut shift = 0.0;
            for ((&j, v), &l) in affected.iter().zip(under).zip(&levels) {
                let observed = f64::from(u8::from(code == l));
                shift += (v.at(0) - observed) * beta[j];
            }
            shift
        })
        .collect();
    Some((codes, shift))
}

/// True when design column `j` is the numeric variable `v` itself.
pub(super) fn is_identity_column(spec: &DesignSpec, j: usize, v: &str) -> bool {
    match spec.columns[j].parts.as_slice() {
        [crate::design::Part::Numeric(a)] => matches!(
            &spec.atoms[*a],
            crate::design::ResolvedAtom::Numeric { expr: crate::formula::Expr::Var(name), .. } if name == v
        ),
        _ => false,
    }
}

/// Where part `p`'s affected columns start among a level's sums of a set.
pub(super) fn level_acc(set: &AverageSet, f: &FactorPlan, u: &LevelUse, p: usize) -> usize {
    u.acc + 1 + set.relevant.iter().take_while(|&&q| q != p).map(|&q| f.affected[q].len()).sum::<usize>()
}

/// One set's sums for one factor level on a chunk, when every part the set reads has only
/// the factor's indicators: `sum w F^(l)`, the level's column `w g_p^(l)` of each `C_p`, and
/// the non-zero indicator's `sum w g_p^(l)` (the other indicators are 0 under the level).
pub(super) struct LevelSums<'a, 'b> {
    pub(super) set: &'a AverageSet<'a>,
    pub(super) lo: usize,
    pub(super) lvl: &'a [[(f64, f64, f64); 2]],
    pub(super) acc: &'b mut [f64],
    pub(super) c: &'b mut [Vec<f64>],
}

impl LevelSums<'_, '_> {
    /// `P` parts (`parts[..P]`), `col` their columns in `C_p`, `own` their non-zero indicator
    /// (accumulator, value), `value` F and its gradient from the row's evaluations. Each sum
    /// starts from the chunk's zero and adds the rows in order, as the general loop does.
    #[inline]
    pub(super) fn run<const P: usize>(
        self,
        parts: [usize; 2],
        col: [usize; 2],
        own: [Option<(usize, f64)>; 2],
        acc_f: usize,
        value: impl Fn(&[(f64, f64, f64); 2]) -> (f64, [f64; 2]),
    ) {
        let (set, lo) = (self.set, self.lo);
        let mut sf = 0.0;
        let mut so = [0.0; 2];
        // C of parts[0] and of parts[1] (P = 2: parts 0 and 1).
        let (c0, c1): (&mut [f64], &mut [f64]) = match self.c {
            [a] => (a, &mut []),
            [a, b] if parts[0] == 0 => (a, b),
            [a, b] => (b, a),
            _ => unreachable!("two parts at most"),
        };
        // The level's column of each (column-major, a chunk's rows long).
        let rows = self.lvl.len();
        let c0 = &mut c0[col[0] * rows..][..rows];
        let c1: &mut [f64] = if P == 2 { &mut c1[col[1] * rows..][..rows] } else { &mut [] };
        // The own indicators' values, 0 where there is none (that sum is then not used): no
        // branch per row.
        let x = own.map(|o| o.map_or(0.0, |(_, x)| x));
        let mut step = |r: usize, lv: &[(f64, f64, f64); 2], wi: f64| {
            let (fv, g) = value(lv);
            sf += wi * fv;
            let wg0 = wi * g[0];
            c0[r] = wg0;
            so[0] += wg0 * x[0];
            if P == 2 {
                let wg1 = wi * g[1];
                c1[r] = wg1;
                so[1] += wg1 * x[1];
            }
        };
        let w = &set.w[lo..lo + rows];
        match set.rows {
            None => self.lvl.iter().zip(w).enumerate().for_each(|(r, (lv, &wi))| step(r, lv, wi)),
            Some(mask) => {
                for (r, ((lv, &wi), &keep)) in self.lvl.iter().zip(w).zip(&mask[lo..lo + rows]).enumerate() {
                    if keep {
                        step(r, lv, wi);
                    }
                }
            }
        }
        self.acc[acc_f] += sf;
        for q in 0..P {
            if let Some((a, _)) = own[q] {
                self.acc[a] += so[q];
            }
        }
    }
}

/// Part `p`'s `(h, h', h'')` on a chunk's rows, into `out[r][p]`: at `eta + shift(r)` where the
/// shift is not zero, otherwise `base(r)` if given (the observed evaluation, for a factor level:
/// rows already at the level) or at `eta`. Dispatched once per chunk to the link's own code.
pub(super) fn eval_level(
    link: LinkKind,
    eta: &[f64],
    shift: impl Fn(usize) -> f64,
    out: &mut [[(f64, f64, f64); 2]],
    p: usize,
    base: impl Fn(usize) -> Option<(f64, f64, f64)>,
    skip: impl Fn(usize) -> bool,
) {
    pub(super) fn go<L: crate::model::Link + ?Sized>(
        link: &L,
        eta: &[f64],
        shift: impl Fn(usize) -> f64,
        out: &mut [[(f64, f64, f64); 2]],
        p: usize,
        base: impl Fn(usize) -> Option<(f64, f64, f64)>,
        skip: impl Fn(usize) -> bool,
    ) {
        for (r, (lv, &e)) in out.iter_mut().zip(eta).enumerate() {
            if skip(r) {
                continue;
            }
            let s = shift(r);
            lv[p] = match base(r) {
                Some(b) if s == 0.0 => b,
                _ => {
                    let v = link.eval(e + s);
                    (v.mu, v.d1, v.d2)
                }
            };
        }
    }
    use crate::model::link;
    match link {
        LinkKind::Probit => {
            // The rows to evaluate (those not already at the level) at once:
            // `Probit::eval_block` is vectorised and gives the same bits as `eval` row by row.
            // Per-thread scratch, reused from call to call.
            thread_local! {
                static SCRATCH: std::cell::RefCell<(Vec<f64>, Vec<link::LinkValues>, Vec<u32>)> =
                    const { std::cell::RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
            }
            SCRATCH.with_borrow_mut(|(t, v, at)| {
                t.clear();
                at.clear();
                for (r, (lv, &e)) in out.iter_mut().zip(eta).enumerate() {
                    if skip(r) {
                        continue;
                    }
                    let s = shift(r);
                    match base(r) {
                        Some(b) if s == 0.0 => lv[p] = b,
                        _ => {
                            t.push(e + s);
                            at.push(r as u32);
                        }
                    }
                }
                v.resize(t.len(), link::LinkValues::default());
                crate::model::Link::eval_block(&link::Probit, t, v);
                for (&r, v) in at.iter().zip(v.iter()) {
                    out[r as usize][p] = (v.mu, v.d1, v.d2);
                }
            });
        }
        LinkKind::Log => go(&link::Log, eta, shift, out, p, base, skip),
        LinkKind::Logit => go(&link::Logit, eta, shift, out, p, base, skip),
        other => go(other.link(), eta, shift, out, p, base, skip),
    }
}

/// A chunk's partial sums in the average pass: each set's scalars, each part's `X_p' C_p`.
pub(super) type ChunkSums = (Vec<Vec<f64>>, Vec<Vec<f64>>);

/// Per-thread scratch of the average pass, reused from chunk to chunk: a chunk writes every
/// entry it reads.
pub(super) struct AvgScratch {
    /// `C_p`, rows x (all sets' columns), column-major (a column is a chunk's rows long).
    pub(super) c: Vec<Vec<f64>>,
    /// Each row's `(h_p, h_p', h_p'')` at the observed data.
    pub(super) lvb: Vec<[(f64, f64, f64); 2]>,
    /// The same under a factor level.
    pub(super) lvl: Vec<[(f64, f64, f64); 2]>,
    /// Each part's mean `h_p` under a factor level on the live rows (estimates only:
    /// [`level_means`]).
    pub(super) levmu: [Vec<f64>; 2],
    /// The chunk's rows some set weighs (chunk-relative; estimates only).
    pub(super) idx: Vec<u32>,
}

/// Estimates only: each part's mean `h_p(eta + shift)` under a factor level on the chunk's
/// rows `idx` (chunk-relative: the rows some set weighs) into `out[p][j]` for `idx[j]`, when
/// every part the factor enters has only the factor's own indicators
/// ([`LevelColumns::Indicators`]). Parts the factor does not enter get their observed mean
/// (`lvb`). A probit part goes through the vectorised normal CDF, a log part multiplies the
/// observed mean by `exp(shift)` of the row's level (as the full pass does).
#[allow(clippy::too_many_arguments)]
pub(super) fn level_means(
    parts: &[PartEval],
    used: &[usize],
    xl: &[LevelColumns],
    eta: &[f64],
    p: usize,
    idx: &[u32],
    lvb: &[[(f64, f64, f64); 2]],
    out: &mut Vec<f64>,
) {
    debug_assert!(used.contains(&p));
    out.resize(idx.len(), 0.0);
    let LevelColumns::Indicators { codes, shift, .. } = &xl[p] else {
        // Not entered by the factor: the observed mean.
        out.iter_mut().zip(idx).for_each(|(o, &r)| *o = lvb[r as usize][p].0);
        return;
    };
    match parts[p].link {
        LinkKind::Log => {
            let factor: Vec<f64> = shift.iter().map(|s| s.exp()).collect();
            for (o, &r) in out.iter_mut().zip(idx) {
                let (r, mu) = (r as usize, lvb[r as usize][p].0);
                let code = codes[r] as usize;
                *o = if mu.is_normal() { mu * factor[code] } else { (eta[r] + shift[code]).exp() };
            }
        }
        LinkKind::Probit => {
            thread_local! {
                static T: std::cell::RefCell<[Vec<f64>; 3]> =
                    const { std::cell::RefCell::new([Vec::new(), Vec::new(), Vec::new()]) };
            }
            T.with_borrow_mut(|[t, up, pd]| {
                t.clear();
                t.extend(idx.iter().map(|&r| eta[r as usize] + shift[codes[r as usize] as usize]));
                up.resize(t.len(), 0.0);
                pd.resize(t.len(), 0.0);
                crate::stats::norm_tails_batch(t, out, up, pd);
            });
        }
        other => {
            let link = other.link();
            for (o, &r) in out.iter_mut().zip(idx) {
                *o = link.inverse(eta[r as usize] + shift[codes[r as usize] as usize]);
            }
        }
    }
}

/// `sum_j w[idx[j]] v_j` over the `j` with `keep(idx[j])`, in four interleaved partial sums
/// (added in a fixed order: the result depends on the data only).
#[inline]
pub(super) fn weighted_sum(idx: &[u32], w: &[f64], v: impl Fn(usize) -> f64, keep: impl Fn(usize) -> bool) -> f64 {
    let mut s = [0.0f64; 4];
    let n4 = idx.len() / 4 * 4;
    for j in (0..n4).step_by(4) {
        for l in 0..4 {
            let r = idx[j + l] as usize;
            s[l] += if keep(r) { w[r] * v(j + l) } else { 0.0 };
        }
    }
    for (j, &r) in idx.iter().enumerate().skip(n4) {
        let r = r as usize;
        if keep(r) {
            s[j - n4] += w[r] * v(j);
        }
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// `F`, its gradient and Hessian from each part's `(h, h', h'')` (as [`Target::eval`]).
#[inline]
pub(super) fn combine(target: Target, lv: &[(f64, f64, f64); 2]) -> Eval {
    match target {
        Target::Mean(p) => {
            let mut g = [0.0; 2];
            let mut h = [[0.0; 2]; 2];
            g[p] = lv[p].1;
            h[p][p] = lv[p].2;
            (lv[p].0, g, h)
        }
        Target::Product => {
            let (a, a1, a2) = lv[0];
            let (b, b1, b2) = lv[1];
            (a * b, [a1 * b, a * b1], [[a2 * b, a1 * b1], [a1 * b1, a * b2]])
        }
    }
}
