//! The studies migfit knows, behind one trait. `migfit reproduce NAME` and
//! `migfit simulate --study NAME` look the study up here and call it; nothing else lists the
//! studies. Adding a study is one file (`src/study/NAME.rs`, implementing [`Study`]) and one
//! entry in the `studies!` line of `src/study/mod.rs`, which declares the module and
//! registers the study.

use super::compare::Cell;
use crate::data::Dataset;
use crate::error::{usage, Result};
use crate::simulate::RawTable;

/// Declares each study's module and lists the studies (in the order help texts list them):
/// `studies!(module::Type, ...)`, where `Type` implements [`Study`].
macro_rules! studies {
    ($($module:ident :: $study:ident),* $(,)?) => {
        $(pub mod $module;)*
        /// Every study, in the order help texts list them.
        static STUDIES: &[&dyn Study] = &[$(&$module::$study),*];
    };
}
pub(crate) use studies;

/// A text file shipped inside the binary: its content and the repository path it comes from.
#[derive(Debug, Clone, Copy)]
pub struct Embedded {
    pub text: &'static str,
    pub path: &'static str,
}

/// The synthetic extract a run uses when no data file is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synthetic {
    pub n: usize,
    pub seed: u64,
}

/// A study migfit reproduces: what `simulate` and `reproduce` need to know about it.
pub trait Study: Sync {
    /// The name on the command line.
    fn name(&self) -> &'static str;
    /// One line: the paper or question, the survey and its schema, what is published.
    fn title(&self) -> &'static str;
    /// The schema of the study's raw extract (an edited copy may replace it).
    fn schema(&self) -> Embedded;
    /// The specification the study runs (an edited copy may replace it); `None` when the study
    /// has no editable specification.
    fn spec(&self) -> Option<Embedded>;
    /// The published tables the reproduction is compared with (empty: nothing is published).
    fn published(&self) -> &'static [Embedded];
    /// Respondents in the analysis population of a synthetic extract, by default.
    fn default_n(&self) -> usize;
    /// The seed of a synthetic extract, by default: the seed `reproduce` uses without data,
    /// so that `simulate` with the defaults writes the extract `reproduce` runs on.
    fn default_seed(&self) -> u64;
    /// A synthetic extract with `n` respondents in the analysis population, in the raw layout
    /// of [`Study::schema`]; the same seed gives the same extract.
    fn simulate(&self, n: usize, seed: u64) -> RawTable;
    /// The specification checked and ready to run: `text` is an edited copy, `None` the
    /// embedded one. A study without a specification refuses `Some`.
    fn plan(&self, text: Option<&str>) -> Result<Box<dyn Plan>>;
}

/// A study with its specification parsed and checked.
pub trait Plan {
    /// The synthetic extract to run on when no data file is given.
    fn synthetic(&self) -> Synthetic;
    /// Runs the specification on the analysis dataset (read through the study's schema);
    /// `source` names the data in the output.
    fn run(&self, ds: &Dataset, source: &str) -> Result<Box<dyn Results>>;
}

/// What a study's run produced, ready to print.
pub trait Results {
    /// The published cells beside the reproduced ones (empty when nothing is published).
    fn cells(&self) -> &[Cell];
    /// The study's text report.
    fn to_text(&self) -> String;
    /// The fitted models and the study's own results as JSON.
    fn to_json(&self) -> String;
}

/// Every study.
pub fn all() -> &'static [&'static dyn Study] {
    super::STUDIES
}

/// The study named `name`; an unknown name is an error naming the closest study and listing
/// them all.
pub fn find(name: &str) -> Result<&'static dyn Study> {
    if let Some(s) = all().iter().find(|s| s.name() == name) {
        return Ok(*s);
    }
    let names: Vec<&str> = all().iter().map(|s| s.name()).collect();
    let hint = crate::data::closest(name, names.iter().copied())
        .map(|h| format!(" (did you mean '{h}'?)"))
        .unwrap_or_default();
    Err(usage(format!("unknown study '{name}'{hint}; the studies are: {}", names.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for s in all() {
            assert_eq!(find(s.name()).unwrap().name(), s.name());
            assert_eq!(all().iter().filter(|t| t.name() == s.name()).count(), 1, "{}", s.name());
        }
    }

    #[test]
    fn unknown_study_suggests_the_closest_and_lists_all() {
        let e = find("wang2021").err().unwrap().to_string();
        assert!(e.contains("did you mean 'wang2022'"), "{e}");
        assert!(e.contains("wang2022, stay2018"), "{e}");
    }

    #[test]
    fn every_default_seed_is_the_studys_own() {
        let seeds: Vec<u64> = all().iter().map(|s| s.default_seed()).collect();
        for (i, s) in seeds.iter().enumerate() {
            assert!(!seeds[..i].contains(s), "two studies share the default seed {s}");
        }
        for s in all() {
            assert_eq!(s.plan(None).unwrap().synthetic().seed, s.default_seed(), "{}", s.name());
        }
    }
}
