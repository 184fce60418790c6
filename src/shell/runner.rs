//! Running statements from text — a script, `-e`, standard input, a REPL line or
//! `RUN SCRIPT` — and printing each result as it comes.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::client::{Client, InProcess};
use super::output::{OutputFormat, print_rows, print_stream_header, print_stream_rows};
use crate::engine::{Engine, PushPoll, Session, StatementResult};
use crate::error::{Error, Result};
use crate::sql::ast::Statement;

/// How a runner behaves.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// Output format.
    pub output: OutputFormat,
    /// Go on after a failing statement.
    pub continue_on_error: bool,
    /// Stop push queries after this long.
    pub timeout: Option<Duration>,
    /// Interactive: push queries may run until cancelled.
    pub interactive: bool,
}

/// Executes statements for one session and prints their results.
pub struct Runner {
    client: Arc<dyn Client>,
    /// The session: `SET` overrides and `DEFINE` variables.
    pub session: Session,
    /// Options.
    pub options: RunnerOptions,
    /// Set (by Ctrl-C) to cancel the running push query.
    pub cancel: Arc<AtomicBool>,
    depth: usize,
}

impl Runner {
    /// A runner over the engine in this process.
    pub fn new(engine: Arc<Engine>, session: Session, options: RunnerOptions) -> Self {
        Self::with_client(Arc::new(InProcess::new(engine)), session, options)
    }

    /// A runner over any client (in process, or remote once `--server` exists).
    pub fn with_client(client: Arc<dyn Client>, session: Session, options: RunnerOptions) -> Self {
        Runner {
            client,
            session,
            options,
            cancel: Arc::new(AtomicBool::new(false)),
            depth: 0,
        }
    }

    /// The client statements go through.
    pub fn client(&self) -> &Arc<dyn Client> {
        &self.client
    }

    /// Runs every statement of `text`; returns whether all succeeded.
    pub fn run_text(&mut self, text: &str, out: &mut dyn Write, err: &mut dyn Write) -> bool {
        self.run_text_as(text, None, out, err)
    }

    /// Whether to show progress lines: an interactive session on a terminal.
    fn shows_progress(&self) -> bool {
        self.options.interactive && std::io::stderr().is_terminal()
    }

    /// [`Runner::run_text`]; with a `label` (a script's path) and many statements, an
    /// interactive session shows which statement runs.
    fn run_text_as(&mut self, text: &str, label: Option<&str>, out: &mut dyn Write, err: &mut dyn Write) -> bool {
        let (statements, rest) = crate::sql::split_statements(text);
        let mut all: Vec<String> = statements;
        if !rest.trim().is_empty() && crate::sql::parse(&rest).map(|s| !s.is_empty()).unwrap_or(true) {
            all.push(rest);
        }
        let progress = label.filter(|_| all.len() > SCRIPT_PROGRESS_FROM && self.shows_progress());
        let total = all.len();
        let mut ok = true;
        for (i, stmt) in all.into_iter().enumerate() {
            if let Some(label) = progress {
                let _ = write!(err, "\r\x1b[K{label}: statement {} of {total}", i + 1);
                let _ = err.flush();
            }
            let result = self.run_statement(&stmt, out, err);
            if progress.is_some() {
                let _ = write!(err, "\r\x1b[K");
            }
            if let Err(e) = result {
                ok = false;
                let _ = writeln!(err, "{e}");
                if !self.options.continue_on_error {
                    return false;
                }
            }
        }
        ok
    }

    fn run_statement(&mut self, text: &str, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
        // HELP is the shell's own statement: the engine never sees it.
        if let Some(help) = super::help::request(text) {
            let _ = write!(out, "{help}");
            return Ok(());
        }
        let parsed = self.client.parse(text, &self.session)?;
        for stmt in parsed {
            if let Statement::RunScript { path } = &stmt.statement {
                self.run_script(path, out, err)?;
                continue;
            }
            let started = Instant::now();
            let result = self.client.execute(&stmt, &mut self.session)?;
            if let Statement::Set { .. } | Statement::Unset { .. } = &stmt.statement
                && let Some(f) = self
                    .session
                    .overrides
                    .get("runnel.output")
                    .and_then(|v| OutputFormat::parse(&v))
            {
                self.options.output = f;
            }
            self.print_result(result, started, out, err)?;
        }
        Ok(())
    }

    fn run_script(&mut self, path: &str, out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
        if self.depth > 16 {
            return Err(Error::execution(format!(
                "RUN SCRIPT '{path}' nests more than 16 scripts deep"
            )));
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::execution(format!("cannot read script '{path}': {e}")))?;
        self.depth += 1;
        let ok = self.run_text_as(&text, Some(path), out, err);
        self.depth -= 1;
        if ok {
            Ok(())
        } else {
            Err(Error::execution(format!(
                "script '{path}' stopped at a failing statement"
            )))
        }
    }

    fn print_result(
        &mut self,
        result: StatementResult,
        started: Instant,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<()> {
        let io = |e: std::io::Error| Error::execution(format!("cannot write output: {e}"));
        match result {
            StatementResult::Message(m) => {
                if m.is_empty() {
                    return Ok(());
                }
                match self.options.output {
                    OutputFormat::Table => writeln!(out, " {m}").map_err(io)?,
                    // Keep standard output machine-readable: messages go to standard error.
                    _ => writeln!(err, "{m}").map_err(io)?,
                }
            }
            StatementResult::Rows(rows) => {
                print_rows(out, self.options.output, &rows, terminal_width()).map_err(io)?;
                if self.options.output == OutputFormat::Table && !rows.vertical && rows.title.is_none() {
                    writeln!(
                        out,
                        "{} row{} ({:.3}s)",
                        rows.rows.len(),
                        if rows.rows.len() == 1 { "" } else { "s" },
                        started.elapsed().as_secs_f64()
                    )
                    .map_err(io)?;
                }
            }
            StatementResult::Stream(mut query) => {
                if !self.options.interactive && self.options.timeout.is_none() && !query_has_limit(&query) {
                    query.stop();
                    return Err(Error::execution(
                        "a push query in a script needs LIMIT n, or run the script with --timeout SECONDS; without either it would never end",
                    ));
                }
                self.cancel.store(false, Ordering::SeqCst);
                let widths = print_stream_header(out, self.options.output, &query.columns).map_err(io)?;
                let deadline = self.options.timeout.map(|t| Instant::now() + t);
                let mut count = 0usize;
                let mut status = ProgressLine::new(self.shows_progress());
                loop {
                    if count == 0 {
                        status.update(err, query.progress());
                    }
                    if self.cancel.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d) {
                        status.clear(err);
                        query.stop();
                        if self.options.output == OutputFormat::Table {
                            writeln!(
                                out,
                                "Query terminated ({count} row{})",
                                if count == 1 { "" } else { "s" }
                            )
                            .map_err(io)?;
                        }
                        break;
                    }
                    match query.poll(Duration::from_millis(100)) {
                        PushPoll::Rows(rows) => {
                            status.clear(err);
                            count += rows.len();
                            print_stream_rows(out, self.options.output, &query.columns, &widths, &rows).map_err(io)?;
                        }
                        PushPoll::Idle => {}
                        PushPoll::Done(None) => {
                            status.clear(err);
                            if self.options.output == OutputFormat::Table {
                                writeln!(
                                    out,
                                    "Limit Reached\nQuery terminated ({count} row{})",
                                    if count == 1 { "" } else { "s" }
                                )
                                .map_err(io)?;
                            }
                            break;
                        }
                        PushPoll::Done(Some(e)) => {
                            status.clear(err);
                            return Err(Error::execution(format!("query {} failed: {e}", query.id)));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Scripts with more statements than this show which statement runs.
const SCRIPT_PROGRESS_FROM: usize = 10;

/// The line a push query shows on the terminal while it reads without producing rows yet (a
/// query catching up on a big topic): records read, records/s and the lag to the sources'
/// ends. It only appears after a second, and goes away when rows come.
struct ProgressLine {
    enabled: bool,
    started: Instant,
    last: Option<(Instant, u64)>,
    shown: bool,
}

impl ProgressLine {
    fn new(enabled: bool) -> Self {
        ProgressLine {
            enabled,
            started: Instant::now(),
            last: None,
            shown: false,
        }
    }

    fn update(&mut self, err: &mut dyn Write, progress: Option<crate::engine::PushProgress>) {
        let Some(p) = progress.filter(|_| self.enabled) else {
            return;
        };
        let now = Instant::now();
        if now.duration_since(self.started) < Duration::from_secs(1) {
            return;
        }
        match self.last {
            Some((at, _)) if now.duration_since(at) < Duration::from_millis(500) => {}
            Some((at, read)) => {
                let rate = p.read.saturating_sub(read) as f64 / now.duration_since(at).as_secs_f64();
                let lag = p.lag.map_or(String::new(), |l| format!(", lag {l} records"));
                let _ = write!(err, "\r\x1b[Kreading: {} records, {rate:.0} records/s{lag}", p.read);
                let _ = err.flush();
                self.shown = true;
                self.last = Some((now, p.read));
            }
            None => self.last = Some((now, p.read)),
        }
    }

    fn clear(&mut self, err: &mut dyn Write) {
        if self.shown {
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
            self.shown = false;
        }
    }
}

fn query_has_limit(q: &crate::engine::PushQuery) -> bool {
    q.has_limit()
}

fn terminal_width() -> Option<u16> {
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
}
