//! Predictive margins (Stata's `margins scope`, marginaleffects' `avg_predictions`), their
//! contrasts (Stata's `pw.`, `r.`, `ar.` operators), and at-grids (Stata's `at()` numlists).
//!
//! A predictive margin is the weighted average prediction with every row set to a scenario
//! (a factor level, a combination of levels, and/or at-grid values):
//! `PM_s = sum_i w_i F(eta_i^(s)) / W`, with `eta_p^(s) = X_p^(s) b_p`. Its Jacobian is
//! `dPM_s/db_p = X_p^(s)' (w g_p^(s)) / W` with `g_p = dF/deta_p`; the delta-method variance
//! is `J V J'` with the model's variance (Stata's default `vce(delta)`, conditional on the
//! covariates; robust, cluster or survey `V` as estimated). A contrast `PM_a - PM_b` has
//! Jacobian `J_a - J_b`. Weights are the estimation weights (Stata's margins; marginaleffects
//! `wts=`). With [`MarginsVce::Unconditional`] the same pass adds each scenario's `w F` per
//! design unit, and SEs, contrasts and tests read the unconditional covariance instead
//! (`vce.rs`). One pass over the rows per batch of scenarios: the linear index moves only in the
//! columns a scenario affects, and the `X' C` product covers all scenarios of the batch.

use super::*;
use crate::output::Prediction;

/// Which pairs of levels a contrast compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContrastKind {
    /// Every pair `l > m`: `l - m` (Stata's `pw.`).
    Pairwise,
    /// Every level against the reference (Stata's `r.`).
    Reference,
    /// Every level against the previous one (Stata's `ar.`).
    Adjacent,
}

/// Multiple-comparison adjustment of the p-values (and of the intervals for Bonferroni and
/// Sidak) within one family: the contrasts of one variable at one grid point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjust {
    Bonferroni,
    Holm,
    Sidak,
}

impl Adjust {
    pub fn parse(s: &str) -> Result<Adjust> {
        match s {
            "bonferroni" => Ok(Adjust::Bonferroni),
            "holm" => Ok(Adjust::Holm),
            "sidak" => Ok(Adjust::Sidak),
            other => Err(usage(format!("unknown --mcompare '{other}' (expected bonferroni, holm or sidak)"))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Adjust::Bonferroni => "Bonferroni",
            Adjust::Holm => "Holm",
            Adjust::Sidak => "Sidak",
        }
    }
}

/// What is asked after the fit, besides the marginal effects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostRequest {
    /// Factor variables whose levels (or level combinations) get predictive margins.
    pub predict: Vec<String>,
    /// Contrasts of a factor's predictive margins.
    pub contrasts: Vec<(String, ContrastKind)>,
    pub mcompare: Option<Adjust>,
    /// At-grid points (`var`, value text), the product of the `--at` numlists; empty: none.
    pub grid: Vec<Vec<(String, String)>>,
    /// `--over VAR`: effects within each group's rows (Stata's `over()`).
    pub over: Option<String>,
    /// `--dydx VARS`: the effects of these variables only (Stata's `dydx(varlist)`); empty: all.
    pub dydx: Vec<String>,
    /// `--margins-scale`: the effects as derivatives (default) or (semi-)elasticities.
    pub scale: super::MarginsScale,
    /// `--margins-vce`: the margins' variance, delta (default) or unconditional.
    pub vce: super::MarginsVceKind,
}

impl PostRequest {
    pub fn is_empty(&self) -> bool {
        self.predict.is_empty() && self.contrasts.is_empty()
    }

    /// Parses `--predict-margins VAR[,VAR]`.
    pub fn parse_predict(s: &str) -> Result<Vec<String>> {
        let vars: Vec<String> = s.split(',').map(|v| v.trim().to_string()).collect();
        if vars.iter().any(String::is_empty) {
            return Err(usage(format!("predict-margins: expected VAR or VAR,VAR, found '{s}'")));
        }
        Ok(vars)
    }

    /// Parses `--contrast VAR:pairwise|reference|adjacent` (several separated by `;`).
    pub fn parse_contrasts(s: &str) -> Result<Vec<(String, ContrastKind)>> {
        s.split(';')
            .filter(|c| !c.trim().is_empty())
            .map(|c| {
                let (var, kind) = c.split_once(':').unwrap_or((c, "pairwise"));
                let var = var.trim();
                if var.is_empty() {
                    return Err(usage(format!("contrast: expected VAR:pairwise|reference|adjacent, found '{c}'")));
                }
                let kind = match kind.trim() {
                    "pairwise" | "pw" => ContrastKind::Pairwise,
                    "reference" | "r" => ContrastKind::Reference,
                    "adjacent" | "ar" => ContrastKind::Adjacent,
                    other => {
                        return Err(usage(format!(
                            "contrast: unknown kind '{other}' for {var} (expected pairwise, reference or adjacent)"
                        )))
                    }
                };
                Ok((var.to_string(), kind))
            })
            .collect()
    }
}

/// `--predict-margins _cons`: the overall predictive margin (Stata's `margins` without a
/// varlist, labelled `_cons`), at each point of an at-grid (`margins, at(age=(20(10)60))`).
pub const OVERALL: &str = "_cons";

/// One average prediction under a scenario: its label, grid point, estimate and Jacobian.
pub struct Average {
    pub term: String,
    pub at: Vec<(String, String)>,
    pub estimate: f64,
    pub jac: Vec<f64>,
    /// The own linearization per unit (unconditional variance; empty otherwise).
    pub own: Vec<f64>,
}

/// The predictions and contrasts of one prediction target.
pub struct PredictionsResult {
    pub predictions: Vec<Prediction>,
    pub contrasts: Vec<Prediction>,
    pub notes: Vec<String>,
    /// The families of `--mcompare` (the contrasts of one variable at one grid point), as
    /// ranges of `contrasts`, with the adjustment (`None`: none asked for).
    pub families: Vec<std::ops::Range<usize>>,
    pub mcompare: Option<Adjust>,
}

/// Looks a variable up among the parts' factors: by data name or by its text (`C(scope)`).
fn find_factor(factors: &[FactorVar], name: &str) -> Option<usize> {
    factors.iter().position(|f| f.0 == name || f.1 == name)
}

fn factors_of(parts: &[PartEval], relevant: &[usize]) -> Vec<FactorVar> {
    let mut factors: Vec<FactorVar> = Vec::new();
    for &p in relevant {
        for f in parts[p].spec.factor_variables() {
            if !factors.iter().any(|g| g.0 == f.0) {
                factors.push(f);
            }
        }
    }
    factors
}

/// Checks a variable named in `--predict-margins`/`--contrast`/`--at` against the parts of a
/// model: a factor, or (for `--at`) a numeric variable.
pub fn check_variables(parts: &[PartEval], post: &PostRequest) -> Result<()> {
    let all: Vec<usize> = (0..parts.len()).collect();
    let factors = factors_of(parts, &all);
    let numeric = |v: &str| parts.iter().any(|p| p.spec.values.contains_key(v));
    if post.predict.iter().any(|v| v == OVERALL) && post.predict.len() > 1 {
        return Err(usage(format!(
            "predict-margins: {OVERALL} (the overall predictive margin, Stata's `margins` without a varlist) stands alone, not with factors"
        )));
    }
    for (v, what) in post
        .predict
        .iter()
        .filter(|v| *v != OVERALL)
        .map(|v| (v, "predict-margins"))
        .chain(post.contrasts.iter().map(|(v, _)| (v, "contrast")))
    {
        if find_factor(&factors, v).is_none() {
            return Err(usage(if numeric(v) {
                format!("{what}: '{v}' is not a factor of the model (predictive margins and contrasts are by the levels of a factor; wrap it in C() or use --at {v}=...)")
            } else {
                format!("{what}: '{v}' is not a variable of the model")
            }));
        }
    }
    for point in post.grid.iter().take(1) {
        for (v, value) in point {
            if let Some(fi) = find_factor(&factors, v) {
                let (_, text, levels, _) = &factors[fi];
                if !levels.iter().any(|l| &l.name == value) {
                    return Err(usage(format!(
                        "at: '{value}' is not a level of {text} (levels: {})",
                        levels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", ")
                    )));
                }
            } else if !numeric(v) {
                return Err(usage(format!("at: '{v}' is not a variable of the model")));
            }
        }
    }
    for point in &post.grid {
        for (v, value) in point {
            if find_factor(&factors, v).is_none() && !value.parse::<f64>().is_ok_and(f64::is_finite) {
                return Err(usage(format!("at: '{v}={value}': the value must be a number")));
            }
        }
    }
    Ok(())
}

/// The scenario of a grid point (numeric values and factor levels).
fn grid_scenario(factors: &[FactorVar], point: &[(String, String)]) -> Scenario {
    let mut s = Scenario::default();
    for (v, value) in point {
        match find_factor(factors, v) {
            Some(fi) => {
                let l = factors[fi].2.iter().position(|l| &l.name == value).expect("checked level");
                s.factors.insert(factors[fi].0.clone(), FactorSetting::Level(l));
            }
            // A variable of another part (a two-part model's): no column of these parts moves.
            None => {
                if let Ok(x) = value.parse() {
                    s.numeric.insert(v.clone(), x);
                }
            }
        }
    }
    s
}

/// Predictive margins and contrasts of `target` over the evaluation rows of `parts`, averaged
/// with `weights`; `vcov` the variance of the stacked parameters, `df` the t degrees of freedom
/// (survey designs). The variables are checked first ([`check_variables`], against all parts
/// of the model); a factor missing from these parts gets a note.
pub fn predictions<'v>(
    parts: &[PartEval],
    target: Target,
    weights: Option<&[f64]>,
    post: &PostRequest,
    vcov: impl Into<MarginsVce<'v>>,
    level: f64,
    df: Option<f64>,
) -> Result<PredictionsResult> {
    predictions_inner(parts, target, weights, post, Some(vcov.into()), level, df)
}

/// The estimates of [`predictions`]' margins and contrasts only (standard errors 0, no
/// Jacobians: the scenario averages skip the `X' C` products), the same terms in the same
/// order: what a bootstrap replicate recomputes with its coefficients and weights.
pub fn prediction_estimates(
    parts: &[PartEval],
    target: Target,
    weights: Option<&[f64]>,
    post: &PostRequest,
) -> Result<PredictionsResult> {
    predictions_inner(parts, target, weights, post, None, 95.0, None)
}

fn predictions_inner(
    parts: &[PartEval],
    target: Target,
    weights: Option<&[f64]>,
    post: &PostRequest,
    vce: Option<MarginsVce>,
    level: f64,
    df: Option<f64>,
) -> Result<PredictionsResult> {
    let relevant: Vec<usize> = match target {
        Target::Mean(p) => vec![p],
        Target::Product => (0..parts.len()).collect(),
    };
    let factors = factors_of(parts, &relevant);
    // A scenario sets a factor by level index: the parts must index the same levels.
    let asked = |f: &FactorVar| {
        post.predict.iter().chain(post.contrasts.iter().map(|c| &c.0)).any(|v| v == &f.0 || v == &f.1)
            || post.grid.iter().flatten().any(|(v, _)| v == &f.0 || v == &f.1)
    };
    for (var, text, levels, _) in factors.iter().filter(|f| asked(f)) {
        for &p in &relevant {
            if let Some((_, _, other, _)) = parts[p].spec.factor_variables().into_iter().find(|f| &f.0 == var) {
                if other.iter().map(|l| &l.name).ne(levels.iter().map(|l| &l.name)) {
                    return Err(usage(format!(
                        "{text} has different levels in the two parts' estimation samples ({} against {}): predictive margins of the combined E[y] need the same levels in both",
                        levels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", "),
                        other.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", ")
                    )));
                }
            }
        }
    }
    let mut notes = Vec::new();
    // The levels with observations in the estimation sample (a level whose rows were all
    // dropped, e.g. for perfect prediction, has no coefficient to predict with).
    let observed = |fi: usize| -> Vec<usize> {
        let codes = relevant.iter().find_map(|&p| parts[p].spec.factor_codes(&factors[fi].0)).expect("factor");
        let mut seen = vec![false; factors[fi].2.len()];
        codes.iter().for_each(|&c| seen[c as usize] = true);
        (0..seen.len()).filter(|&l| seen[l]).collect()
    };
    for v in &post.predict {
        if let Some(fi) = find_factor(&factors, v) {
            if observed(fi).len() < factors[fi].2.len() {
                notes.push(format!(
                    "predictive margins of {}: levels without observations in the estimation sample are left out",
                    factors[fi].1
                ));
            }
        }
    }
    let grid: Vec<Vec<(String, String)>> = if post.grid.is_empty() { vec![Vec::new()] } else { post.grid.clone() };
    // The scenarios: per grid point, each level combination of the predicted factors, then
    // each level of the contrasted factors (reusing the predicted ones when they coincide).
    let mut scen: Vec<(Average, Scenario)> = Vec::new();
    let mut wanted: Vec<Vec<usize>> = Vec::new();
    // (grid point, var index in factors) -> indices into scen by level.
    let mut by_level: Vec<(usize, usize, Vec<Option<usize>>)> = Vec::new();
    for (gi, point) in grid.iter().enumerate() {
        let base = grid_scenario(&factors, point);
        let mut printed = Vec::new();
        let overall = post.predict.iter().any(|v| v == OVERALL);
        let pvars: Vec<usize> = post.predict.iter().filter_map(|v| find_factor(&factors, v)).collect();
        if overall {
            // Stata's `margins, at(...)`: the average prediction at the grid point (or at the
            // data without a grid).
            printed.push(scen.len());
            scen.push((
                Average { term: OVERALL.into(), at: point.clone(), estimate: 0.0, jac: Vec::new(), own: Vec::new() },
                base.clone(),
            ));
        } else if !post.predict.is_empty() && pvars.len() < post.predict.len() {
            notes.push(format!(
                "predictive margins: {} not in this part's formula; not computed here",
                post.predict
                    .iter()
                    .filter(|v| find_factor(&factors, v).is_none())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !pvars.is_empty() && pvars.len() == post.predict.len() {
            let mut combos: Vec<Vec<usize>> = vec![Vec::new()];
            for &fi in &pvars {
                let seen = observed(fi);
                combos =
                    combos.into_iter().flat_map(|c| seen.iter().map(move |&l| [c.clone(), vec![l]].concat())).collect();
            }
            for combo in combos {
                let mut s = base.clone();
                let mut names = Vec::new();
                for (&fi, &l) in pvars.iter().zip(&combo) {
                    s.factors.insert(factors[fi].0.clone(), FactorSetting::Level(l));
                    names.push(format!("{}[{}]", factors[fi].1, factors[fi].2[l].name));
                }
                printed.push(scen.len());
                scen.push((
                    Average {
                        term: names.join(":"),
                        at: point.clone(),
                        estimate: 0.0,
                        jac: Vec::new(),
                        own: Vec::new(),
                    },
                    s,
                ));
            }
        }
        wanted.push(printed);
        for (v, _) in &post.contrasts {
            let Some(fi) = find_factor(&factors, v) else { continue };
            if by_level.iter().any(|b| b.0 == gi && b.1 == fi) {
                continue;
            }
            let nl = factors[fi].2.len();
            let mut idx = vec![None; nl];
            for (l, slot) in idx.iter_mut().enumerate() {
                let term = format!("{}[{}]", factors[fi].1, factors[fi].2[l].name);
                if let Some(j) = wanted[gi].iter().copied().find(|&j| scen[j].0.term == term) {
                    *slot = Some(j);
                    continue;
                }
                let mut s = base.clone();
                s.factors.insert(factors[fi].0.clone(), FactorSetting::Level(l));
                *slot = Some(scen.len());
                scen.push((Average { term, at: point.clone(), estimate: 0.0, jac: Vec::new(), own: Vec::new() }, s));
            }
            by_level.push((gi, fi, idx));
        }
    }
    let scenarios: Vec<Scenario> = scen.iter().map(|s| s.1.clone()).collect();
    let units = vce.and_then(|v| v.units());
    let sums = average_scenarios(parts, target, &relevant, weights, &scenarios, vce.is_some(), units);
    for ((a, _), (e, j, own)) in scen.iter_mut().zip(sums) {
        a.estimate = e;
        a.jac = j;
        a.own = own;
    }
    let finish =
        |term: String, at: &[(String, String)], estimate: f64, jac: &[f64], own: Vec<f64>| -> Result<Prediction> {
            let se = match vce {
                Some(v) => v.se(jac, &own)?,
                None => 0.0,
            };
            let mut p = Prediction::new(term, at, estimate, se, level, df);
            p.jacobian = jac.to_vec();
            p.linearized = own;
            Ok(p)
        };
    let mut predictions = Vec::new();
    for printed in &wanted {
        for &j in printed {
            let a = &scen[j].0;
            predictions.push(finish(a.term.clone(), &a.at, a.estimate, &a.jac, a.own.clone())?);
        }
    }
    let mut contrasts = Vec::new();
    let mut families = Vec::new();
    for (gi, _) in grid.iter().enumerate() {
        for (v, kind) in &post.contrasts {
            let Some(fi) = find_factor(&factors, v) else { continue };
            let idx = &by_level.iter().find(|b| b.0 == gi && b.1 == fi).expect("levels planned").2;
            let reference = factors[fi].3;
            let observed = observed(fi);
            if observed.len() < idx.len() {
                notes.push(format!(
                    "contrasts of {}: levels without observations in the estimation sample are left out",
                    factors[fi].1
                ));
            }
            let pairs: Vec<(usize, usize)> = match kind {
                ContrastKind::Pairwise => observed
                    .iter()
                    .enumerate()
                    .flat_map(|(b, &m)| observed[b + 1..].iter().map(move |&l| (l, m)))
                    .collect(),
                ContrastKind::Reference => {
                    observed.iter().filter(|&&l| l != reference).map(|&l| (l, reference)).collect()
                }
                ContrastKind::Adjacent => observed.windows(2).map(|w| (w[1], w[0])).collect(),
            };
            let start = contrasts.len();
            for (l, m) in pairs {
                let (a, b) = (&scen[idx[l].expect("level")].0, &scen[idx[m].expect("level")].0);
                let jac: Vec<f64> = a.jac.iter().zip(&b.jac).map(|(x, y)| x - y).collect();
                let own: Vec<f64> = a.own.iter().zip(&b.own).map(|(x, y)| x - y).collect();
                contrasts.push(finish(format!("{} - {}", a.term, b.term), &a.at, a.estimate - b.estimate, &jac, own)?);
            }
            families.push(start..contrasts.len());
            if let (Some(adj), Some(_)) = (post.mcompare, vce) {
                adjust(&mut contrasts[start..], adj, level, df);
            }
        }
    }
    if let Some(adj) = post.mcompare {
        if !contrasts.is_empty() {
            notes.push(format!(
                "contrasts: p-values adjusted for multiple comparisons ({}) within each variable{}{}",
                adj.name(),
                if post.grid.is_empty() { "" } else { " and grid point" },
                if adj == Adjust::Holm { "; intervals not adjusted" } else { ", intervals too" }
            ));
        }
    }
    Ok(PredictionsResult { predictions, contrasts, notes, families, mcompare: post.mcompare })
}

/// Adjusts a family's p-values (Bonferroni `min(1, m p)`, Sidak `1 - (1 - p)^m`, Holm's
/// step-down `max_{j <= i} min(1, (m - j + 1) p_(j))`) and, for Bonferroni and Sidak, the
/// intervals (level `1 - alpha/m`, `(1 - alpha)^(1/m)`), as Stata's `mcompare()`.
fn adjust(family: &mut [Prediction], adj: Adjust, level: f64, df: Option<f64>) {
    if let Some(level_adj) = adj.interval_level(level, family.len()) {
        for c in family.iter_mut() {
            let (_, _, lo, hi) = crate::inference::statistics(c.estimate, c.std_error, level_adj, df);
            c.conf_low = lo;
            c.conf_high = hi;
        }
    }
    adj.p_values(family);
}

impl Adjust {
    /// The level of a family of `m` intervals: `1 - alpha/m` (Bonferroni), `(1 - alpha)^(1/m)`
    /// (Sidak); `None` when the intervals are not adjusted (Holm, or one contrast).
    pub fn interval_level(self, level: f64, m: usize) -> Option<f64> {
        let alpha = 1.0 - level / 100.0;
        let mf = m as f64;
        match self {
            _ if m <= 1 => None,
            Adjust::Bonferroni => Some(100.0 * (1.0 - alpha / mf)),
            Adjust::Sidak => Some(100.0 * (1.0 - alpha).powf(1.0 / mf)),
            Adjust::Holm => None,
        }
    }

    /// Adjusts the unadjusted p-values of a family in place.
    pub fn p_values(self, family: &mut [Prediction]) {
        let m = family.len() as f64;
        if family.len() <= 1 {
            return;
        }
        match self {
            Adjust::Bonferroni => family.iter_mut().for_each(|c| c.p_value = (c.p_value * m).min(1.0)),
            Adjust::Sidak => family.iter_mut().for_each(|c| c.p_value = 1.0 - (1.0 - c.p_value).powf(m)),
            Adjust::Holm => {
                let mut order: Vec<usize> = (0..family.len()).collect();
                order.sort_by(|&a, &b| family[a].p_value.total_cmp(&family[b].p_value).then(a.cmp(&b)));
                let mut running: f64 = 0.0;
                for (j, &i) in order.iter().enumerate() {
                    running = running.max(((m - j as f64) * family[i].p_value).min(1.0));
                    family[i].p_value = running;
                }
            }
        }
    }
}

/// Rows per parallel chunk and scenarios per batch (bound the chunk's rows x batch scratch).
const ROWS: usize = 2048;
const SCEN_BATCH: usize = 16;

/// The weighted average of `target` under each scenario and its Jacobian in the stacked
/// parameters (zero for parts the target does not use; empty without `jacobian`, when the
/// `X' C` products and the changed columns' sums are skipped).
///
/// One pass over row chunks per batch of scenarios. On a chunk, each scenario's linear indices
/// are the observed ones plus `sum_a (v_a - x_a) b_a` over the columns the scenario changes
/// (`v_a` the column's value under the scenario: a constant for a factor level or an at-value,
/// per row for interactions); the inverse links are evaluated a block at a time (the probit's
/// vectorised CDF and density); then `sum w F`, the columns `w g_p` of the chunk's `C_p` and the
/// changed columns' `sum w g_p v_a`. `X_p' C_p` is one product per chunk and part; partial sums
/// are added in chunk order, so results do not depend on the number of threads. Memory: the
/// chunk's scratch only (no N x scenarios arrays).
pub(super) fn average_scenarios(
    parts: &[PartEval],
    target: Target,
    relevant: &[usize],
    weights: Option<&[f64]>,
    scenarios: &[Scenario],
    jacobian: bool,
    units: Option<(&[u32], usize)>,
) -> Vec<(f64, Vec<f64>, Vec<f64>)> {
    use crate::design::ColumnValues;
    use crate::model::link::LinkValues;
    let n = parts[0].x.nrows();
    let np = parts.len();
    let kx: Vec<usize> = parts.iter().map(|p| p.beta.len()).collect();
    let w_all: std::borrow::Cow<[f64]> = weights.map_or_else(|| vec![1.0; n].into(), |w| w.into());
    let wsum: f64 = w_all.iter().sum();
    let eta: Vec<std::borrow::Cow<[f64]>> = parts.iter().map(PartEval::linear_index).collect();
    let xsl: Vec<&[f64]> = parts.iter().map(|p| p.x.as_slice().expect("designs are row-major")).collect();
    let mut out = Vec::with_capacity(scenarios.len());
    for batch in scenarios.chunks(SCEN_BATCH) {
        let nb = batch.len();
        // Per scenario and part: the columns the scenario changes.
        let affected: Vec<Vec<Vec<usize>>> = batch
            .iter()
            .map(|s| {
                (0..np)
                    .map(|p| {
                        if !relevant.contains(&p) {
                            return Vec::new();
                        }
                        (0..kx[p]).filter(|&j| parts[p].spec.column_affected(j, s)).collect()
                    })
                    .collect()
            })
            .collect();
        let n_chunks = n.div_ceil(ROWS).max(1);
        // Per chunk: per scenario the estimate sum and per part the changed columns' sums; per
        // part X' C (nb x k, row-major: a scenario's column after another).
        type Chunk = (Vec<(f64, Vec<Vec<f64>>, UnitRuns)>, Vec<Vec<f64>>);
        let partials: Vec<Chunk> = (0..n_chunks)
            .into_par_iter()
            .map(|ci| {
                let lo = ci * ROWS;
                let hi = (lo + ROWS).min(n);
                let rows = hi - lo;
                // C_p: rows x nb, column-major (a scenario's column is the chunk's rows long).
                let mut c: Vec<Vec<f64>> =
                    (0..np).map(|p| if relevant.contains(&p) { vec![0.0; rows * nb] } else { Vec::new() }).collect();
                let mut t = vec![0.0; rows];
                let mut lv: [Vec<LinkValues>; 2] = [Vec::new(), Vec::new()];
                // Design columns of the chunk the scenarios change, read once.
                let mut xcol: std::collections::HashMap<(usize, usize), Vec<f64>> = Default::default();
                let sums = batch
                    .iter()
                    .zip(&affected)
                    .enumerate()
                    .map(|(r, (s, aff))| {
                        let mut cols: Vec<Vec<ColumnValues>> = vec![Vec::new(); np];
                        for &p in relevant {
                            cols[p] = aff[p].iter().map(|&j| parts[p].spec.column_values_rows(j, s, lo..hi)).collect();
                            let (k, beta, xp) = (kx[p], parts[p].beta, &xsl[p][lo * kx[p]..hi * kx[p]]);
                            if let Some((codes, shift)) = indicator_shifts(parts[p].spec, &aff[p], &cols[p], beta) {
                                // A factor level: the change depends only on the row's level
                                // (the same sum as below, without reading the design).
                                for (ti, (e, &code)) in t.iter_mut().zip(eta[p][lo..hi].iter().zip(&codes[lo..hi])) {
                                    *ti = e + shift[code as usize];
                                }
                            } else {
                                t.copy_from_slice(&eta[p][lo..hi]);
                                // Column by column (each design column read once per chunk from
                                // the cache), the same additions in the same order per row.
                                for (a, &j) in aff[p].iter().enumerate() {
                                    let xj = xcol
                                        .entry((p, j))
                                        .or_insert_with(|| xp.chunks_exact(k).map(|xi| xi[j]).collect::<Vec<f64>>());
                                    let (col, b) = (&cols[p][a], beta[j]);
                                    match col {
                                        ColumnValues::Const(v) => {
                                            t.iter_mut().zip(xj.iter()).for_each(|(ti, x)| *ti += (v - x) * b)
                                        }
                                        _ => t
                                            .iter_mut()
                                            .zip(xj.iter())
                                            .enumerate()
                                            .for_each(|(i, (ti, x))| *ti += (col.at(i) - x) * b),
                                    }
                                }
                            }
                            lv[p].resize(rows, LinkValues::default());
                            crate::model::Link::eval_block(parts[p].link.link(), &t, &mut lv[p]);
                        }
                        // sum w F, and each part's column w g_p of C_p.
                        let w = &w_all[lo..hi];
                        let mut est = 0.0;
                        let mut runs = UnitRuns::default();
                        match target {
                            Target::Mean(p) => {
                                let cp = &mut c[p][r * rows..(r + 1) * rows];
                                for ((cp, v), &wi) in cp.iter_mut().zip(&lv[p]).zip(w) {
                                    est += wi * v.mu;
                                    *cp = wi * v.d1;
                                }
                                if let Some((u, _)) = units {
                                    for ((&ui, v), &wi) in u[lo..hi].iter().zip(&lv[p]).zip(w) {
                                        runs.push(ui, wi * v.mu);
                                    }
                                }
                            }
                            Target::Product => {
                                let (c0, c1) = c.split_at_mut(1);
                                let c0 = &mut c0[0][r * rows..(r + 1) * rows];
                                let c1 = &mut c1[0][r * rows..(r + 1) * rows];
                                for i in 0..rows {
                                    let (u, v, wi) = (&lv[0][i], &lv[1][i], w[i]);
                                    est += wi * (u.mu * v.mu);
                                    c0[i] = wi * (u.d1 * v.mu);
                                    c1[i] = wi * (u.mu * v.d1);
                                }
                                if let Some((units, _)) = units {
                                    for i in 0..rows {
                                        runs.push(units[lo + i], w[i] * (lv[0][i].mu * lv[1][i].mu));
                                    }
                                }
                            }
                        }
                        // The changed columns' sum w g_p v.
                        let jac: Vec<Vec<f64>> = (0..np)
                            .map(|p| {
                                if !relevant.contains(&p) || !jacobian {
                                    return Vec::new();
                                }
                                let cp = &c[p][r * rows..(r + 1) * rows];
                                cols[p]
                                    .iter()
                                    .map(|col| match col {
                                        ColumnValues::Const(x) => *x * cp.iter().sum::<f64>(),
                                        _ => cp.iter().enumerate().map(|(i, wg)| wg * col.at(i)).sum(),
                                    })
                                    .collect()
                            })
                            .collect();
                        (est, jac, runs)
                    })
                    .collect();
                let xtc = (0..np)
                    .map(|p| {
                        let k = kx[p];
                        let mut out = vec![0.0; k * nb];
                        if relevant.contains(&p) && jacobian {
                            // X' C row by row (nb is small: no packing), scenario-major.
                            let xp = &xsl[p][lo * k..hi * k];
                            for (i, xi) in xp.chunks_exact(k.max(1)).enumerate() {
                                for (r, o) in out.chunks_exact_mut(k.max(1)).enumerate() {
                                    let ci = c[p][r * rows + i];
                                    for (o, &x) in o.iter_mut().zip(xi) {
                                        *o += ci * x;
                                    }
                                }
                            }
                        }
                        out
                    })
                    .collect();
                (sums, xtc)
            })
            .collect();
        for (r, aff) in affected.iter().enumerate() {
            let mut est = 0.0;
            let mut jac: Vec<Vec<f64>> = kx.iter().map(|&k| vec![0.0; k]).collect();
            let mut affsum: Vec<Vec<f64>> = aff.iter().map(|a| vec![0.0; a.len()]).collect();
            // In chunk order: deterministic for any number of threads.
            for (sums, xtc) in &partials {
                est += sums[r].0;
                for &p in relevant {
                    for (jk, x) in jac[p].iter_mut().zip(&xtc[p][r * kx[p]..(r + 1) * kx[p]]) {
                        *jk += x;
                    }
                    for (a, v) in affsum[p].iter_mut().zip(&sums[r].1[p]) {
                        *a += v;
                    }
                }
            }
            for p in 0..np {
                for (a, &j) in aff[p].iter().enumerate() {
                    jac[p][j] = affsum[p][a];
                }
            }
            if !jacobian {
                // Estimates only (a bootstrap replicate): no Jacobian.
                out.push((est / wsum, Vec::new(), Vec::new()));
                continue;
            }
            let own = match units {
                Some((u, g)) => {
                    let mut sums = vec![0.0; g];
                    partials.iter().for_each(|(s, _)| s[r].2.add_into(&mut sums));
                    own_linearization(sums, est / wsum, u, &w_all, wsum)
                }
                None => Vec::new(),
            };
            out.push((est / wsum, jac.into_iter().flatten().map(|v| v / wsum).collect(), own));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numlists() {
        assert_eq!(numlist("20(10)60").unwrap(), ["20", "30", "40", "50", "60"]);
        assert_eq!(numlist("0 1").unwrap(), ["0", "1"]);
        assert_eq!(numlist("1/3 7").unwrap(), ["1", "2", "3", "7"]);
        assert_eq!(numlist("0.1(0.1)0.3").unwrap(), ["0.1", "0.2", "0.3"]);
        assert_eq!(numlist("60(-20)20").unwrap(), ["60", "40", "20"]);
        assert!(numlist("20(0)60").is_err());
        assert!(numlist("20(10").is_err());
        assert!(numlist("a(1)3").is_err());
        assert!(numlist("3/1").is_err());
        assert!(numlist("").is_err());
    }

    #[test]
    fn grids() {
        let g = parse_grid("age=20(20)60; female=0 1").unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(g[1], vec![("age".to_string(), "20".to_string()), ("female".to_string(), "1".to_string())]);
        assert!(parse_grid("age").is_err());
        assert!(parse_grid("age=1; age=2").is_err());
    }

    #[test]
    fn holm_and_bonferroni() {
        let mk = |p: f64| Prediction {
            term: String::new(),
            at: None,
            estimate: 1.0,
            std_error: 1.0,
            statistic: 1.0,
            p_value: p,
            conf_low: 0.0,
            conf_high: 0.0,
            jacobian: Vec::new(),
            linearized: Vec::new(),
        };
        let mut f = vec![mk(0.01), mk(0.04), mk(0.03)];
        adjust(&mut f, Adjust::Holm, 95.0, None);
        let p: Vec<f64> = f.iter().map(|c| c.p_value).collect();
        assert!((p[0] - 0.03).abs() < 1e-15 && (p[1] - 0.06).abs() < 1e-15 && (p[2] - 0.06).abs() < 1e-15);
        let mut f = vec![mk(0.01), mk(0.5)];
        adjust(&mut f, Adjust::Bonferroni, 95.0, None);
        assert_eq!(f[1].p_value, 1.0);
        assert!((f[0].p_value - 0.02).abs() < 1e-15);
    }
}
