//! The shell: the interactive REPL (completion, highlighting, history, per-statement help)
//! and scripted runs, printing results as tables, JSON or CSV.

pub mod client;
pub mod help;
pub mod helper;
mod output;
mod repl;
mod runner;

pub use output::OutputFormat;
pub use repl::run_interactive;
pub use runner::{Runner, RunnerOptions};
