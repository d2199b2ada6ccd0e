//! What a fit returns: the estimates and what every variance estimator and marginal effect
//! needs.

use super::engine::engine;
use crate::design::Design;
use crate::linalg;
use crate::model::ModelSpec;
use ndarray::Array2;

/// A coefficient dropped before estimation, and why.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Omitted {
    pub term: String,
    pub reason: String,
}

/// One line of the iteration log.
#[derive(Debug, Clone)]
pub struct Iteration {
    pub iteration: usize,
    pub objective: f64,
    /// `g'H^{-1}g` of the log likelihood: of -deviance/2 divided by the dispersion estimate
    /// deviance/(N-K) for families whose dispersion is free (gaussian, gamma, inverse
    /// gaussian), so that it does not depend on the units of the response. Convergence: below
    /// 1e-12 for a Newton step (the next step's error is then of order 1e-24), 1e-20 for a
    /// Fisher step (linear convergence).
    pub criterion: f64,
    pub method: &'static str,
}

/// A fitted model: estimates plus what every variance estimator and marginal effect needs.
#[derive(Debug, Clone)]
pub struct Fit {
    pub spec: ModelSpec,
    /// The design actually used (collinear columns and perfectly predicted rows removed).
    pub design: Design,
    pub beta: Vec<f64>,
    pub eta: Vec<f64>,
    pub mu: Vec<f64>,
    /// Response as modelled (binary models: 1 for any non-zero value, as Stata).
    pub y: Vec<f64>,
    /// Prior weights (1 without weights).
    pub w: Vec<f64>,
    pub log_likelihood: f64,
    /// Log likelihood of the intercept-only model (binary models with an intercept).
    pub ll_null: Option<f64>,
    pub deviance: f64,
    pub pearson_chi2: f64,
    /// Dispersion used for model-based variances (1 for binomial and Poisson by default).
    pub dispersion: f64,
    /// Number of observations as Stata counts them (sum of fweights, else rows).
    pub n_obs: f64,
    pub df_resid: f64,
    /// Observed information at the estimates, with dispersion 1.
    pub oim: Array2<f64>,
    /// Expected information at the estimates, with dispersion 1: see [`Fit::eim`]. Filled by
    /// the fit when it costs nothing (canonical links, constant expected information), else
    /// on first use (one pass over the rows), since only `--vce eim` needs it.
    pub(super) eim: std::sync::OnceLock<Array2<f64>>,
    /// Score of each observation on the linear-index scale, `dl_i/deta_i` (dispersion 1,
    /// prior weight included).
    pub score_eta: Vec<f64>,
    pub converged: bool,
    pub iterations: usize,
    pub history: Vec<Iteration>,
    pub omitted: Vec<Omitted>,
    pub notes: Vec<String>,
}

impl Fit {
    /// The expected information `X' W_e X` at the estimates (dispersion 1). Computed on first
    /// call when the fit did not need it; the sums are those the fit's last pass would have
    /// made (same weights, same kernel, same order), so the value does not depend on when it
    /// is computed.
    pub fn eim(&self) -> &Array2<f64> {
        self.eim.get_or_init(|| {
            let eng = engine(self.spec.family, self.spec.link, &self.y, &self.w, None);
            let w_e: Vec<f64> = eng.all_obs(&self.eta).iter().map(|o| o.w_e).collect();
            linalg::xtwx(self.design.x.view(), &w_e)
        })
    }
}
