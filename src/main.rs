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
use runnel::log::kafka::{KafkaLog, KafkaLogOptions};
use runnel::shell::{OutputFormat, Runner, RunnerOptions, run_interactive};

/// mimalloc: the engine allocates and frees small buffers per record (keys, states, rows);
/// glibc's allocator spent a fifth of a stateful query's CPU on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    #[command(flatten)]
    engine: EngineArgs,
    /// How results are printed: table, json (one object per row) or csv.
    #[arg(long, value_name = "FORMAT")]
    output: Option<String>,
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

/// Where the engine keeps its data and how it is configured.
#[derive(Args, Debug)]
struct EngineArgs {
    /// Where the embedded log keeps its data (and, on Kafka, where local state lives).
    #[arg(long, value_name = "DIR", default_value = "./runnel-data")]
    data_dir: PathBuf,
    /// Run on this Kafka cluster (host:port[,host:port...]) instead of the embedded log.
    #[arg(long, value_name = "SERVERS")]
    bootstrap_servers: Option<String>,
    /// A properties file (key=value lines).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Set a property, e.g. --set num.stream.threads=2 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run ksqlDB's query-validation tests (a JSON Lines corpus) against Runnel.
    Conformance(ConformanceArgs),
    /// Run a SQL file as a service (ksqlDB's headless mode): execute it, then keep its
    /// persistent queries running until SIGTERM or SIGINT.
    Run(RunArgs),
}

#[derive(Args, Debug)]
struct RunArgs {
    /// The SQL file (statements that create streams, tables and persistent queries).
    file: PathBuf,
    #[command(flatten)]
    engine: EngineArgs,
    /// Define a variable for ${name} substitution (repeatable).
    #[arg(long = "define", value_name = "NAME=VALUE")]
    define: Vec<String>,
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
    /// The log cases run on: embedded, or kafka (with --bootstrap-servers).
    #[arg(long, value_name = "embedded|kafka", default_value = "embedded")]
    log: String,
    /// The Kafka cluster for --log kafka (default: $RUNNEL_TEST_KAFKA).
    #[arg(long, value_name = "SERVERS")]
    bootstrap_servers: Option<String>,
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
    /// Why known failures fail (id<TAB>category<TAB>reason lines), shown in the report.
    #[arg(long, value_name = "FILE")]
    reasons: Option<PathBuf>,
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
        reasons: args.reasons,
        bootstrap_servers: args
            .bootstrap_servers
            .or_else(|| std::env::var("RUNNEL_TEST_KAFKA").ok()),
    })
}

fn split_pair(s: &str, what: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .ok_or_else(|| format!("{what} '{s}' must look like key=value"))
}

/// The configuration from the config file and `--set`, with `--bootstrap-servers` on top.
fn load_config(args: &EngineArgs) -> Result<Config, String> {
    let mut config = Config::new();
    if let Some(path) = &args.config {
        config.load_file(path).map_err(|e| e.to_string())?;
    }
    for s in &args.set {
        let (k, v) = split_pair(s, "--set")?;
        config.set(&k, &v).map_err(|e| e.to_string())?;
    }
    if let Some(servers) = &args.bootstrap_servers {
        config.set("bootstrap.servers", servers).map_err(|e| e.to_string())?;
    }
    Ok(config)
}

/// The log the configuration asks for (Kafka when `bootstrap.servers` is set) and a line
/// saying which it is.
fn open_log(args: &EngineArgs, config: &Config) -> Result<(Arc<dyn Log>, String), String> {
    match config.get("bootstrap.servers").filter(|s| !s.trim().is_empty()) {
        Some(servers) => {
            let options = KafkaLogOptions {
                bootstrap_servers: servers.clone(),
                properties: config
                    .explicit()
                    .iter()
                    .filter_map(|(k, v)| k.strip_prefix("kafka.").map(|k| (k.to_string(), v.clone())))
                    .collect(),
                topic_prefix: config.get("runnel.kafka.topic.prefix").unwrap_or_default(),
                connect_timeout: None,
            };
            let log = KafkaLog::connect(options).map_err(|e| e.to_string())?;
            Ok((log, format!("Kafka at {servers}")))
        }
        None => {
            let log = EmbeddedLog::open(&args.data_dir).map_err(|e| e.to_string())?;
            Ok((log, format!("embedded log at {}", args.data_dir.display())))
        }
    }
}

fn open_engine(args: &EngineArgs) -> Result<(Arc<Engine>, String), String> {
    let config = load_config(args)?;
    let (log, where_) = open_log(args, &config)?;
    let engine = Engine::open_with_data_dir(log, config, Some(args.data_dir.clone())).map_err(|e| e.to_string())?;
    Ok((engine, where_))
}

fn run(cli: Cli) -> Result<bool, String> {
    let config = load_config(&cli.engine)?;
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
    let (engine, where_) = open_engine(&cli.engine)?;
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

/// Headless mode: runs the file, logs what runs from where, and serves until a signal.
fn run_headless(args: RunArgs) -> Result<bool, String> {
    let text = std::fs::read_to_string(&args.file).map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let mut session = Session::default();
    for d in &args.define {
        let (k, v) = split_pair(d, "--define")?;
        session.variables.insert(k, v);
    }
    // Register before the queries start, so a signal during start-up is not lost.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).map_err(|e| format!("cannot handle signals: {e}"))?;
    }
    let (engine, where_) = open_engine(&args.engine)?;
    eprintln!(
        "runnel {}: headless on {where_}, running {}",
        env!("CARGO_PKG_VERSION"),
        args.file.display()
    );
    let options = RunnerOptions {
        output: OutputFormat::Table,
        continue_on_error: false,
        timeout: None,
        interactive: false,
    };
    let mut runner = Runner::new(engine.clone(), session, options);
    let ok = {
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        runner.run_text(&text, &mut stdout.lock(), &mut stderr.lock())
    };
    if !ok {
        engine.shutdown();
        return Ok(false);
    }
    for line in engine.startup_report() {
        eprintln!("runnel: {line}");
    }
    eprintln!("runnel: serving; stop with SIGTERM or Ctrl-C");
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("runnel: stopping: committing and closing every query");
    engine.shutdown();
    eprintln!("runnel: stopped cleanly");
    Ok(true)
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    let result = match cli.command.take() {
        Some(Command::Conformance(args)) => conformance(args),
        Some(Command::Run(args)) => run_headless(args),
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
