//! The numerical suites (golden numbers against external references, margins, determinism,
//! convergence) in one test binary. Each module is one former tests/<name>.rs.

// Shared simulated data (also used by the benchmarks).
#[path = "../../benches/support/simdata.rs"]
mod simdata;
#[path = "../../benches/support/twopart_data.rs"]
mod twopart_data;
// The generator of the simulation checks.
mod xorshift;

mod bootstrap;
mod convergence_scale;
mod determinism;
mod golden;
mod golden_mediation;
mod khb_mediation;
mod margins_estimates;
mod margins_jacobian;
mod margins_threads;
mod mediate_recovery;
mod normal_tails;
mod predict;
mod raowu;
mod separation;
mod unconditional;
mod wild;
