//! The batch spec file (TOML) and its expansion into variants. See `docs/batch.md`.
//!
//! Every option value keeps its position in the file, so that an error (an unknown axis, a bad
//! value) names the line of the spec where it was written.

use crate::error::{usage, Error, Result};
use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

/// Option name -> value, in file order, with positions: the keys of
/// [`crate::options::Options`], deserialized into it per variant (see `run::job_of`).
pub type Options = IndexMap<String, Spanned<toml::Value>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    #[serde(default)]
    pub batch: BatchSection,
    pub data: DataSection,
    pub base: Options,
    #[serde(default)]
    pub axis: Vec<AxisSpec>,
    #[serde(default)]
    pub exclude: Vec<Spanned<IndexMap<String, Spanned<toml::Value>>>>,
    #[serde(default)]
    pub include: Vec<Spanned<IndexMap<String, Spanned<String>>>>,
    #[serde(default)]
    pub track: Vec<TrackSpec>,
    #[serde(default, rename = "assert")]
    pub asserts: Vec<AssertSpec>,
    #[serde(default)]
    pub check: CheckSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSection {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// When false (default), a failing variant makes the exit code 1.
    #[serde(default)]
    pub allow_failures: bool,
    /// The largest grid accepted (default [`MAX_VARIANTS`]); raise it on purpose.
    #[serde(default)]
    pub max_variants: Option<usize>,
}

/// The largest number of combinations a spec's axes may make (before `exclude`) unless
/// `[batch] max_variants` raises it. Counted before anything is expanded, so a spec of a
/// million variants fails at once with exit 2 instead of filling the memory (issue #19: six
/// axes made 470,000 variants and the run grew until the machine ran out of memory). Each
/// variant is a model fit; 10,000 of them take hours on the CMDS.
pub const MAX_VARIANTS: usize = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// Path of the data file, relative to the spec file.
    pub path: Spanned<String>,
    /// Schema file (relative to the spec file).
    #[serde(default)]
    pub schema: Option<Spanned<String>>,
    #[serde(default)]
    pub delimiter: Option<Spanned<String>>,
    #[serde(default)]
    pub encoding: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxisSpec {
    pub name: Spanned<String>,
    /// Value name -> the options it sets.
    pub values: Spanned<IndexMap<String, Spanned<Options>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackSpec {
    #[serde(default)]
    pub id: Option<String>,
    /// The term: a variable (`age`), a factor level (`C(scope)[3]`) or a coefficient name.
    pub term: Spanned<String>,
    /// `model` (fit), `first`, `second` or `combined` (twopart; the default).
    #[serde(default)]
    pub part: Option<Spanned<String>>,
    /// `margin` (default) or `coef`.
    #[serde(default)]
    pub statistic: Option<Spanned<String>>,
    /// A label for reports.
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssertSpec {
    #[serde(default)]
    pub name: Option<String>,
    pub track: Spanned<String>,
    /// `sign_stable`, `significant`, `within` or `close_to`.
    pub rule: Spanned<String>,
    /// `significant`: the p-value threshold (default 0.05).
    #[serde(default)]
    pub level: Option<f64>,
    /// `significant`: the share of variants that must be significant (default 1).
    #[serde(default)]
    pub share: Option<f64>,
    /// `within`: [low, high].
    #[serde(default)]
    pub interval: Option<Spanned<Vec<f64>>>,
    /// `close_to`: the reference variant's name.
    #[serde(default)]
    pub reference: Option<Spanned<String>>,
    /// `close_to`: the largest allowed absolute difference.
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// Only the variants whose name matches this pattern (`*` matches any text), e.g.
    /// `"total-*"`; default: every variant.
    #[serde(default)]
    pub variants: Option<String>,
}

/// Matches a variant name against a pattern where `*` stands for any text.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name[first.len()..].ends_with(last) || name.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSection {
    /// Relative tolerance of `--check` comparisons (default 1e-6).
    #[serde(default)]
    pub rtol: Option<f64>,
    /// Absolute tolerance of `--check` comparisons (default 1e-10).
    #[serde(default)]
    pub atol: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("total-*", "total-probit-oim"));
        assert!(!glob_match("total-*", "ncms-probit-oim"));
        assert!(glob_match("*-oim-*", "urban-logit-oim-base"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxcyyb"));
        assert!(glob_match("exact", "exact") && !glob_match("exact", "exactly"));
    }
}

/// The spec text and file name, for turning byte offsets into line numbers.
pub struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

impl Source<'_> {
    pub fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())].matches('\n').count() + 1
    }

    /// A spec error at a position: exit code 2, message "FILE:LINE: message".
    pub fn error(&self, offset: usize, msg: impl std::fmt::Display) -> Error {
        usage(format!("{}:{}: {msg}", self.name, self.line(offset)))
    }
}

/// Parses the spec text.
pub fn parse(src: &Source) -> Result<SpecFile> {
    toml::from_str::<SpecFile>(src.text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        src.error(at, crate::error::plain_toml_message(e.message()))
    })
}

/// One variant: its name, the axis values that made it, and its merged options.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    /// (axis, value) pairs in axis order.
    pub values: Vec<(String, String)>,
    pub options: Options,
}

/// Expands the grid: the Cartesian product of the axes (first axis varying slowest), minus
/// `exclude` matches, plus `include` combinations.
pub fn expand(spec: &SpecFile, src: &Source) -> Result<Vec<Variant>> {
    for o in spec.base.iter() {
        check_option(o.0, o.1, src)?;
    }
    let mut axes: Vec<(&str, Vec<(&str, &Options)>)> = Vec::new();
    for a in &spec.axis {
        if axes.iter().any(|(n, _)| *n == a.name.get_ref()) {
            return Err(src.error(a.name.span().start, format!("axis '{}' is defined twice", a.name.get_ref())));
        }
        if a.values.get_ref().is_empty() {
            return Err(src.error(a.values.span().start, format!("axis '{}' has no values", a.name.get_ref())));
        }
        let mut vals = Vec::new();
        for (vname, opts) in a.values.get_ref() {
            for o in opts.get_ref() {
                check_option(o.0, o.1, src)?;
            }
            vals.push((vname.as_str(), opts.get_ref()));
        }
        axes.push((a.name.get_ref().as_str(), vals));
    }
    let axis_names: Vec<&str> = axes.iter().map(|a| a.0).collect();
    let limit = spec.batch.max_variants.unwrap_or(MAX_VARIANTS);
    let grid = axes.iter().try_fold(1usize, |n, (_, vals)| n.checked_mul(vals.len()));
    if grid.is_none_or(|g| g > limit) {
        let sizes: Vec<String> = axes.iter().map(|(n, v)| format!("{n}: {}", v.len())).collect();
        let count = grid.map_or("more than 2^64".to_string(), |g| g.to_string());
        return Err(usage(format!(
            "{}: the axes make {count} variants ({}), more than the limit of {limit}; \
remove axes or values, or raise the limit on purpose with max_variants = N in [batch]",
            src.name,
            sizes.join(", ")
        )));
    }
    // Validate exclude and include rules.
    for rule in &spec.exclude {
        for (axis, val) in rule.get_ref() {
            let Some((_, vals)) = axes.iter().find(|(n, _)| n == axis) else {
                return Err(src.error(
                    val.span().start,
                    format!("exclude names an unknown axis '{axis}' (axes: {})", axis_names.join(", ")),
                ));
            };
            for v in value_names(val, src)? {
                if !vals.iter().any(|(n, _)| *n == v) {
                    return Err(src.error(val.span().start, format!("axis '{axis}' has no value '{v}'")));
                }
            }
        }
    }
    let mut combos: Vec<Vec<usize>> = vec![vec![]];
    for (_, vals) in &axes {
        let mut next = Vec::new();
        for c in &combos {
            for i in 0..vals.len() {
                let mut c2 = c.clone();
                c2.push(i);
                next.push(c2);
            }
        }
        combos = next;
    }
    let excluded = |c: &[usize]| -> Result<bool> {
        for rule in &spec.exclude {
            let mut all = true;
            for (axis, val) in rule.get_ref() {
                let a = axes.iter().position(|(n, _)| n == axis).expect("validated");
                let chosen = axes[a].1[c[a]].0;
                if !value_names(val, src)?.iter().any(|v| v == chosen) {
                    all = false;
                    break;
                }
            }
            if all && !rule.get_ref().is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    };
    let mut kept = Vec::new();
    for c in combos {
        if !excluded(&c)? {
            kept.push(c);
        }
    }
    for rule in &spec.include {
        let mut c = vec![0usize; axes.len()];
        for (axis, val) in rule.get_ref() {
            let Some(a) = axes.iter().position(|(n, _)| n == axis) else {
                return Err(src.error(
                    val.span().start,
                    format!("include names an unknown axis '{axis}' (axes: {})", axis_names.join(", ")),
                ));
            };
            c[a] = axes[a].1.iter().position(|(n, _)| n == val.get_ref()).ok_or_else(|| {
                src.error(val.span().start, format!("axis '{axis}' has no value '{}'", val.get_ref()))
            })?;
        }
        if !kept.contains(&c) {
            kept.push(c);
        }
    }
    if kept.is_empty() {
        return Err(usage(format!("{}: every variant is excluded; nothing to run", src.name)));
    }
    let mut out = Vec::new();
    for c in kept {
        let mut options: Options = spec.base.iter().map(|(k, v)| (canonical_key(k), v.clone())).collect();
        let mut values = Vec::new();
        for (a, &i) in c.iter().enumerate() {
            let (vname, opts) = axes[a].1[i];
            values.push((axes[a].0.to_string(), vname.to_string()));
            for (k, v) in opts {
                options.insert(canonical_key(k), v.clone());
            }
        }
        let name = if values.is_empty() {
            "base".to_string()
        } else {
            values.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join("-")
        };
        out.push(Variant { name, values, options });
    }
    let mut seen = std::collections::HashSet::new();
    for v in &out {
        if !seen.insert(v.name.clone()) {
            return Err(usage(format!(
                "{}: two variants are both named '{}'; give axis values distinct names",
                src.name, v.name
            )));
        }
    }
    Ok(out)
}

fn value_names(v: &Spanned<toml::Value>, src: &Source) -> Result<Vec<String>> {
    match v.get_ref() {
        toml::Value::String(s) => Ok(vec![s.clone()]),
        toml::Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| src.error(v.span().start, "expected value names (strings)"))
            })
            .collect(),
        _ => Err(src.error(v.span().start, "expected a value name or a list of value names")),
    }
}

/// The key an option name stands for (`max-iter` and `max_iter` are one option), so that a
/// value set in an axis replaces the base's whatever its spelling; checked names only.
fn canonical_key(name: &str) -> String {
    crate::options::canonical(name).unwrap_or(name).to_string()
}

fn check_option(name: &str, value: &Spanned<toml::Value>, src: &Source) -> Result<()> {
    let Some(key) = crate::options::canonical(name) else {
        let known = crate::options::KEYS.iter().map(|o| o.0);
        let hint = crate::data::closest(&name.replace('-', "_"), known)
            .map(|h| format!(" (did you mean '{h}'?)"))
            .unwrap_or_default();
        return Err(src.error(value.span().start, format!("unknown option '{name}'{hint}")));
    };
    crate::options::Options::check_value(key, value.get_ref())
        .map_err(|what| src.error(value.span().start, format!("option '{name}' takes {what}")))
}
