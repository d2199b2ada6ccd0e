//! `migfit batch`: a grid of model variants from a spec file, run in parallel, with tracked
//! effects, assertions and reports. See `docs/batch.md` for the spec format.
//!
//! Reproducibility: everything written to the output folder is a function of the spec, the
//! data and the migfit version only — variants are run in any order on any number of threads
//! but reported in spec order, every estimate is bit-identical for any thread count, and
//! wall-clock times go to `run.log` alone.

pub mod render;
pub mod run;
pub mod spec;

use crate::error::{usage, DataError, Error, Result};
use crate::options::Resolved;
use crate::report::combine::Saved;
use rayon::prelude::*;
use run::{EffectRow, VariantResult};
use sha2::{Digest, Sha256};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// What the user asked for.
pub struct BatchOptions {
    pub spec: PathBuf,
    pub out: PathBuf,
    pub jobs: Option<usize>,
    /// Compare with a committed `effects.json` baseline.
    pub check: Option<PathBuf>,
    /// Print progress on stderr.
    pub progress: bool,
}

/// The verdict of a batch run.
pub struct BatchOutcome {
    pub n_variants: usize,
    pub failed_variants: Vec<String>,
    pub failed_assertions: Vec<String>,
    pub check_failures: Vec<String>,
    pub allow_failures: bool,
}

impl BatchOutcome {
    /// True when every assertion holds, the check (if any) passed and no variant failed
    /// (unless the spec allows failures).
    pub fn success(&self) -> bool {
        self.failed_assertions.is_empty()
            && self.check_failures.is_empty()
            && (self.allow_failures || self.failed_variants.is_empty())
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Error::Data(DataError::Io { path: path.display().to_string(), reason: e.to_string() }))
}

/// Runs a batch.
pub fn run_batch(opts: &BatchOptions) -> Result<BatchOutcome> {
    let spec_bytes = read(&opts.spec)?;
    let spec_name = opts.spec.display().to_string();
    let text = String::from_utf8(spec_bytes.clone()).map_err(|_| usage(format!("{spec_name}: not valid UTF-8")))?;
    let src = spec::Source { name: &spec_name, text: &text };
    let parsed = spec::parse(&src)?;
    let variants = spec::expand(&parsed, &src)?;
    run::check_tracks(&parsed, &src, &variants)?;
    // The data source and its schema: read once for the whole run.
    let base_dir = opts.spec.parent().map(Path::to_path_buf).unwrap_or_default();
    let data_path = base_dir.join(parsed.data.path.get_ref());
    let source = data_source(&parsed, &base_dir, &data_path);
    // The spec's own words in the message: `[data] delimiter` at its line, not a CLI flag.
    for (key, value) in [("delimiter", &parsed.data.delimiter), ("encoding", &parsed.data.encoding)] {
        if let Some(v) = value {
            let one = crate::data::source::DataSource {
                data: data_path.clone(),
                delimiter: (key == "delimiter").then(|| v.get_ref().clone()),
                schema: None,
                subsample: None,
                if_expr: None,
                encoding: (key == "encoding").then(|| v.get_ref().clone()),
            };
            if let Err(e) = one.config() {
                return Err(src.error(v.span().start, format!("[data] {key}: {e}")));
            }
        }
    }
    let config = source.config()?;
    // Every variant's options are checked before anything runs (spec errors: exit 2).
    let jobs: Vec<Resolved> =
        variants.iter().map(|v| run::job_of(v, &src, config.schema.as_ref())).collect::<Result<_>>()?;
    run::distinct_save_reps(&variants, &jobs, &src)?;

    // The data: read once, shared by every variant.
    // Hashed from the mapped file (no copy; the loader maps the same pages).
    let data_sha =
        sha256_hex(&crate::data::mapped::read_file(&data_path).map_err(|e| {
            Error::Data(DataError::Io { path: data_path.display().to_string(), reason: e.to_string() })
        })?);
    // Column projection: the union of the variables every variant reads (all of them when
    // one variant's cannot be told).
    let ds = source.load_config(config, batch_variables(&jobs))?;

    let total = variants.len();
    let done = AtomicUsize::new(0);
    let tty = std::io::stderr().is_terminal();
    let run_one = |(v, job): (&spec::Variant, &Resolved)| {
        let t0 = Instant::now();
        let outcome = (|| -> Result<crate::report::combine::Saved> {
            if job.rows.is_empty() {
                job.run_saved(&ds)
            } else {
                job.run_saved(&job.rows.apply(ds.clone())?)
            }
        })()
        .map_err(|e| e.to_string());
        let seconds = t0.elapsed().as_secs_f64();
        let k = done.fetch_add(1, Ordering::SeqCst) + 1;
        if opts.progress {
            let status = if outcome.is_ok() { "ok" } else { "FAILED" };
            if tty {
                let width = 30;
                let filled = k * width / total.max(1);
                let bar = format!("{}{}", "#".repeat(filled), "-".repeat(width - filled));
                eprint!("\r\x1b[2K[{bar}] {k}/{total} {} {status}", v.name);
                if k == total {
                    eprintln!();
                }
            } else {
                eprintln!("[{k}/{total}] {} {status} ({seconds:.2} s)", v.name);
            }
        }
        VariantResult { variant: v.clone(), outcome, seconds }
    };
    let t_all = Instant::now();
    let results: Vec<VariantResult> = match opts.jobs {
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .map_err(|e| usage(format!("jobs {n}: {e}")))?;
            pool.install(|| variants.par_iter().zip(jobs.par_iter()).map(run_one).collect())
        }
        None => variants.par_iter().zip(jobs.par_iter()).map(run_one).collect(),
    };
    let wall = t_all.elapsed().as_secs_f64();

    let rows: Vec<EffectRow> = run::effect_rows(&results, &parsed.track);
    let assertions = run::evaluate(&parsed.asserts, &rows);
    let check_failures = match &opts.check {
        Some(p) => compare_baseline(p, &rows, &parsed.check)?,
        None => Vec::new(),
    };
    let failed_variants: Vec<String> =
        results.iter().filter_map(|r| r.outcome.as_ref().err().map(|e| format!("{}: {}", r.variant.name, e))).collect();

    let ctx = render::Context {
        title: parsed.batch.name.clone().unwrap_or_else(|| "migfit batch".into()),
        description: parsed.batch.description.clone(),
        spec_name: opts.spec.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        spec_sha: sha256_hex(&spec_bytes),
        data_name: parsed.data.path.get_ref().clone(),
        data_sha,
        axes: parsed.axis.iter().map(|a| a.name.get_ref().clone()).collect(),
        tracks: parsed.track.clone(),
        results: &results,
        rows: &rows,
        assertions: &assertions,
        check: opts.check.as_ref().map(|_| check_failures.clone()),
    };
    render::write_all(&opts.out, &ctx)?;
    write_tables(&opts.out, &results, &jobs, &ctx.data_sha)?;
    let mut log = format!("migfit batch {}\nwall time: {wall:.3} s\n", crate::VERSION);
    for r in &results {
        log.push_str(&format!(
            "{}\t{:.3} s\t{}\n",
            r.variant.name,
            r.seconds,
            if r.outcome.is_ok() { "ok" } else { "failed" }
        ));
    }
    crate::io::write_output(&log, Some(&opts.out.join("run.log")))?;

    Ok(BatchOutcome {
        n_variants: total,
        failed_variants,
        failed_assertions: assertions
            .iter()
            .filter(|a| !a.passed)
            .map(|a| format!("{}: {}", a.name, a.detail))
            .collect(),
        check_failures,
        allow_failures: parsed.batch.allow_failures,
    })
}

/// The table of each successful variant that asks for one (`format`, with the table options
/// `layout`, `show`, `stars`, `digits`, `lang`, `title`, `caption`, `latex_standalone`):
/// `variants/NAME.EXT`, the file `migfit fit -o NAME.EXT` (or `twopart`) would write.
fn write_tables(dir: &Path, results: &[VariantResult], jobs: &[Resolved], data_sha: &str) -> Result<()> {
    for (r, job) in results.iter().zip(jobs) {
        if let (Ok(Saved::Model(report)), Some(_)) = (&r.outcome, &job.table.plot) {
            let svg = crate::report::plot::report_svg(report, &job.table.table)?;
            let path = dir.join("variants").join(format!("{}.svg", render::slug(&r.variant.name)));
            crate::io::write_output(&svg, Some(&path))?;
        }
        let (Ok(saved), Some(format)) = (&r.outcome, job.table.format) else { continue };
        let ext = format.extension();
        // As the command line's report, which carries the data's hash.
        let bytes = match saved.with_data_sha(data_sha) {
            Saved::Model(report) => {
                crate::report::render_bytes(&report, &job.table.table, format, job.table.standalone)?
            }
            Saved::Mediation(m) => crate::report::render_mediation(&m, &job.table.table, format, job.table.standalone)?,
        };
        let path = dir.join("variants").join(format!("{}.{ext}", render::slug(&r.variant.name)));
        crate::io::write_atomic(&path, &bytes)?;
    }
    Ok(())
}

/// Every variable the batch's variants read (models, survey options, row filters), in
/// variant order; `None` when one variant's cannot be told.
fn batch_variables(jobs: &[Resolved]) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for job in jobs {
        for v in job.variables()? {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    Some(out)
}

/// The data options of the spec as a `DataSource` (schema and paths relative to the
/// spec file), so that a batch reads data exactly as `migfit fit` does.
fn data_source(spec: &spec::SpecFile, base_dir: &Path, data_path: &Path) -> crate::data::source::DataSource {
    crate::data::source::DataSource {
        data: data_path.to_path_buf(),
        delimiter: spec.data.delimiter.as_ref().map(|d| d.get_ref().clone()),
        schema: spec.data.schema.as_ref().map(|s| base_dir.join(s.get_ref())),
        subsample: None,
        if_expr: None,
        encoding: spec.data.encoding.as_ref().map(|e| e.get_ref().clone()),
    }
}

/// Compares this run's effects with a baseline `effects.json`: the same variants and tracks,
/// estimates and standard errors within `atol + rtol |baseline|`.
fn compare_baseline(path: &Path, rows: &[EffectRow], tol: &spec::CheckSection) -> Result<Vec<String>> {
    let text = read(path)?;
    let base: Vec<serde_json::Value> = serde_json::from_slice(&text)
        .map_err(|e| usage(format!("baseline {}: not an effects.json file: {e}", path.display())))?;
    let rtol = tol.rtol.unwrap_or(1e-6);
    let atol = tol.atol.unwrap_or(1e-10);
    let mut out = Vec::new();
    let key = |v: &str, t: &str| format!("{v} / {t}");
    for b in &base {
        let (Some(v), Some(t)) = (b["variant"].as_str(), b["track"].as_str()) else {
            return Err(usage(format!("baseline {}: rows need 'variant' and 'track'", path.display())));
        };
        match rows.iter().find(|r| r.variant == v && r.track == t) {
            None => out.push(format!("{}: in the baseline, not in this run", key(v, t))),
            Some(r) => {
                if b["status"].as_str() != Some(r.status.as_str()) {
                    out.push(format!("{}: status {} (baseline {})", key(v, t), r.status, b["status"]));
                    continue;
                }
                for (field, ours) in [("estimate", r.estimate), ("std_error", r.std_error)] {
                    let theirs = b[field].as_f64();
                    match (ours, theirs) {
                        (Some(a), Some(c)) if (a - c).abs() <= atol + rtol * c.abs() => {}
                        (None, None) => {}
                        (a, c) => out.push(format!("{}: {field} {:?} (baseline {:?})", key(v, t), a, c)),
                    }
                }
            }
        }
    }
    for r in rows {
        if !base.iter().any(|b| b["variant"].as_str() == Some(&r.variant) && b["track"].as_str() == Some(&r.track)) {
            out.push(format!("{}: in this run, not in the baseline", key(&r.variant, &r.track)));
        }
    }
    Ok(out)
}
