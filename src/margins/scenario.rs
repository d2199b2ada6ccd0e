//! Effects at the means or at given values: the per-effect scenario evaluation.

use super::*;
use crate::design::{DesignSpec, FactorSetting, Scenario};
use ndarray::ArrayView2;

/// Rows per parallel chunk, and effects per batch (bounds the n x batch scratch matrix).
pub(super) const CHUNK: usize = 4096;
pub(super) const BATCH: usize = 16;

pub(super) type Eval = (f64, [f64; 2], [[f64; 2]; 2]);

/// One scenario of a request, evaluated on the rows.
pub(super) struct ScenarioRows {
    pub(super) sign: f64,
    /// True when every part's linear index equals the observed one (derivatives without
    /// fixed variables): the shared base evaluation applies.
    pub(super) at_base: bool,
    /// Linear index per part under the scenario (`None` = the observed one).
    pub(super) eta: Vec<Option<Vec<f64>>>,
    /// d eta / d v per part (zeros for discrete changes).
    pub(super) deta: Vec<Vec<f64>>,
}

/// A request with its scenarios and the affected columns' values under each.
pub(super) struct Prepared {
    pub(super) derivative: bool,
    pub(super) scenarios: Vec<ScenarioRows>,
    /// Affected columns per part.
    pub(super) affected: Vec<Vec<usize>>,
    /// [scenario][part][affected column][row]
    pub(super) cols: Vec<Vec<Vec<Vec<crate::formula::Dual>>>>,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn prepare<'s>(
    req: &Request,
    base: &Scenario,
    parts: &[PartEval],
    spec_of: &dyn Fn(usize) -> &'s DesignSpec,
    xs: &[ArrayView2<f64>],
    eta_base: &[Vec<f64>],
    rows_n: usize,
    base_fixed: bool,
) -> Prepared {
    let scenarios: Vec<(Scenario, f64)> = match &req.kind {
        Kind::Derivative(v) => {
            let mut s = base.clone();
            s.wrt = Some(v.clone());
            vec![(s, 1.0)]
        }
        Kind::Discrete { var, level, reference } => {
            let mut a = base.clone();
            a.factors.insert(var.clone(), FactorSetting::Level(*level));
            let mut b = base.clone();
            b.factors.insert(var.clone(), FactorSetting::Level(*reference));
            vec![(a, 1.0), (b, -1.0)]
        }
    };
    let derivative = matches!(req.kind, Kind::Derivative(_));
    let affected: Vec<Vec<usize>> = parts
        .iter()
        .enumerate()
        .map(|(p, part)| {
            let spec = spec_of(p);
            (0..part.beta.len()).filter(|&j| scenarios.iter().any(|(s, _)| spec.column_affected(j, s))).collect()
        })
        .collect();
    let mut rows = Vec::new();
    let mut cols = Vec::new();
    for (s, sign) in &scenarios {
        let mut eta = Vec::new();
        let mut deta = Vec::new();
        let mut cs = Vec::new();
        for (p, part) in parts.iter().enumerate() {
            let c = spec_of(p).columns_under(&affected[p], s);
            let mut d = vec![0.0; rows_n];
            let mut shift = vec![0.0; rows_n];
            let mut moved = false;
            let k = part.beta.len();
            let xp = xs[p].as_slice().expect("designs are row-major");
            for (a, &j) in affected[p].iter().enumerate() {
                let b = part.beta[j];
                for ((i, cv), (sh, dd)) in c[a].iter().enumerate().zip(shift.iter_mut().zip(d.iter_mut())) {
                    let delta = cv.v - xp[i * k + j];
                    moved |= delta != 0.0;
                    *sh += delta * b;
                    *dd += cv.d * b;
                }
            }
            eta.push(if moved { Some(eta_base[p].iter().zip(&shift).map(|(e, s)| e + s).collect()) } else { None });
            deta.push(d);
            cs.push(c);
        }
        let at_base = !base_fixed && eta.iter().all(Option::is_none);
        rows.push(ScenarioRows { sign: *sign, at_base, eta, deta });
        cols.push(cs);
    }
    Prepared { derivative, scenarios: rows, affected, cols }
}
