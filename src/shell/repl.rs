//! The interactive shell: rustyline with history, multi-line statements and Ctrl-C that
//! cancels the running query instead of the shell.

use std::sync::atomic::Ordering;

use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{CompletionType, Config, Editor};

use super::helper::ShellHelper;
use super::runner::Runner;

/// Where the history is kept unless `RUNNEL_HISTORY` says otherwise.
fn history_path() -> Option<std::path::PathBuf> {
    if let Ok(p) = std::env::var("RUNNEL_HISTORY") {
        return Some(p.into());
    }
    std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".runnel_history"))
}

/// Runs the REPL until `EXIT;` or Ctrl-D. `where_` describes the log for the banner.
pub fn run_interactive(runner: &mut Runner, where_: &str) -> std::io::Result<()> {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .max_history_size(10_000)
        .map_err(std::io::Error::other)?
        .build();
    let mut editor: Editor<ShellHelper, DefaultHistory> = Editor::with_config(config).map_err(std::io::Error::other)?;
    editor.set_helper(Some(ShellHelper::new(runner.client().clone())));
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    // While a query runs, the terminal is not in raw mode: Ctrl-C arrives as SIGINT, which
    // must cancel the query, not the shell.
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, runner.cancel.clone());
    println!("Runnel {} — streaming SQL", env!("CARGO_PKG_VERSION"));
    println!("Running on the {where_}.");
    println!("Type HELP; for the statements, EXIT; or Ctrl-D to leave. Tab completes, Ctrl-R searches history.\n");
    let mut buffer = String::new();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    loop {
        let prompt = if buffer.trim().is_empty() {
            "runnel> "
        } else {
            "      > "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                buffer.push_str(&line);
                buffer.push('\n');
                let (complete, rest) = crate::sql::split_statements(&buffer);
                let trimmed = buffer.trim().trim_end_matches(';').trim().to_ascii_uppercase();
                if trimmed == "EXIT" || trimmed == "QUIT" {
                    break;
                }
                if complete.is_empty() {
                    continue;
                }
                let text = complete.join("\n");
                let _ = editor.add_history_entry(text.trim());
                buffer = rest;
                runner.cancel.store(false, Ordering::SeqCst);
                runner.run_text(&text, &mut stdout.lock(), &mut stderr.lock());
            }
            Err(ReadlineError::Interrupted) => {
                // Ctrl-C at the prompt clears the statement being typed; it never exits.
                buffer.clear();
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error reading input: {e}");
                break;
            }
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}
