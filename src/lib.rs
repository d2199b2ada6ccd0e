//! migfit: probit/logit, GLMs and two-part models with Stata-exact standard errors and
//! marginal effects, for health economists who study China's internal migrants.
//!
//! The pipeline is: load a [`data::Dataset`] → parse a [`formula::Formula`] → build a
//! [`design::Design`] (listwise deletion, factor coding) → fit a model ([`model`]) → choose a
//! variance ([`inference`]) → report ([`output`]).

pub mod analysis;
pub mod batch;
pub mod data;
pub mod design;
pub mod error;
pub mod formula;
pub mod inference;
pub mod io;
pub mod linalg;
pub mod margins;
pub mod mediate;
pub mod model;
pub mod options;
pub mod output;
pub mod report;
pub mod simulate;
pub mod stats;
pub mod study;

pub use error::{Error, Result};

/// The version printed in reports and JSON output.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
