//! Survey-design (linearized, Taylor-series) variance, as Stata's `svy: probit/logit/glm` with
//! `svyset psu [pweight = w], strata(h) fpc(f)` and `vce(linearized)`, and R's
//! `survey::svyglm` for canonical links.
//!
//! With `H` the observed information of the (weighted) log pseudo-likelihood at the estimates,
//! `s_i` observation `i`'s weighted score on the linear-index scale and `x_i` its regressors,
//! the score total of primary sampling unit `j` in stratum `h` is `z_hj = sum_{i in hj} s_i x_i`.
//! The between-PSU variance of the score totals (Stata [SVY] variance estimation, eq. for the
//! first-stage linearized variance; Wolter 2007, ch. 6) is
//!
//! ```text
//! G = sum_h (1 - f_h) n_h / (n_h - 1) sum_j (z_hj - zbar_h)(z_hj - zbar_h)'
//! V = H^{-1} G H^{-1}
//! ```
//!
//! where `n_h` is the number of PSUs in stratum `h`, `zbar_h` their mean score total and `f_h`
//! the first-stage sampling fraction from the FPC (`f_h = fpc` when the FPC values are rates
//! `<= 1`, `f_h = n_h / fpc` when they are stratum population sizes; `0` without FPC). There
//! is no `N/(N-1)` factor. Inference uses Student's t with the design degrees of freedom
//! `(number of PSUs) - (number of strata)`, as Stata's `svy` does (`e(df_r)`).
//!
//! Without a PSU variable every observation is its own PSU; without strata there is one
//! stratum. A stratum with a single PSU has no within-stratum variance. What to do is Stata's
//! `svyset, singleunit()` ([`SingleUnit`]): by default (`missing`) Stata reports missing standard
//! errors and migfit stops with a message naming the stratum; `certainty` lets such strata
//! contribute nothing (R's `survey.lonely.psu = "certainty"`); `scaled` multiplies the variance
//! of the other strata by `H / (H - H_1)` (`H` strata with members, `H_1` of them with one PSU:
//! each lonely stratum gets the average contribution of the others, R's `"average"`);
//! `centered` centres a lonely stratum's PSU total at the grand mean of all PSU totals instead
//! of its stratum mean, with factor `1 - f_h` (R's `"adjust"`, which centres at zero: the same
//! at the estimates, where the score totals sum to zero). The degrees of freedom stay
//! PSUs - strata (a lonely stratum adds none), as in Stata and R.
//!
//! Subpopulations: a model fitted on part of the design's rows (the second part of a two-part
//! model, estimated on the positive outcomes) keeps every PSU and stratum of the full sample,
//! with zero scores outside the subpopulation (Stata's `svy, subpop()`; R's `subset()` of a
//! design), so the variance accounts for the random size of the subpopulation.

use super::{Variance, VceKind};
pub use crate::data::design_spec::SingleUnit;
use crate::data::{ColumnData, Dataset};
use crate::error::{usage, DataError, Error, FitError, Result};
use crate::linalg::{self, spd_inverse};
use crate::model::Fit;
use ndarray::Array2;
use std::collections::HashMap;

/// Which columns describe the survey design (Stata's `svyset`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurveySpec {
    pub strata: Option<String>,
    pub psu: Option<String>,
    pub fpc: Option<String>,
    /// A subpopulation (Stata's `svy, subpop()`): an expression on the data; the model is
    /// fitted on its rows, the variance uses every row of the design.
    pub subpop: Option<String>,
    /// Strata with a single PSU (Stata's `svyset, singleunit()`).
    pub singleunit: SingleUnit,
}

impl SurveySpec {
    /// Whether the spec describes a design (strata, PSUs, an FPC or a subpopulation);
    /// `singleunit` alone only says how a design counts lonely strata.
    pub fn defines_design(&self) -> bool {
        self.strata.is_some() || self.psu.is_some() || self.fpc.is_some() || self.subpop.is_some()
    }

    /// The design columns whose missing values drop a row.
    pub fn columns(&self) -> Vec<String> {
        [&self.strata, &self.psu, &self.fpc].into_iter().flatten().cloned().collect()
    }

    /// The subpopulation's rows (`None` without `subpop`); a missing value of the expression
    /// counts as outside.
    pub fn subpop_mask(&self, ds: &Dataset) -> Result<Option<Vec<bool>>> {
        let Some(src) = &self.subpop else { return Ok(None) };
        let e = crate::data::expr::parse(src).map_err(|e| usage(format!("subpopulation \"{src}\": {e}")))?;
        let mask =
            crate::data::expr::eval_filter(&e, ds).map_err(|m| usage(format!("subpopulation \"{src}\": {m}")))?;
        if !mask.iter().any(|&b| b) {
            return Err(usage(format!("subpopulation \"{src}\" selects no rows of {}", ds.source)));
        }
        Ok(Some(mask))
    }

    /// The rows of the design when a subpopulation is estimated: every row with the design
    /// variables (and the weight) present, whether or not its model variables are.
    pub fn design_rows(&self, ds: &Dataset, weight: Option<&str>) -> Result<Vec<usize>> {
        let mut cols = Vec::new();
        for name in self.columns().iter().map(String::as_str).chain(weight) {
            cols.push(column(ds, name, "design")?);
        }
        Ok((0..ds.n_rows()).filter(|&i| cols.iter().all(|c| !c.is_missing(i))).collect())
    }

    /// A short phrase for descriptions: "3 strata (stype), 183 PSUs (dnum)".
    fn phrase(&self, d: &SurveyDesign) -> String {
        let strata = match &self.strata {
            Some(v) => format!("{} strata in {v}", d.n_strata),
            None => "no strata".to_string(),
        };
        let psu = match &self.psu {
            Some(v) => format!("{} PSUs in {v}", d.n_psu),
            None => format!("{} observations as PSUs", d.n_psu),
        };
        let sub = match &self.subpop {
            Some(s) => format!(
                "; subpopulation {s} ({} of {} design rows, zero scores outside it)",
                d.subpop_rows,
                d.rows.len()
            ),
            None => String::new(),
        };
        format!("{strata}, {psu}{sub}")
    }
}

/// The design of a sample: stratum and PSU of each row, and each stratum's sampling fraction.
#[derive(Debug, Clone)]
pub struct SurveyDesign {
    pub spec: SurveySpec,
    /// Dataset row index of each sample row, ascending.
    pub rows: Vec<usize>,
    /// PSU index (0..n_psu) of each sample row.
    pub psu_of_row: Vec<u32>,
    /// Stratum index (0..n_strata) of each PSU.
    pub stratum_of_psu: Vec<u32>,
    /// Number of PSUs in each stratum.
    pub psus_in_stratum: Vec<usize>,
    /// First-stage sampling fraction of each stratum (0 without an FPC).
    pub fraction: Vec<f64>,
    pub n_strata: usize,
    pub n_psu: usize,
    /// Stratum names, for messages.
    stratum_names: Vec<String>,
    /// Rows of the fitted (sub)population, for the description.
    subpop_rows: usize,
    /// Strata with at least one row of the fitted (sub)population; the others are left out of
    /// the variance and the degrees of freedom (Stata: "strata omitted because they contain no
    /// subpopulation members").
    active: Vec<bool>,
}

/// A hashable key of one cell of an identifier column.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Num(u64),
    Code(u32),
    Text(String),
}

fn key_of(data: &ColumnData, row: usize) -> Key {
    match data {
        // -0.0 and 0.0 are one identifier.
        ColumnData::Numeric(v) => Key::Num((v[row] + 0.0).to_bits()),
        ColumnData::Categorical(f) => Key::Code(f.codes[row]),
        ColumnData::Text(v) => Key::Text(v[row].clone().unwrap_or_default()),
    }
}

fn show(data: &ColumnData, row: usize) -> String {
    match data {
        ColumnData::Numeric(v) => crate::data::format_number(v[row]),
        ColumnData::Categorical(f) => f.levels.get(f.codes[row] as usize).map(|l| l.name.clone()).unwrap_or_default(),
        ColumnData::Text(v) => v[row].clone().unwrap_or_default(),
    }
}

fn column<'a>(ds: &'a Dataset, name: &str, role: &str) -> Result<&'a ColumnData> {
    ds.column(name).map(|c| &c.data).ok_or_else(|| {
        let hint = ds.closest_name(name).map(|h| format!(" (did you mean '{h}'?)")).unwrap_or_default();
        usage(format!("the survey {role} variable '{name}' is not a column of {}{hint}", ds.source))
    })
}

impl SurveyDesign {
    /// The design of the dataset rows `rows` (ascending; the estimation sample).
    pub fn new(ds: &Dataset, spec: &SurveySpec, rows: &[usize]) -> Result<SurveyDesign> {
        let strata = spec.strata.as_deref().map(|v| column(ds, v, "strata")).transpose()?;
        let psu = spec.psu.as_deref().map(|v| column(ds, v, "PSU")).transpose()?;
        let fpc = match spec.fpc.as_deref() {
            None => None,
            Some(v) => match column(ds, v, "FPC")? {
                ColumnData::Numeric(x) => Some(x),
                other => {
                    return Err(usage(format!(
                        "the survey FPC variable '{v}' must be numeric (sampling rates or population sizes), not {}",
                        other.kind()
                    )))
                }
            },
        };
        let line = |i: usize| ds.line_numbers.get(i).copied().unwrap_or(i as u64 + 1);

        let mut stratum_index: HashMap<Key, u32> = HashMap::new();
        let mut stratum_names = Vec::new();
        let mut psu_index: HashMap<(u32, Key), u32> = HashMap::new();
        let mut stratum_of_psu = Vec::new();
        let mut psu_of_row = Vec::with_capacity(rows.len());
        let mut fpc_of_stratum: Vec<Option<(f64, usize)>> = Vec::new();
        for (pos, &i) in rows.iter().enumerate() {
            let h = match strata {
                None => 0,
                Some(col) => {
                    let next = stratum_index.len() as u32;
                    *stratum_index.entry(key_of(col, i)).or_insert_with(|| {
                        stratum_names.push(show(col, i));
                        next
                    })
                }
            };
            if strata.is_none() && stratum_names.is_empty() {
                stratum_names.push("(one stratum)".to_string());
            }
            if fpc_of_stratum.len() <= h as usize {
                fpc_of_stratum.resize(h as usize + 1, None);
            }
            if let Some(f) = fpc {
                let v = f[i];
                if !(v.is_finite() && v > 0.0) {
                    return Err(Error::Data(DataError::InvalidValue {
                        path: ds.source.clone(),
                        line: line(i),
                        column: spec.fpc.clone().unwrap_or_default(),
                        value: crate::data::format_number(v),
                        expected: "a finite-population correction is a positive sampling rate (<= 1) or stratum population size".into(),
                    }));
                }
                match fpc_of_stratum[h as usize] {
                    None => fpc_of_stratum[h as usize] = Some((v, i)),
                    Some((w, first)) if w != v => {
                        return Err(Error::Data(DataError::Other(format!(
                            "{}: column {}: the finite-population correction must be constant within a stratum, but stratum {} has {} (line {}) and {} (line {})",
                            ds.source,
                            spec.fpc.as_deref().unwrap_or(""),
                            stratum_names[h as usize],
                            crate::data::format_number(w),
                            line(first),
                            crate::data::format_number(v),
                            line(i)
                        ))))
                    }
                    _ => {}
                }
            }
            let key = match psu {
                Some(col) => key_of(col, i),
                None => Key::Num(pos as u64),
            };
            let next = psu_index.len() as u32;
            let j = *psu_index.entry((h, key)).or_insert_with(|| {
                stratum_of_psu.push(h);
                next
            });
            psu_of_row.push(j);
        }
        let n_strata = stratum_names.len().max(1);
        let n_psu = stratum_of_psu.len();
        let mut psus_in_stratum = vec![0usize; n_strata];
        for &h in &stratum_of_psu {
            psus_in_stratum[h as usize] += 1;
        }
        // Sampling fractions: all rates (<= 1) or all population sizes (>= n_h), as Stata.
        let mut fraction = vec![0.0; n_strata];
        if fpc.is_some() {
            let values: Vec<f64> = fpc_of_stratum.iter().map(|f| f.map_or(0.0, |p| p.0)).collect();
            let rates = values.iter().all(|&v| v <= 1.0);
            for h in 0..n_strata {
                let v = values[h];
                fraction[h] = if rates {
                    v
                } else if v < psus_in_stratum[h] as f64 {
                    return Err(Error::Data(DataError::Other(format!(
                        "{}: column {}: stratum {} has {} sampled PSUs but a population size of {}; FPC values must all be sampling rates (<= 1) or all population sizes (>= the number of sampled PSUs)",
                        ds.source,
                        spec.fpc.as_deref().unwrap_or(""),
                        stratum_names[h],
                        psus_in_stratum[h],
                        crate::data::format_number(v)
                    ))));
                } else {
                    psus_in_stratum[h] as f64 / v
                };
            }
        }
        Ok(SurveyDesign {
            spec: spec.clone(),
            rows: rows.to_vec(),
            psu_of_row,
            stratum_of_psu,
            psus_in_stratum,
            fraction,
            n_strata,
            n_psu,
            stratum_names,
            subpop_rows: rows.len(),
            active: vec![true; n_strata],
        })
    }

    /// `n` units in one stratum without FPC: the design of a cluster-robust (units the
    /// clusters) or robust (units the rows) variance, whose between-unit variance is
    /// `n/(n-1) sum_j (z_j - zbar)(z_j - zbar)'` (for score totals, which sum to zero, the
    /// sandwich's meat with its `G/(G-1)` or `N/(N-1)`).
    pub fn one_stratum(n: usize) -> SurveyDesign {
        SurveyDesign {
            spec: SurveySpec::default(),
            rows: Vec::new(),
            psu_of_row: Vec::new(),
            stratum_of_psu: vec![0; n],
            psus_in_stratum: vec![n],
            fraction: vec![0.0],
            n_strata: 1,
            n_psu: n,
            stratum_names: vec!["(one stratum)".to_string()],
            subpop_rows: 0,
            active: vec![true],
        }
    }

    /// The PSU of each dataset row in `rows` (ascending, rows of the design's sample).
    pub fn units_of(&self, rows: &[usize]) -> Result<Vec<u32>> {
        Ok(self.positions(rows)?.into_iter().map(|p| self.psu_of_row[p]).collect())
    }

    /// Whether stratum `h` has members of the fitted (sub)population and a single PSU.
    fn lonely(&self, h: usize) -> bool {
        self.active[h] && self.psus_in_stratum[h] < 2
    }

    /// Design degrees of freedom: PSUs minus strata (of the strata with members of the fitted
    /// subpopulation).
    pub fn df(&self) -> f64 {
        (0..self.n_strata).filter(|&h| self.active[h]).map(|h| self.psus_in_stratum[h] as f64 - 1.0).sum()
    }

    /// Position in the design's rows of each dataset row in `rows` (a subset of them).
    fn positions(&self, rows: &[usize]) -> Result<Vec<usize>> {
        let mut out = Vec::with_capacity(rows.len());
        let mut at = 0;
        for &r in rows {
            while at < self.rows.len() && self.rows[at] < r {
                at += 1;
            }
            if at == self.rows.len() || self.rows[at] != r {
                return Err(FitError::Numerical(format!(
                    "internal: estimation row {r} is not in the survey design's sample"
                ))
                .into());
            }
            out.push(at);
        }
        Ok(out)
    }

    /// Score totals per PSU of `fit` (n_psu x k, row-major); rows of the design outside the
    /// fit's sample contribute zero (a subpopulation).
    /// Marks the rows of the fitted (sub)population (dataset row indices, ascending): the
    /// strata without any of them are left out of the variance and the degrees of freedom.
    pub fn with_fit_rows(mut self, rows: &[usize]) -> Result<SurveyDesign> {
        let pos = self.positions(rows)?;
        let mut active = vec![false; self.n_strata];
        for p in pos {
            active[self.stratum_of_psu[self.psu_of_row[p] as usize] as usize] = true;
        }
        self.active = active;
        self.subpop_rows = rows.len();
        Ok(self)
    }

    pub fn score_totals(&self, fit: &Fit) -> Result<Array2<f64>> {
        let d = &fit.design;
        let k = d.k();
        let pos = self.positions(&d.rows)?;
        let mut z = Array2::<f64>::zeros((self.n_psu, k));
        let xs = d.x.as_slice().expect("row-major design");
        for ((xi, &p), &s) in xs.chunks_exact(k.max(1)).zip(&pos).zip(&fit.score_eta) {
            let j = self.psu_of_row[p] as usize;
            let mut zj = z.row_mut(j);
            for (a, &v) in zj.iter_mut().zip(xi) {
                *a += s * v;
            }
        }
        Ok(z)
    }

    /// `G = sum_h (1 - f_h) n_h/(n_h - 1) sum_j (z_hj - zbar_h)(z_hj - zbar_h)'` for PSU score
    /// totals `z` (n_psu x m).
    pub fn between_psu(&self, z: &Array2<f64>) -> Result<Array2<f64>> {
        if self.spec.singleunit == SingleUnit::Missing {
            if let Some(h) = (0..self.n_strata).find(|&h| self.lonely(h)) {
                let what = match &self.spec.strata {
                    Some(v) => format!("stratum {} of {v}", self.stratum_names[h]),
                    None => "the sample".to_string(),
                };
                return Err(FitError::Numerical(format!(
                    "{what} has a single PSU, so its variance cannot be estimated (Stata reports missing standard errors here); merge it with a similar stratum, or choose how such strata count with the single-unit rule certainty, scaled or centered (Stata's svyset singleunit())"
                ))
                .into());
            }
        }
        if self.spec.singleunit == SingleUnit::Certainty {
            let active = (0..self.n_strata).filter(|&h| self.active[h]).count();
            let lonely = (0..self.n_strata).filter(|&h| self.active[h] && self.lonely(h)).count();
            if active > 0 && lonely == active {
                // Every stratum a certainty unit: the variance is exactly 0 and the design has
                // 0 degrees of freedom, so no test is possible (Stata's svy shows missing
                // statistics here); refuse rather than print SE 0, z = inf, p = NaN (issue #19).
                return Err(FitError::Numerical(format!(
                    "every stratum has a single PSU ({lonely} strata): with the single-unit rule certainty none contributes variance, \
so every standard error would be 0 with 0 design degrees of freedom; choose singleunit centered, or merge strata so that each has two or more PSUs"
                ))
                .into());
            }
        }
        let m = z.ncols();
        let mut means = Array2::<f64>::zeros((self.n_strata, m));
        for (j, zj) in z.outer_iter().enumerate() {
            let h = self.stratum_of_psu[j] as usize;
            let mut mh = means.row_mut(h);
            mh += &zj;
        }
        for h in 0..self.n_strata {
            let c = self.psus_in_stratum[h] as f64;
            means.row_mut(h).mapv_inplace(|v| v / c);
        }
        // Grand mean of the PSU totals: the centre of a lonely stratum under `centered`.
        let grand: Vec<f64> = (0..m).map(|c| z.column(c).sum() / self.n_psu.max(1) as f64).collect();
        // Centered, scaled deviations: sqrt((1 - f_h) n_h/(n_h - 1)) (z_hj - zbar_h); a lonely
        // stratum: nothing, or sqrt(1 - f_h) (z_h1 - zbar) when centered.
        let mut dev = z.clone();
        for (j, mut dj) in dev.outer_iter_mut().enumerate() {
            let h = self.stratum_of_psu[j] as usize;
            let nh = self.psus_in_stratum[h] as f64;
            let (c, centre) = if !self.active[h] {
                (0.0, means.row(h))
            } else if self.lonely(h) {
                match self.spec.singleunit {
                    SingleUnit::Centered => ((1.0 - self.fraction[h]).sqrt(), ndarray::ArrayView1::from(&grand[..])),
                    _ => (0.0, means.row(h)),
                }
            } else {
                (((1.0 - self.fraction[h]) * nh / (nh - 1.0)).sqrt(), means.row(h))
            };
            for (a, &mu) in dj.iter_mut().zip(centre) {
                *a = (*a - mu) * c;
            }
        }
        let mut g = linalg::xtwx(dev.view(), &vec![1.0; self.n_psu]);
        if self.spec.singleunit == SingleUnit::Scaled {
            let active = (0..self.n_strata).filter(|&h| self.active[h]).count();
            let lonely = (0..self.n_strata).filter(|&h| self.lonely(h)).count();
            if lonely > 0 {
                if lonely == active {
                    return Err(FitError::Numerical(
                        "every stratum has a single PSU: singleunit(scaled) has no stratum with several PSUs to average over"
                            .into(),
                    )
                    .into());
                }
                g.mapv_inplace(|v| v * active as f64 / (active - lonely) as f64);
            }
        }
        linalg::symmetrize(&mut g);
        Ok(g)
    }

    /// One sentence for reports.
    pub fn description(&self, bread: &str) -> String {
        let fpc = match &self.spec.fpc {
            Some(v) => format!(", finite-population correction from {v}"),
            None => String::new(),
        };
        let lonely = (0..self.n_strata).filter(|&h| self.lonely(h)).count();
        let single = match (lonely, self.spec.singleunit) {
            (0, _) | (_, SingleUnit::Missing) => String::new(),
            (n, SingleUnit::Certainty) => format!(", {n} single-PSU strata counted as certainty units (no variance)"),
            (n, SingleUnit::Scaled) => {
                format!(", {n} single-PSU strata given the average variance of the others (singleunit scaled)")
            }
            (n, SingleUnit::Centered) => {
                format!(", {n} single-PSU strata centred at the grand mean of the PSU totals (singleunit centered)")
            }
        };
        format!(
            "Survey linearized (Taylor) variance: {bread} as bread, between-PSU variance of the weighted scores within strata with factor n_h/(n_h-1){fpc}{single}; {}; t with {} design degrees of freedom.",
            self.spec.phrase(self),
            crate::data::format_number(self.df())
        )
    }
}

/// The linearized variance of one model fitted on (a subpopulation of) the design's sample.
pub fn linearized(fit: &Fit, design: &SurveyDesign) -> Result<Variance> {
    let bread = spd_inverse(&fit.oim).ok_or_else(|| {
        Error::from(FitError::Numerical(
            "the observed information matrix is not positive definite at the estimates; standard errors cannot be computed"
                .into(),
        ))
    })?;
    linearized_with(
        fit,
        design,
        &bread,
        "inverse observed information (negative Hessian of the weighted log likelihood)",
    )
}

/// The linearized variance with a given bread (`svyglm`'s is the inverse expected information
/// of the weighted fit: [`super::convention`]), described as `bread_text`.
pub fn linearized_with(fit: &Fit, design: &SurveyDesign, bread: &Array2<f64>, bread_text: &str) -> Result<Variance> {
    let g = design.between_psu(&design.score_totals(fit)?)?;
    let mut v = bread.dot(&g).dot(bread);
    linalg::symmetrize(&mut v);
    Ok(Variance {
        kind: VceKind::Survey,
        matrix: v,
        description: design.description(bread_text),
        factor: 1.0,
        n_clusters: Some(design.n_psu),
        df: Some(design.df()),
        satterthwaite: None,
    })
}

/// The joint linearized variance of several models fitted on subpopulations of one design
/// (Stata's `suest` under `svy`): the stacked score totals give the joint `G`, the bread is
/// block-diagonal.
pub fn joint_linearized(fits: &[&Fit], design: &SurveyDesign) -> Result<Array2<f64>> {
    let ks: Vec<usize> = fits.iter().map(|f| f.design.k()).collect();
    let total: usize = ks.iter().sum();
    let mut z = Array2::<f64>::zeros((design.n_psu, total));
    let mut bread = Array2::<f64>::zeros((total, total));
    let mut off = 0;
    for (f, &k) in fits.iter().zip(&ks) {
        let zf = design.score_totals(f)?;
        z.slice_mut(ndarray::s![.., off..off + k]).assign(&zf);
        let b = spd_inverse(&f.oim).ok_or_else(|| {
            Error::from(FitError::Numerical(
                "an observed information matrix is not positive definite at the estimates".into(),
            ))
        })?;
        bread.slice_mut(ndarray::s![off..off + k, off..off + k]).assign(&b);
        off += k;
    }
    let g = design.between_psu(&z)?;
    let mut v = bread.dot(&g).dot(&bread);
    linalg::symmetrize(&mut v);
    Ok(v)
}
