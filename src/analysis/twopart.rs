//! The two-part job: both parts fitted, their variance (each part's, or joint), the
//! effects of each part and of the combined E[y] = Pr(y > 0) E[y | y > 0], predictive
//! margins, tests and the bootstrap.

use super::*;

impl TwoPartJob {
    pub fn new(
        formula: Formula,
        formula2: Option<Formula>,
        response2: Option<String>,
        first: ModelSpec,
        second: ModelSpec,
        joint_vce: bool,
        est: Estimation,
    ) -> Result<TwoPartJob> {
        est.check()?;
        if !matches!(first.kind, ModelKind::Probit | ModelKind::Logit) {
            return Err(usage("the first part of a two-part model is a probit or a logit"));
        }
        let response2_expr = response2.as_deref().map(crate::formula::parse_expr).transpose()?;
        Ok(TwoPartJob { formula, formula2, response2, first, second, joint_vce, est, response2_expr })
    }

    /// Every dataset variable the job reads: both parts' formulas and responses, and what
    /// [`Estimation::variables`] names.
    pub fn variables(&self) -> Option<Vec<String>> {
        let mut out = self.formula.variables();
        if let Some(f2) = &self.formula2 {
            union(&mut out, f2.variables());
        }
        if let Some(e) = &self.response2_expr {
            union(&mut out, e.variables());
        }
        union(&mut out, self.est.variables()?);
        Some(out)
    }

    /// The fitting request of both parts.
    pub(super) fn request(&self) -> TwoPartRequest<'_> {
        TwoPartRequest {
            formula: &self.formula,
            formula2: self.formula2.as_ref(),
            response2: self.response2.as_deref(),
            first: self.first.clone(),
            second: self.second.clone(),
        }
    }

    pub fn run(&self, ds: &Dataset) -> Result<Report> {
        self.run_data(Data::Borrowed(ds))
    }

    /// The columns of the dataset read after the fits: `None` when that is every column (a
    /// survey design, `--predict`), else the `--over` variable if any.
    fn read_after_fit(&self) -> Option<Vec<String>> {
        if self.est.survey.is_some() || self.est.hypotheses.predict.is_some() {
            return None;
        }
        Some(self.est.post.over.iter().cloned().collect())
    }

    /// [`TwoPartJob::run`]; a dataset handed over has its columns freed once both designs are
    /// built (they hold copies of what they read), before the fits allocate theirs.
    pub fn run_data(&self, mut ds: Data<'_>) -> Result<Report> {
        let req = self.request();
        let kind = self.est.vce_kind()?;
        let (sample, design_rows) = self.est.model_sample(&ds)?;
        let designs = TwoPartDesigns::build(&ds, &req, &sample)?;
        let labels = crate::output::ColumnLabels::of(&ds);
        if let Some(keep) = self.read_after_fit() {
            ds.release(|name| keep.iter().any(|k| k == name));
        }
        let ds = &*ds;
        let tp = designs.fit(&req)?;
        let level = self.est.level;
        // Variances: each part's own (block-diagonal), or the blocks of the joint sandwich.
        // A survey design is that of the first part's sample; the second part is a
        // subpopulation of it (Stata's svy, subpop()).
        let sd = self.est.survey_design(ds, &tp.first.design.rows, design_rows.as_deref())?;
        let mut profile_notes = Vec::new();
        let (boot, tv) = if kind == VceKind::Bootstrap {
            let groups = over_groups(ds, self.est.post.over.as_deref(), &tp.first.design.rows)?;
            let stats = |parts: &TwoPartEval| self.set_estimates(parts, &groups);
            let (b, tv) = bootstrap::twopart(&self.est, &self.est.boot_run(), &tp, sd.as_ref(), &stats)?;
            (Some(b), tv)
        } else {
            let (tv, notes) = Variance::twopart_profile(
                &tp,
                kind,
                sd.as_ref(),
                self.joint_vce,
                &self.est.convention.profile(),
                self.est.vce.is_some(),
            )?;
            profile_notes = notes;
            (None, tv)
        };
        let (v1, v2) = (&tv.first, &tv.second);
        // --margins-vce unconditional: both parts' influence functions over the design's units.
        let lin = match self.est.post.vce {
            MarginsVceKind::Unconditional => {
                Some(Linearization::twopart(&tp.first, &tp.second, &tp.second_rows_in_first, kind, sd.as_ref())?)
            }
            MarginsVceKind::Delta => None,
        };
        let k1 = tp.first.beta.len();
        let mvce: [MarginsVce; 3] = match &lin {
            Some(l) => [
                MarginsVce::Unconditional { lin: l, start: 0, units: l.units_of_part(0) },
                MarginsVce::Unconditional { lin: l, start: k1, units: l.units_of_part(1) },
                MarginsVce::Unconditional { lin: l, start: 0, units: l.units_of_part(0) },
            ],
            None => [(&v1.matrix).into(), (&v2.matrix).into(), (&tv.joint.matrix).into()],
        };
        let uncond = unconditional_sentence(lin.as_ref(), kind);
        // The combined E[y] margins' variance: the joint one, or the stacked linearization.
        let combined_vce = match &lin {
            Some(l) => l.description(kind),
            None => tv.joint.description.clone(),
        };
        let y_text = self.formula.response.as_ref().map(|r| r.1.clone()).unwrap_or_else(|| "y".into());
        let rhs1 = rhs_text(&self.formula.source);
        let rhs2 = self.formula2.as_ref().map(|f| rhs_text(&f.source)).unwrap_or_else(|| rhs1.clone());
        let f1_text = format!("{} ~ {rhs1}", tp.first.design.response);
        let f2_text = format!("{} ~ {rhs2}", tp.second.design.response);
        let mut m1 = ModelReport::new("first", &f1_text, &tp.first, v1, level, false);
        let mut m2 = ModelReport::new("second", &f2_text, &tp.second, v2, level, false);
        self.est.apply_convention(&mut m1, &tp.first, v1, profile_notes.clone());
        self.est.apply_convention(&mut m2, &tp.second, v2, profile_notes);
        m1.n_strata = sd.as_ref().map(|d| d.n_strata);
        m2.n_strata = m1.n_strata;
        self.est.hypotheses.apply_twopart([(&mut m1, &tp.first, v1), (&mut m2, &tp.second, v2)], level)?;
        if let Some(b) = &boot {
            b.apply_coefficients(&mut m1, 0, level);
            b.apply_coefficients(&mut m2, 1, level);
        }
        let mut combined = None;
        if self.est.margins.is_some() {
            // Both parts' effects and the combined E[y]'s, average effects in one pass; with
            // --over, each group's.
            let groups = over_groups(ds, self.est.post.over.as_deref(), &tp.first.design.rows)?;
            let [r1, r2, rc] = self.effects(&TwoPartEval::of(&tp), &groups, Some(mvce))?;
            m1.margins_description = Some(format!(
                "{} Prediction: {} on all {} rows.{uncond}",
                r1.description,
                prediction_name(&tp.first),
                tp.first.design.n()
            ));
            m2.margins_description = Some(format!(
                "{} Prediction: E[{} | {y_text} > 0] on the {} positive rows.{uncond}",
                r2.description,
                tp.second.design.response,
                tp.second.design.n()
            ));
            m1.margins = r1.margins;
            m2.margins = r2.margins;
            crate::output::apply_variance_df(&mut m1.margins, level, v1);
            crate::output::apply_variance_df(&mut m2.margins, level, v2);
            if let Some(b) = &boot {
                b.apply_margins(&mut m1.margins, 0, level);
                b.apply_margins(&mut m2.margins, 1, level);
                m1.margins_description = m1.margins_description.map(|d| b.describe_margins(&d));
                m2.margins_description = m2.margins_description.map(|d| b.describe_margins(&d));
            }
            m1.notes.extend(r1.notes);
            m2.notes.extend(r2.notes);
            combined = Some(Combined {
                description: format!(
                    "{} Prediction: E[y] = Pr({y_text} > 0) x E[{} | {y_text} > 0] on all {} rows, zeros included.",
                    match &boot {
                        Some(b) => b.describe_margins(&rc.description),
                        None => rc.description.clone(),
                    },
                    tp.second.design.response,
                    tp.first.design.n()
                ),
                vce: combined_vce.clone(),
                margins: {
                    let mut ms = rc.margins;
                    crate::output::apply_df(&mut ms, level, tv.joint.df);
                    if let Some(b) = &boot {
                        b.apply_margins(&mut ms, 2, level);
                    }
                    ms
                },
                predictions: Vec::new(),
                contrasts: Vec::new(),
                notes: rc.notes,
                tests: Vec::new(),
                lincom: Vec::new(),
            });
        }
        // The combined E[y] entry when only predictive margins or tests of margins ask for it.
        let empty_combined = || {
            Combined::new(
                format!(
                    "Prediction: E[y] = Pr({y_text} > 0) x E[{} | {y_text} > 0] on all {} rows, zeros included.",
                    tp.second.design.response,
                    tp.first.design.n()
                ),
                combined_vce.clone(),
            )
        };
        if !self.est.post.is_empty() {
            // Predictive margins of Pr(y > 0) and E[y | y > 0], each over its part's own rows
            // with its variance (as the parts' effects), and of E[y] over every row with the
            // joint variance (as the combined effects).
            let parts = TwoPartEval::of(&tp);
            let post = &self.est.post;
            margins::check_variables(&[parts.first, parts.second_on_all], post)?;
            let mut r1 =
                margins::predictions(&[parts.first], Target::Mean(0), parts.weights1, post, mvce[0], level, v1.df)?;
            let mut r2 =
                margins::predictions(&[parts.second], Target::Mean(0), parts.weights2, post, mvce[1], level, v2.df)?;
            let mut rc = margins::predictions(
                &[parts.first, parts.second_on_all],
                Target::Product,
                parts.weights1,
                post,
                mvce[2],
                level,
                tv.joint.df,
            )?;
            if let Some(b) = &boot {
                for (s, r) in [&mut r1, &mut r2, &mut rc].into_iter().enumerate() {
                    b.apply_predictions(r, s, level);
                }
                m1.notes.push(bootstrap::BOOT_PREDICTIONS.into());
                m2.notes.push(bootstrap::BOOT_PREDICTIONS.into());
                rc.notes.push(bootstrap::BOOT_PREDICTIONS.into());
            }
            for (m, r) in [(&mut m1, r1), (&mut m2, r2)] {
                m.predictions = r.predictions;
                m.contrasts = r.contrasts;
                m.notes.extend(r.notes);
                if let Some(l) = &lin {
                    m.notes.push(l.description(kind));
                }
            }
            let c = combined.get_or_insert_with(empty_combined);
            c.predictions = rc.predictions;
            c.contrasts = rc.contrasts;
            c.notes.extend(rc.notes);
        }
        if self.est.hypotheses.has_margins() {
            let c = combined.get_or_insert_with(empty_combined);
            self.est.hypotheses.apply_margins_twopart(
                [(&mut m1, v1), (&mut m2, v2)],
                c,
                &tv.joint,
                mvce,
                level,
                boot.as_ref(),
            )?;
        }
        if let Some(path) = &self.est.hypotheses.predict {
            predict::twopart(ds, &self.formula, self.formula2.as_ref(), &tp, self.response2.is_some())?.write(path)?;
        }
        Ok(report_labels(
            "twopart",
            &ds.source,
            &labels,
            vec![m1, m2],
            combined,
            &[&tp.first.design, &tp.second.design],
        ))
    }

    /// Both parts' effects and the combined `E[y]`'s (`--margins`, on the `--margins-scale`) at
    /// every `--at` grid point and in every `--over` group (the second part's rows are among
    /// the first part's: the same group, zero weight elsewhere), averaged with `parts`' weights,
    /// the `--dydx` effects kept: with delta-method standard errors under `vcov` (first,
    /// second, joint), or estimates only (`None`: the full sample's or a bootstrap replicate's
    /// statistics).
    fn effects(
        &self,
        parts: &TwoPartEval,
        groups: &Groups,
        vcov: Option<[MarginsVce; 3]>,
    ) -> Result<[margins::MarginsResult; 3]> {
        let at = self.est.margins.as_ref().expect("margins asked for");
        let (pw1, pw2) = (parts.weights1, parts.weights2);
        let gw: Vec<(Vec<(String, String)>, Option<Vec<f64>>, Option<Vec<f64>>)> =
            group_weights(groups, pw1, parts.first.x.nrows())
                .into_iter()
                .map(|(tag, w1)| {
                    let w2 = w1.as_ref().map(|w1| {
                        parts
                            .second_rows
                            .iter()
                            .zip(0..)
                            .map(|(&i, j)| if w1[i] == 0.0 { 0.0 } else { pw2.map_or(1.0, |w| w[j]) })
                            .collect()
                    });
                    (tag, w1, w2)
                })
                .collect();
        margins::check_scale_dydx(&[parts.first.spec, parts.second.spec], &self.est.post.dydx, self.est.post.scale)?;
        let mut runs: [Vec<_>; 3] = Default::default();
        for (point, at) in grid_points(at, &self.est.post.grid) {
            for (tag, w1, w2) in &gw {
                // (Each part re-borrowed: `ArrayView2` makes `PartEval` invariant.)
                fn re<'b>(p: &'b PartEval) -> PartEval<'b> {
                    PartEval { x: p.x.view(), spec: p.spec, beta: p.beta, link: p.link, eta: p.eta }
                }
                let pg = TwoPartEval {
                    first: re(&parts.first),
                    second: re(&parts.second),
                    second_on_all: re(&parts.second_on_all),
                    second_rows: parts.second_rows,
                    weights1: if groups.is_some() { w1.as_deref() } else { pw1 },
                    weights2: if groups.is_some() { w2.as_deref() } else { pw2 },
                };
                let rs = match vcov {
                    Some(vce) => margins::compute_twopart_scaled(&pg, &at, self.est.post.scale, vce, self.est.level)?,
                    None => margins::twopart_estimates_scaled(&pg, &at, self.est.post.scale)?,
                };
                for (run, r) in runs.iter_mut().zip(rs) {
                    run.push((point.clone(), tag.clone(), r));
                }
            }
        }
        let [mut r1, mut r2, mut rc] = runs.map(merge_runs);
        margins::keep_dydx(
            &mut [&mut r1.margins, &mut r2.margins, &mut rc.margins],
            &[parts.first.spec, parts.second.spec],
            &self.est.post.dydx,
        )?;
        Ok([r1, r2, rc])
    }

    /// The three sets' effects, predictive margins and contrasts (first part, second part,
    /// combined `E[y]`) with `parts`' coefficients and weights, estimates only: the full
    /// sample's (`TwoPartEval::of`) and a bootstrap replicate's, by the same computation.
    fn set_estimates(&self, parts: &TwoPartEval, groups: &Groups) -> Result<[bootstrap::SetStats; 3]> {
        let mut out: [bootstrap::SetStats; 3] = Default::default();
        if self.est.margins.is_some() {
            for (o, r) in out.iter_mut().zip(self.effects(parts, groups, None)?) {
                o.effects = r.margins;
            }
        }
        let post = &self.est.post;
        if !post.is_empty() {
            margins::check_variables(&[parts.first, parts.second_on_all], post)?;
            let rs = [
                margins::prediction_estimates(&[parts.first], Target::Mean(0), parts.weights1, post)?,
                margins::prediction_estimates(&[parts.second], Target::Mean(0), parts.weights2, post)?,
                margins::prediction_estimates(
                    &[parts.first, parts.second_on_all],
                    Target::Product,
                    parts.weights1,
                    post,
                )?,
            ];
            for (o, r) in out.iter_mut().zip(rs) {
                (o.predictions, o.contrasts) = (r.predictions, r.contrasts);
            }
        }
        Ok(out)
    }
}
