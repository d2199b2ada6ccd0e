//! [`Options::resolve`]: the options checked in the command line's order and turned into
//! jobs, row filters and table options.

use super::{
    fault, Checked, Command, Context, Keyed, ModelRequest, Options, Resolved, RowFilters, ScaleValue, TableChoice,
};
use crate::analysis::{BootstrapRun, ByRequest, Estimation, FitJob, Job, PostEstimation, TwoPartJob};
use crate::data::source::{if_filter, subsample_filter};
use crate::design::{SampleOptions, WeightType};
use crate::formula::Formula;
use crate::inference::bootstrap::{BootstrapSpec, CiMethod, Resampling};
use crate::inference::convention::Convention;
use crate::inference::survey::{SingleUnit, SurveySpec};
use crate::inference::vce::VceKind;
use crate::inference::wild::{WildReps, WildRequest, WildWeights};
use crate::margins::{Adjust, At, MarginsScale, PostRequest};
use crate::mediate::{Method, Request};
use crate::model::{ModelKind, ModelSpec, Scale};
use crate::report::{Format, Lang, Layout, Show, Stars, StatRow, TableOptions};

impl Options {
    /// Checks every option and builds the jobs; the error names the key at fault.
    pub fn resolve(&self, ctx: &Context) -> Checked<Resolved> {
        let command = match self.command.as_deref().unwrap_or("fit") {
            "fit" => Command::Fit,
            "twopart" => Command::TwoPart,
            "mediate" => Command::Mediate,
            other => {
                return Err(fault("command", format!("unknown command '{other}' (expected fit, twopart or mediate)")))
            }
        };
        let table = self.check(ctx)?;
        let (jobs, mediation) = match command {
            Command::Fit => (self.fit_jobs(ctx)?, None),
            Command::TwoPart => (vec![Job::TwoPart(self.twopart_job(ctx)?)], None),
            Command::Mediate => (Vec::new(), Some(self.mediation(ctx)?)),
        };
        Ok(Resolved { command, jobs, mediation, rows: self.rows(ctx)?, table })
    }

    /// The checks made before anything else: level, iterations and the table options.
    fn check(&self, ctx: &Context) -> Checked<TableChoice> {
        let level = self.level();
        if !(level > 10.0 && level < 99.99) {
            return Err(fault("level", format!("--level must be between 10 and 99.99, not {level}")));
        }
        if self.max_iter == Some(0) {
            return Err(fault("max_iter", "--max-iter must be at least 1"));
        }
        self.table(ctx)
    }

    fn level(&self) -> f64 {
        self.level.unwrap_or(95.0)
    }

    /// Whether marginal effects were asked for (`margins`, `margins_at` or `show = margins`).
    pub fn wants_margins(&self, ctx: &Context) -> bool {
        self.margins.unwrap_or(ctx.margins_default)
            || self.margins_at.is_some()
            || self.show.as_deref() == Some("margins")
            || (self.at.is_some() && self.predict_margins.is_none() && self.contrast.is_none())
            || self.over.is_some()
            || self.dydx.is_some()
            || self.margins_scale.is_some()
            || self.test_equal
    }

    fn table(&self, ctx: &Context) -> Checked<TableChoice> {
        let format = match (&self.format, ctx.output) {
            (Some(f), _) => Some(Format::parse(f).at("format")?),
            (None, Some(p)) => Some(Format::from_path(p).ok_or_else(|| {
                fault(
                    "format",
                    format!(
                        "cannot tell the format from the name '{}': use .txt, .md, .tex, .csv, .html, .json, .docx, .xlsx or .typ, or give --format",
                        p.display()
                    ),
                )
            })?),
            (None, None) => None,
        };
        if self.latex_standalone && format.unwrap_or(Format::Text) != Format::Latex {
            return Err(fault(
                "latex_standalone",
                "--latex-standalone applies to LaTeX output (--format latex or -o FILE.tex)",
            ));
        }
        let digits = self.digits.unwrap_or(3);
        if digits > 12 {
            return Err(fault("digits", format!("--digits must be at most 12, not {digits}")));
        }
        let show = match self.show.as_deref() {
            Some(s) => Show::parse(s).at("show")?,
            None if self.wants_margins(ctx) => Show::Margins,
            None => Show::Coef,
        };
        Ok(TableChoice {
            format,
            table: TableOptions {
                layout: Layout::parse(self.layout.as_deref().unwrap_or("stacked")).at("layout")?,
                show,
                stars: Stars::parse(self.stars.as_deref().unwrap_or("0.01,0.05")).at("stars")?,
                digits,
                lang: Lang::parse(self.lang.as_deref().unwrap_or("en")).at("lang")?,
                titles: self.title.clone(),
                caption: self.caption.clone(),
                stats: self.stats.as_deref().map(StatRow::parse_list).transpose().at("stats")?.unwrap_or_default(),
            },
            standalone: self.latex_standalone,
            plot: self.plot()?,
        })
    }

    /// The plot's file: an `.svg` name (the only format plots are drawn in).
    fn plot(&self) -> Checked<Option<std::path::PathBuf>> {
        let Some(p) = &self.plot else { return Ok(None) };
        let path = std::path::PathBuf::from(p);
        let svg = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("svg"));
        if !svg || path.file_stem().is_none() {
            return Err(fault("plot", format!("--plot writes SVG: give a file name ending in .svg, not '{p}'")));
        }
        Ok(Some(path))
    }

    /// Pairs the repeated formula / response / model / family / link options of a `fit`.
    pub fn model_requests(&self) -> Checked<Vec<ModelRequest>> {
        let formulas: Vec<String> = if self.response.is_empty() {
            self.formula.clone()
        } else {
            if self.formula.len() != 1 {
                return Err(fault(
                    "response",
                    "--response takes one --formula whose right-hand side every response shares",
                ));
            }
            let f = &self.formula[0];
            let rhs = f.split_once('~').map(|(_, r)| r).unwrap_or(f).trim();
            self.response.iter().map(|r| format!("{r} ~ {rhs}")).collect()
        };
        let n = formulas.len();
        let models: Vec<String> = match self.model.len() {
            0 => vec!["glm".to_string(); n],
            1 => vec![self.model[0].clone(); n],
            k if k == n => self.model.clone(),
            k => {
                return Err(fault(
                    "model",
                    format!("{k} --model values for {n} models: give one (for all) or one per model"),
                ))
            }
        };
        let n_glm = models.iter().filter(|m| m.as_str() == "glm").count();
        let per_glm = |vals: &[String], opt: &'static str| -> Checked<Vec<Option<String>>> {
            let mut it = vals.iter();
            let mut out = Vec::new();
            for m in &models {
                if m != "glm" {
                    out.push(None);
                    continue;
                }
                out.push(match vals.len() {
                    0 => None,
                    1 => Some(vals[0].clone()),
                    k if k == n_glm => it.next().cloned(),
                    k => {
                        return Err(fault(
                            opt,
                            format!("{k} --{opt} values for {n_glm} GLMs: give one (for all) or one per GLM"),
                        ))
                    }
                });
            }
            Ok(out)
        };
        let fams = per_glm(&self.family, "family")?;
        let links = per_glm(&self.link, "link")?;
        Ok(formulas
            .into_iter()
            .zip(models)
            .zip(fams.into_iter().zip(links))
            .map(|((formula, model), (family, link))| ModelRequest { formula, model, family, link })
            .collect())
    }

    /// The fitting controls: dispersion, iterations, keep going.
    fn controls(&self, spec: &mut ModelSpec) -> Checked<()> {
        spec.scale = match &self.scale {
            None => None,
            Some(ScaleValue::Text(s)) => Some(Scale::parse(s).at("scale")?),
            // Display gives the shortest text that parses back to the same number.
            Some(ScaleValue::Number(x)) => Some(Scale::parse(&x.to_string()).at("scale")?),
        };
        spec.max_iter = self.max_iter.unwrap_or(100);
        spec.keep_going = self.keep_going;
        spec.firth = self.firth;
        Ok(())
    }

    fn fit_jobs(&self, ctx: &Context) -> Checked<Vec<Job>> {
        let requests = self.model_requests()?;
        // Every specification is checked before the (possibly slow) load.
        let est = self.estimation(ctx)?;
        if est.by.is_some() && est.hypotheses.predict.is_some() {
            return Err(fault(
                "predict",
                "--predict writes one model's predictions: without --by (run fit with --if on a group for its predictions)",
            ));
        }
        if est.by.is_some() && requests.len() > 1 {
            return Err(fault(
                "by",
                format!(
                    "--by fits one model in each group: give one --formula (and one --response), not {}",
                    requests.len()
                ),
            ));
        }
        let mut jobs = Vec::new();
        for (i, r) in requests.iter().enumerate() {
            let kind = ModelKind::parse(&r.model).at("model")?;
            let mut spec = ModelSpec::new(kind, r.family.as_deref(), r.link.as_deref())
                .at(if r.link.is_some() && r.family.is_none() { "link" } else { "family" })?;
            self.controls(&mut spec)?;
            if spec.firth && spec.family != crate::model::FamilyKind::Binomial {
                return Err(fault(
                    "firth",
                    format!(
                        "--firth (Firth's bias reduction) applies to binomial models (probit, logit, glm with the binomial family), not the {} family",
                        spec.family.family().name()
                    ),
                ));
            }
            let formula = Formula::parse(&r.formula).at("formula")?;
            est.check().at("vce")?;
            let mut est = est.clone();
            if let Some(p) = est.hypotheses.predict.as_mut().filter(|_| requests.len() > 1) {
                // One file per model: pred.csv -> pred.model1.csv, pred.model2.csv, ...
                let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                let ext = p.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
                p.set_file_name(format!("{stem}.model{}{ext}", i + 1));
            }
            if let Some(b) = est.bootstrap.as_mut().filter(|_| requests.len() > 1) {
                // One file per model: reps.csv -> reps.model1.csv, reps.model2.csv, ...
                for save in b.save.iter_mut().chain(b.save_weights.iter_mut()) {
                    let stem = save.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                    let ext = save.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
                    save.set_file_name(format!("{stem}.model{}{ext}", i + 1));
                }
            }
            jobs.push(Job::Fit(FitJob::new(formula, spec, self.odds_ratios, est).at("odds_ratios")?));
        }
        Ok(jobs)
    }

    /// The `mediate` request: outcome and controls, treatment, mediators, method, model.
    fn mediation(&self, ctx: &Context) -> Checked<Request> {
        let outcome =
            self.outcome.as_deref().ok_or_else(|| fault("outcome", "mediate needs --outcome \"y ~ controls\""))?;
        let f = Formula::parse(outcome).at("outcome")?;
        let (y, controls) = match (&f.response, outcome.split_once('~')) {
            (Some((_, y)), Some((_, rhs))) => (y.clone(), rhs.trim().to_string()),
            _ => {
                return Err(fault(
                    "outcome",
                    format!("--outcome takes \"y ~ controls\" (or \"y ~ 1\"), not '{outcome}'"),
                ))
            }
        };
        let controls = if controls == "1" { String::new() } else { controls };
        let treatment = self.treatment.clone().ok_or_else(|| fault("treatment", "mediate needs --treatment"))?;
        let mediators: Vec<String> = self
            .mediators
            .iter()
            .flat_map(|m| m.split(','))
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        if mediators.is_empty() {
            return Err(fault("mediators", "mediate needs --mediators M1,M2,..."));
        }
        let model = match self.model.as_slice() {
            [] => ModelKind::Logit,
            [m] => match ModelKind::parse(m).at("model")? {
                k @ (ModelKind::Logit | ModelKind::Probit) => k,
                _ => return Err(fault("model", "mediate takes -m logit or -m probit")),
            },
            ms => return Err(fault("model", format!("mediate takes one --model, not {}", ms.len()))),
        };
        let method = Method::parse(self.method.as_deref().unwrap_or("khb")).at("method")?;
        let est = self.estimation(ctx)?;
        if est.by.is_some() {
            return Err(fault("by", "mediate has no --by (run it on each group with --if)"));
        }
        if est.margins.is_some() && self.margins_at.is_some() {
            return Err(fault("margins_at", "mediate has no --margins-at (use --ape for the APE scale)"));
        }
        let req = Request {
            outcome: y,
            controls,
            treatment,
            mediators,
            model,
            method,
            ape: self.ape,
            interaction: self.interaction,
            est: Estimation { margins: None, ..est },
            max_iter: self.max_iter.unwrap_or(100),
        };
        let key = match method {
            Method::Causal if self.ape => "ape",
            Method::Khb if self.interaction => "interaction",
            _ => "mediators",
        };
        req.check().at(key)?;
        Ok(req)
    }

    /// The one value of an option a two-part model takes once.
    fn single(&self, vals: &[String], key: &'static str, default: &'static str) -> Checked<String> {
        match vals {
            [] => Ok(default.to_string()),
            [v] => Ok(v.clone()),
            _ => Err(fault(key, format!("a two-part model takes one --{key}, not {}", vals.len()))),
        }
    }

    fn twopart_job(&self, ctx: &Context) -> Checked<TwoPartJob> {
        let first_kind = match self.first.as_deref().unwrap_or("probit") {
            "probit" => ModelKind::Probit,
            "logit" => ModelKind::Logit,
            other => return Err(fault("first", format!("unknown --first '{other}' (expected probit or logit)"))),
        };
        let mut first = ModelSpec::new(first_kind, None, None).at("first")?;
        let family = self.single(&self.family, "family", "gamma")?;
        let link = self.single(&self.link, "link", "log")?;
        let mut second = ModelSpec::new(ModelKind::Glm, Some(&family), Some(&link)).at("family")?;
        self.controls(&mut first)?;
        self.controls(&mut second)?;
        // --firth is for the first (binary) part only.
        second.firth = false;
        first.scale = None;
        let formula = match self.formula.as_slice() {
            [f] => Formula::parse(f).at("formula")?,
            fs => return Err(fault("formula", format!("a two-part model takes one --formula, not {}", fs.len()))),
        };
        let formula2 = self.formula2.as_deref().map(Formula::parse_rhs).transpose().at("formula2")?;
        let est = self.estimation(ctx)?;
        est.check().at("vce")?;
        if est.by.is_some() {
            return Err(fault(
                "by",
                "--by fits a single-equation model (migfit fit) in each group; for a two-part model, run twopart on each group (--if)",
            ));
        }
        // The job parses `response2` (its only check left once the estimation options are checked).
        TwoPartJob::new(formula, formula2, self.response2.clone(), first, second, self.joint_vce, est).at("response2")
    }

    /// The validated estimation options: variance, weights, survey design, margins.
    fn estimation(&self, ctx: &Context) -> Checked<Estimation> {
        let mut sample = self.sample_options()?;
        let survey = self.survey(ctx, &mut sample)?;
        if self.margins_at.is_some() && self.at.is_some() {
            return Err(fault("at", "--at and --margins-at (its older spelling) are both given: keep one"));
        }
        let margins = if self.wants_margins(ctx) {
            Some(match self.at.as_deref() {
                Some("means") | Some("mean") => At::Means,
                _ => At::parse(self.margins_at.as_deref()).at("margins_at")?,
            })
        } else {
            None
        };
        let post = self.post()?;
        Ok(Estimation {
            vce: self.vce.as_deref().map(VceKind::parse).transpose().at("vce")?,
            convention: self
                .convention
                .as_deref()
                .map(Convention::parse)
                .transpose()
                .at("convention")?
                .unwrap_or_default(),
            sample,
            level: self.level(),
            margins,
            post,
            survey,
            hypotheses: self.post_estimation()?,
            bootstrap: self.bootstrap_run()?,
            by: self.by_request()?,
        })
    }

    /// The bootstrap options, checked (`None` when none is given).
    fn bootstrap_run(&self) -> Checked<Option<BootstrapRun>> {
        if self.reps.is_none()
            && self.seed.is_none()
            && self.bootstrap.is_none()
            && self.ci.is_none()
            && self.save_reps.is_none()
            && self.save_weights.is_none()
        {
            return Ok(None);
        }
        let mut spec = BootstrapSpec::default();
        if let Some(r) = self.reps {
            if r < 2 {
                return Err(fault("reps", format!("--reps must be at least 2 bootstrap replicates, not {r}")));
            }
            spec.reps = r as usize;
        }
        if let Some(s) = self.seed {
            if s < 0 {
                return Err(fault("seed", format!("--seed must be a non-negative integer, not {s}")));
            }
            spec.seed = s as u64;
        }
        if let Some(b) = &self.bootstrap {
            spec.resampling = Resampling::parse(b).at("bootstrap")?;
        }
        if let Some(c) = &self.ci {
            spec.ci = CiMethod::parse(c).at("ci")?;
        }
        Ok(Some(BootstrapRun {
            spec,
            save: self.save_reps.as_ref().map(std::path::PathBuf::from),
            save_weights: self.save_weights.as_ref().map(std::path::PathBuf::from),
        }))
    }

    /// Predictive margins, contrasts and the at-grid, parsed.
    fn post(&self) -> Checked<PostRequest> {
        let predict =
            self.predict_margins.as_deref().map(PostRequest::parse_predict).transpose().at("predict_margins")?;
        let contrasts = self.contrast.as_deref().map(PostRequest::parse_contrasts).transpose().at("contrast")?;
        let mcompare = self.mcompare.as_deref().map(Adjust::parse).transpose().at("mcompare")?;
        let grid = match self.at.as_deref() {
            Some("means") | Some("mean") => {
                if predict.is_some() || contrasts.is_some() {
                    return Err(fault(
                        "at",
                        "--at means sets effects at the means; predictive margins and contrasts average over the rows (give an at-grid such as age=30)",
                    ));
                }
                None
            }
            other => other.map(crate::margins::parse_grid).transpose().at("at")?,
        };
        let post = PostRequest {
            predict: predict.unwrap_or_default(),
            contrasts: contrasts.unwrap_or_default(),
            mcompare,
            grid: grid.unwrap_or_default(),
            over: self.over.clone(),
            dydx: self.dydx.as_deref().map(crate::margins::parse_dydx).transpose().at("dydx")?.unwrap_or_default(),
            scale: self
                .margins_scale
                .as_deref()
                .map(MarginsScale::parse)
                .transpose()
                .at("margins_scale")?
                .unwrap_or_default(),
            vce: self
                .margins_vce
                .as_deref()
                .map(crate::margins::MarginsVceKind::parse)
                .transpose()
                .at("margins_vce")?
                .unwrap_or_default(),
        };
        if post.mcompare.is_some() && post.contrasts.is_empty() {
            return Err(fault("mcompare", "--mcompare adjusts contrasts: give --contrast VAR:pairwise too"));
        }
        Ok(post)
    }

    /// `--by` and `--test-equal`, checked (the variable is looked up in the data).
    fn by_request(&self) -> Checked<Option<ByRequest>> {
        match &self.by {
            None if self.test_equal => Err(fault("test_equal", "--test-equal compares groups: give --by VAR too")),
            None => Ok(None),
            Some(v) if v.trim().is_empty() => Err(fault("by", "--by needs a variable")),
            Some(v) => Ok(Some(ByRequest { var: v.trim().to_string(), test_equal: self.test_equal })),
        }
    }

    /// `--test` and `--lincom`: checked for empty entries here; the names are resolved against
    /// the fitted coefficients after the fit.
    fn post_estimation(&self) -> Checked<PostEstimation> {
        if self.test.iter().any(|t| t.trim().is_empty()) {
            return Err(fault("test", "an empty --test hypothesis"));
        }
        if self.lincom.iter().any(|t| t.trim().is_empty()) {
            return Err(fault("lincom", "an empty --lincom expression"));
        }
        let predict = match self.predict.as_deref().map(str::trim) {
            None => None,
            Some("") => return Err(fault("predict", "--predict needs a file name ending in .csv or .parquet")),
            Some(p) => {
                let p = std::path::PathBuf::from(p);
                crate::analysis::PredictFormat::of(&p).at("predict")?;
                Some(p)
            }
        };
        if self.test_margins.iter().any(|t| t.trim().is_empty()) {
            return Err(fault("test_margins", "an empty --test-margins hypothesis"));
        }
        if self.lincom_margins.iter().any(|t| t.trim().is_empty()) {
            return Err(fault("lincom_margins", "an empty --lincom-margins expression"));
        }
        Ok(PostEstimation {
            tests: self.test.clone(),
            lincom: self.lincom.clone(),
            margin_tests: self.test_margins.clone(),
            margin_lincom: self.lincom_margins.clone(),
            wild: self.wild_request()?,
            predict,
        })
    }

    /// `--wild-reps`, `--wild-weights`, `--wild-seed`, checked against the tests, the clusters
    /// and the fit they need (`None` when not asked for).
    fn wild_request(&self) -> Checked<Option<WildRequest>> {
        use super::WildRepsValue;
        let Some(value) = &self.wild_reps else {
            if self.wild_weights.is_some() {
                return Err(fault(
                    "wild_weights",
                    "--wild-weights sets the wild bootstrap's weights: give --wild-reps too",
                ));
            }
            if self.wild_seed.is_some() {
                return Err(fault("wild_seed", "--wild-seed seeds the wild bootstrap's draws: give --wild-reps too"));
            }
            return Ok(None);
        };
        let bad = |v: &str| {
            fault(
                "wild_reps",
                format!("--wild-reps takes a number of draws (at least 1) or 'all' (every Rademacher sign vector), not '{v}'"),
            )
        };
        let reps = match value {
            WildRepsValue::Number(n) if *n >= 1 => WildReps::Draws(*n as usize),
            WildRepsValue::Number(n) => return Err(bad(&n.to_string())),
            WildRepsValue::Text(t) if t.trim() == "all" => WildReps::All,
            WildRepsValue::Text(t) => match t.trim().parse::<i64>() {
                Ok(n) if n >= 1 => WildReps::Draws(n as usize),
                _ => return Err(bad(t)),
            },
        };
        let weights = self.wild_weights.as_deref().map(WildWeights::parse).transpose().at("wild_weights")?;
        let weights = weights.unwrap_or(WildWeights::Rademacher);
        if weights == WildWeights::Webb && reps == WildReps::All {
            return Err(fault(
                "wild_weights",
                "Webb weights are sampled, not enumerated (6^G vectors): give --wild-reps a number of draws, or use Rademacher weights with --wild-reps all",
            ));
        }
        let seed = match self.wild_seed {
            Some(s) if s < 0 => {
                return Err(fault("wild_seed", format!("--wild-seed must be a non-negative integer, not {s}")))
            }
            Some(s) => s as u64,
            None => 1,
        };
        if self.test.is_empty() {
            return Err(fault(
                "wild_reps",
                "--wild-reps bootstraps the Wald tests: give the hypothesis with --test (e.g. --test \"educ = 0\")",
            ));
        }
        if self.svy || self.strata.is_some() || self.psu.is_some() || self.subpop.is_some() {
            return Err(fault(
                "wild_reps",
                "the wild score bootstrap resamples clusters of a model fit; it is not available with a survey design",
            ));
        }
        if self.cluster.is_none() {
            return Err(fault(
                "wild_reps",
                "the wild score bootstrap draws one weight per cluster: give --cluster VAR",
            ));
        }
        if self.by.is_some() {
            return Err(fault(
                "wild_reps",
                "--wild-reps is not available with --by (its tests compare groups under the stacked variance)",
            ));
        }
        if self.firth {
            return Err(fault(
                "wild_reps",
                "the wild score bootstrap imposes the null on the maximum-likelihood fit; it is not defined for Firth's penalized fit",
            ));
        }
        Ok(Some(WildRequest { reps, weights, seed }))
    }

    fn sample_options(&self) -> Checked<SampleOptions> {
        let weights = match (&self.weights, &self.weight_type) {
            (Some(v), Some(t)) => Some((v.clone(), WeightType::parse(t).at("weight_type")?)),
            (Some(_), None) => {
                return Err(fault("weights", "--weights needs --weight-type fweight, pweight or aweight"))
            }
            (None, Some(_)) => return Err(fault("weight_type", "--weight-type needs --weights")),
            (None, None) => None,
        };
        Ok(SampleOptions { weights, cluster: self.cluster.clone(), ..Default::default() })
    }

    /// The survey design asked for, if any: strata/psu/fpc, else the schema's `[design]`;
    /// the design's weight becomes a pweight unless weights are given. The design columns
    /// join the listwise deletion.
    fn survey(&self, ctx: &Context, sample: &mut SampleOptions) -> Checked<Option<SurveySpec>> {
        let explicit = self.strata.is_some() || self.psu.is_some() || self.fpc.is_some();
        let wants = self.svy
            || self.subpop.is_some()
            || self.singleunit.is_some()
            || explicit
            || self.vce.as_deref().is_some_and(|v| VceKind::parse(v).ok() == Some(VceKind::Survey));
        if !wants {
            return Ok(None);
        }
        let declared = ctx.schema.map(|s| s.design.clone()).unwrap_or_default();
        let spec = SurveySpec {
            strata: self.strata.clone().or(if explicit { None } else { declared.strata.clone() }),
            psu: self.psu.clone().or(if explicit { None } else { declared.psu.clone() }),
            fpc: self.fpc.clone().or(if explicit { None } else { declared.fpc.clone() }),
            subpop: self.subpop.clone(),
            singleunit: match self.singleunit.as_deref() {
                Some(rule) => SingleUnit::parse(rule).at("singleunit")?,
                None if explicit => SingleUnit::default(),
                None => declared.singleunit.unwrap_or_default(),
            },
        };
        if spec.strata.is_none() && spec.psu.is_none() {
            return Err(fault(
                "svy",
                if ctx.schema.is_some() {
                    "--svy: the schema declares no survey design ([design] strata or psu); give --psu VAR and/or --strata VAR"
                } else {
                    "--svy needs the survey design: --psu VAR and/or --strata VAR (or a --schema with a [design] table)"
                },
            ));
        }
        if sample.weights.is_none() {
            if let Some(w) = declared.weight.clone().filter(|_| !explicit || self.svy) {
                sample.weights = Some((w, WeightType::Probability));
            }
        }
        for c in spec.columns() {
            if !sample.also_require.contains(&c) {
                sample.also_require.push(c);
            }
        }
        Ok(Some(spec))
    }

    /// The row filters, parsed (the subsample looked up in the schema).
    fn rows(&self, ctx: &Context) -> Checked<RowFilters> {
        let subsample =
            self.subsample.as_deref().map(|n| subsample_filter(ctx.schema, n)).transpose().at("subsample")?;
        let condition = self.if_expr.as_deref().map(if_filter).transpose().at("if")?;
        let trim = match &self.trim {
            Some(s) => {
                let bad = || fault("trim", format!("trim takes VAR:QUANTILE (e.g. amount:0.99), not '{s}'"));
                let (var, q) = s.split_once(':').ok_or_else(bad)?;
                let q: f64 = q.trim().parse().map_err(|_| bad())?;
                if !(0.0 < q && q < 1.0) {
                    return Err(bad());
                }
                Some((var.trim().to_string(), q))
            }
            None => None,
        };
        Ok(RowFilters { subsample, condition, trim })
    }
}
