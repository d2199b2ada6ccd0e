//! The scale of the effects (`--margins-scale`; Stata's `margins, dydx()`, `eyex()`, `dyex()`,
//! `eydx()`).
//!
//! Each effect is computed row by row and then averaged with the estimation weights (Stata's
//! default for average effects, and marginaleffects' `avg_slopes(slope = ...)`), with `d_i =
//! dF/dv` on row `i`, `F_i` the prediction and `x_i` the variable's value there:
//!
//! * `dydx`: `d_i` (the default);
//! * `eyex`: `d_i x_i / F_i`, the elasticity `d ln F / d ln x`;
//! * `dyex`: `d_i x_i`, `dF / d ln x`;
//! * `eydx`: `d_i / F_i`, `d ln F / dx`.
//!
//! At the means (`atmeans`) the one row is the means' row; with `at()` values `x_i` is the
//! fixed value. Factors: `ex` is not defined for a factor (a level is no quantity to take
//! logs of), so `eyex` and `dyex` leave factors out (a note says so) and a factor named in
//! `--dydx` is a usage error. `eydx` of a factor level is Stata's discrete change of the log
//! prediction, the average of `ln F_i(level) - ln F_i(reference)` (StataCorp, "Using the margins
//! command with different functional forms: proportional versus natural logarithm changes",
//! Stata blog, 5 April 2022, equation 3). `ey` needs `F_i > 0` on every averaged row; otherwise
//! the effect is an estimation error (Stata's FAQ "Obtaining elasticities": the log of a
//! negative prediction is undefined). `x_i` may be zero or negative: the formulas above are
//! computed as written, as Stata does.
//!
//! Delta method: the row's effect is `e_i = d_i m_i` with `m_i` one of `x_i / F_i`, `x_i`,
//! `1 / F_i`, `1`; its gradient in the coefficients of part `p` is `m_i dd_i/db_p + d_i
//! (dm_i/dF) dF/db_p`, with `dd_i/db_p = sum_q h_qp deta_q/dv X_p + g_p dX_p/dv` as for the
//! plain derivative and `dF/db_p = g_p X_p`; for `eydx` of a factor `(g_p / F) X_p` under each
//! level. `J V J'` with the model's variance, as for every effect.

use crate::error::{usage, Result};

/// The scale of the marginal effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MarginsScale {
    /// `dy/dx` (derivatives and discrete changes).
    #[default]
    Dydx,
    /// `d ln y / d ln x`.
    Eyex,
    /// `dy / d ln x`.
    Dyex,
    /// `d ln y / dx`.
    Eydx,
}

impl MarginsScale {
    /// Parses `--margins-scale`.
    pub fn parse(s: &str) -> Result<MarginsScale> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dydx" => Ok(MarginsScale::Dydx),
            "eyex" => Ok(MarginsScale::Eyex),
            "dyex" => Ok(MarginsScale::Dyex),
            "eydx" => Ok(MarginsScale::Eydx),
            other => {
                Err(usage(format!("--margins-scale: unknown scale '{other}' (expected dydx, eyex, dyex or eydx)")))
            }
        }
    }

    /// The option's name (`eyex`), also the `contrast` of a derivative effect in the report.
    pub fn name(self) -> &'static str {
        match self {
            MarginsScale::Dydx => "dydx",
            MarginsScale::Eyex => "eyex",
            MarginsScale::Dyex => "dyex",
            MarginsScale::Eydx => "eydx",
        }
    }

    /// Whether the prediction enters as `ln y` (`ey`).
    pub fn log_y(self) -> bool {
        matches!(self, MarginsScale::Eyex | MarginsScale::Eydx)
    }

    /// Whether the variable enters as `ln x` (`ex`): not defined for factors.
    pub fn log_x(self) -> bool {
        matches!(self, MarginsScale::Eyex | MarginsScale::Dyex)
    }

    /// The multiplier `m` of a derivative on a row and `dm/dF`, from the prediction `f` and
    /// the variable's value `x`.
    #[inline]
    pub(super) fn multiplier(self, f: f64, x: f64) -> (f64, f64) {
        match self {
            MarginsScale::Dydx => (1.0, 0.0),
            MarginsScale::Eyex => (x / f, -x / (f * f)),
            MarginsScale::Dyex => (x, 0.0),
            MarginsScale::Eydx => (1.0 / f, -1.0 / (f * f)),
        }
    }

    /// A sentence for the margins description.
    pub fn describe(self) -> &'static str {
        match self {
            MarginsScale::Dydx => "derivatives (dy/dx) for continuous variables, discrete changes for factors.",
            MarginsScale::Eyex => "elasticities ey/ex = d ln y / d ln x, (dy/dx) x / y on each row, averaged; factors have no ex and are not reported.",
            MarginsScale::Dyex => "semi-elasticities dy/ex = dy / d ln x, (dy/dx) x on each row, averaged; factors have no ex and are not reported.",
            MarginsScale::Eydx => "semi-elasticities ey/dx = d ln y / dx, (dy/dx) / y on each row, averaged; a factor level's is the average change of ln y from the reference level (Stata's eydx).",
        }
    }
}

/// A factor named in `--dydx` under a scale with `ex`: a usage error naming it.
pub fn check_scale_dydx(specs: &[&crate::design::DesignSpec], vars: &[String], scale: MarginsScale) -> Result<()> {
    if !scale.log_x() {
        return Ok(());
    }
    for v in vars {
        for spec in specs {
            if let Some((_, text, _, _)) =
                spec.factor_variables().into_iter().find(|(var, text, _, _)| var == v || text == v)
            {
                return Err(usage(format!(
                    "--margins-scale {}: '{v}' is a factor ({text}); ex (d ln x) is not defined for a factor's levels: use --margins-scale eydx or dydx for its discrete change, or leave it out of --dydx",
                    scale.name()
                )));
            }
        }
    }
    Ok(())
}
