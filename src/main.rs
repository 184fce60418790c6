//! The `runnel` command: the shell, scripted runs, and the engine's other front doors.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use runnel::engine::{Config, Engine, Session};
use runnel::log::Log;
use runnel::log::embedded::EmbeddedLog;
use runnel::shell::{OutputFormat, Runner, RunnerOptions, run_interactive};

/// Runnel: a streaming SQL engine in the spirit of ksqlDB and Kafka Streams.
#[derive(Parser, Debug)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Run the statements in FILE, then exit.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// Run these statements, then exit.
    #[arg(short = 'e', long = "execute", value_name = "SQL")]
    execute: Option<String>,
    /// Where the embedded log keeps its data.
    #[arg(long, value_name = "DIR", default_value = "./runnel-data")]
    data_dir: PathBuf,
    /// How results are printed: table, json (one object per row) or csv.
    #[arg(long, value_name = "FORMAT")]
    output: Option<String>,
    /// A properties file (key=value lines).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Set a property, e.g. --set num.stream.threads=2 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Define a variable for ${name} substitution (repeatable).
    #[arg(long = "define", value_name = "NAME=VALUE")]
    define: Vec<String>,
    /// Keep going after a failing statement.
    #[arg(long)]
    continue_on_error: bool,
    /// Stop push queries after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run ksqlDB's query-validation tests (a JSON Lines corpus) against Runnel.
    Conformance(ConformanceArgs),
}

#[derive(Args, Debug)]
struct ConformanceArgs {
    /// The corpus file (e.g. ../shared/conformance/ksql-qtt/dev.jsonl).
    path: PathBuf,
    /// Only cases with this feature tag or id prefix (comma-separated list: any matches).
    #[arg(long, value_name = "TAG|ID-PREFIX")]
    filter: Option<String>,
    /// Write a Markdown report to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// The log cases run on: embedded (kafka is not available yet).
    #[arg(long, value_name = "embedded|kafka", default_value = "embedded")]
    log: String,
    /// Cases run at once (0: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    jobs: usize,
    /// Exit non-zero only when a case listed in FILE fails.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write the ids of the passing cases to FILE.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// Print passing cases too.
    #[arg(long)]
    verbose: bool,
    /// Give up on a case after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
}

fn conformance(args: ConformanceArgs) -> Result<bool, String> {
    runnel::conformance::cli(&runnel::conformance::CliOptions {
        path: args.path,
        filter: args.filter,
        report: args.report,
        log: args.log,
        jobs: args.jobs,
        baseline: args.baseline,
        write_baseline: args.write_baseline,
        verbose: args.verbose,
        timeout: args.timeout,
    })
}

fn split_pair(s: &str, what: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .ok_or_else(|| format!("{what} '{s}' must look like key=value"))
}

fn run(cli: Cli) -> Result<bool, String> {
    let mut config = Config::new();
    if let Some(path) = &cli.config {
        config.load_file(path).map_err(|e| e.to_string())?;
    }
    for s in &cli.set {
        let (k, v) = split_pair(s, "--set")?;
        config.set(&k, &v).map_err(|e| e.to_string())?;
    }
    // --output wins over runnel.output from --set or the config file.
    let output_name = cli
        .output
        .clone()
        .or_else(|| config.get("runnel.output"))
        .unwrap_or_else(|| "table".into());
    let output = OutputFormat::parse(&output_name)
        .ok_or_else(|| format!("--output must be table, json or csv, not '{output_name}'"))?;
    let mut session = Session::default();
    for d in &cli.define {
        let (k, v) = split_pair(d, "--define")?;
        session.variables.insert(k, v);
    }
    if let Some(servers) = config.get("bootstrap.servers").filter(|s| !s.is_empty()) {
        return Err(format!(
            "bootstrap.servers={servers}: this build runs on the embedded log only; unset it to use --data-dir"
        ));
    }
    let log: Arc<dyn Log> = EmbeddedLog::open(&cli.data_dir).map_err(|e| e.to_string())?;
    let where_ = format!("embedded log at {}", cli.data_dir.display());
    let engine = Engine::open_with_data_dir(log, config, Some(cli.data_dir.clone())).map_err(|e| e.to_string())?;
    let interactive_stdin = std::io::stdin().is_terminal();
    let script = match (&cli.file, &cli.execute) {
        (Some(f), _) => Some(std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?),
        (None, Some(sql)) => Some(sql.clone()),
        (None, None) if !interactive_stdin => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            Some(text)
        }
        (None, None) => None,
    };
    let options = RunnerOptions {
        output,
        continue_on_error: cli.continue_on_error,
        timeout: cli.timeout.map(Duration::from_secs_f64),
        interactive: script.is_none(),
    };
    let mut runner = Runner::new(engine.clone(), session, options);
    let ok = match script {
        Some(text) => {
            let stdout = std::io::stdout();
            let stderr = std::io::stderr();
            runner.run_text(&text, &mut stdout.lock(), &mut stderr.lock())
        }
        None => {
            run_interactive(&mut runner, &where_).map_err(|e| e.to_string())?;
            true
        }
    };
    engine.shutdown();
    Ok(ok)
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    let result = match cli.command.take() {
        Some(Command::Conformance(args)) => conformance(args),
        None => run(cli),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("runnel: {e}");
            ExitCode::from(2)
        }
    }
}
