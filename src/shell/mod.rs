//! The shell: the interactive REPL and scripted runs, printing results as tables, JSON or CSV.

mod output;
mod repl;
mod runner;

pub use output::OutputFormat;
pub use repl::run_interactive;
pub use runner::{Runner, RunnerOptions};
