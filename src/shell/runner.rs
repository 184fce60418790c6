//! Running statements from text — a script, `-e`, standard input, a REPL line or
//! `RUN SCRIPT` — and printing each result as it comes.

use std::io::Write;
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
        let (statements, rest) = crate::sql::split_statements(text);
        let mut all: Vec<String> = statements;
        if !rest.trim().is_empty() && crate::sql::parse(&rest).map(|s| !s.is_empty()).unwrap_or(true) {
            all.push(rest);
        }
        let mut ok = true;
        for stmt in all {
            if let Err(e) = self.run_statement(&stmt, out, err) {
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
        let ok = self.run_text(&text, out, err);
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
                loop {
                    if self.cancel.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d) {
                        query.stop();
                        if self.options.output == OutputFormat::Table {
                            writeln!(out, "Query terminated").map_err(io)?;
                        }
                        break;
                    }
                    match query.poll(Duration::from_millis(100)) {
                        PushPoll::Rows(rows) => {
                            count += rows.len();
                            print_stream_rows(out, self.options.output, &query.columns, &widths, &rows).map_err(io)?;
                        }
                        PushPoll::Idle => {}
                        PushPoll::Done(None) => {
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
                            return Err(Error::execution(format!("query {} failed: {e}", query.id)));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn query_has_limit(q: &crate::engine::PushQuery) -> bool {
    q.has_limit()
}

fn terminal_width() -> Option<u16> {
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
}
