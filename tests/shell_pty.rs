//! The interactive shell driven the way a person uses it: the real binary in a terminal
//! (a tmux pane on a private tmux server), keys sent one statement at a time, the screen
//! read back. Multi-line input, Tab completion from the catalog, a push query whose rows
//! appear while it runs, Ctrl-C that cancels it and keeps the shell, history recall, a caret
//! under a syntax error, per-statement help, and EXIT.
//!
//! tmux comes from `scripts/setup`.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A shell in a tmux pane of its own tmux server.
struct Terminal {
    socket: String,
    _home: tempfile::TempDir,
}

impl Terminal {
    fn start(data_dir: &Path) -> Terminal {
        let home = tempfile::tempdir().expect("a temp dir");
        let socket = format!(
            "runnel-test-{}-{}",
            std::process::id(),
            home.path().display().to_string().len()
        );
        let command = format!(
            "RUNNEL_HISTORY={} TERM=xterm-256color {} --data-dir {}",
            home.path().join("history").display(),
            env!("CARGO_BIN_EXE_runnel"),
            data_dir.display()
        );
        let t = Terminal { socket, _home: home };
        let out = t.tmux(&["new-session", "-d", "-s", "shell", "-x", "160", "-y", "60", &command]);
        assert!(out.status.success(), "tmux: {}", String::from_utf8_lossy(&out.stderr));
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs (scripts/setup installs it)")
    }

    /// Types text (literally) without pressing Enter. tmux takes an argument ending in `;`
    /// as a command separator, so semicolons go as their byte.
    fn type_text(&self, text: &str) {
        for (i, part) in text.split(';').enumerate() {
            if i > 0 {
                self.tmux(&["send-keys", "-t", "shell", "-H", "3b"]);
            }
            if !part.is_empty() {
                self.tmux(&["send-keys", "-t", "shell", "-l", part]);
            }
        }
    }

    /// Presses keys by name: Enter, Tab, Up, C-c.
    fn press(&self, key: &str) {
        self.tmux(&["send-keys", "-t", "shell", key]);
    }

    fn line(&self, text: &str) {
        self.type_text(text);
        self.press("Enter");
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .tmux(&["capture-pane", "-p", "-J", "-S", "-200", "-t", "shell"])
                .stdout,
        )
        .into_owned()
    }

    /// Waits until the screen shows `text` `times` times; the screen is the failure message.
    fn wait_for_n(&self, text: &str, times: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.matches(text).count() >= times {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited 20 s for {times} x {text:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait_for_n(text, 1)
    }

    fn alive(&self) -> bool {
        self.tmux(&["has-session", "-t", "shell"]).status.success()
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

#[test]
fn a_session_as_a_person_types_it() {
    let data = tempfile::tempdir().unwrap();
    let t = Terminal::start(data.path());
    t.wait_for("Running on the embedded log");
    t.wait_for("runnel> ");

    // A statement over two lines: the continuation prompt, then the result.
    t.line("CREATE STREAM pageviews (userid VARCHAR KEY, page VARCHAR)");
    t.wait_for("      > ");
    t.line("  WITH (KAFKA_TOPIC='pv', VALUE_FORMAT='JSON', PARTITIONS=1);");
    t.wait_for("Stream created");
    // Two statements on one line run in order.
    t.line("INSERT INTO pageviews (userid, page) VALUES ('u1', 'home'); INSERT INTO pageviews (userid, page) VALUES ('u2', 'news');");

    // Tab completes a stream name from the live catalog.
    t.type_text("DESCRIBE pagev");
    t.press("Tab");
    t.type_text(";");
    t.press("Enter");
    t.wait_for("runnel> DESCRIBE PAGEVIEWS;");
    t.wait_for("USERID");

    // A push query shows its rows while it runs; Ctrl-C cancels it and the shell goes on.
    t.line("SELECT userid, page FROM pageviews EMIT CHANGES;");
    t.wait_for("news");
    assert!(t.alive());
    t.press("C-c");
    t.wait_for("Query terminated (2 rows)");
    t.line("SHOW STREAMS;");
    t.wait_for("PAGEVIEWS");

    // History: Up brings the last statement back.
    t.press("Up");
    t.press("Enter");
    t.wait_for_n("runnel> SHOW STREAMS;", 2);

    // A syntax error: the statement, a caret under the bad token, and the session goes on.
    t.line("SELECT * FRM pageviews;");
    let screen = t.wait_for("^");
    assert!(screen.contains("SELECT * FRM pageviews;"), "{screen}");

    // A push query still reading shows how far it got; a long script shows which statement
    // runs.
    t.line("SELECT * FROM pageviews WHERE page = 'never' EMIT CHANGES;");
    t.wait_for("reading: 2 records");
    t.press("C-c");
    t.wait_for_n("Query terminated", 2);
    let script = t._home.path().join("many.sql");
    let mut text: String = (0..11)
        .map(|i| format!("INSERT INTO pageviews (userid, page) VALUES ('s{i}', 'script');\n"))
        .collect();
    text.push_str("SELECT * FROM pageviews WHERE page = 'never' EMIT CHANGES;\n");
    std::fs::write(&script, text).unwrap();
    t.line(&format!("RUN SCRIPT '{}';", script.display()));
    t.wait_for("many.sql: statement 12 of 12");
    t.wait_for("reading: 13 records");
    t.press("C-c");
    t.wait_for_n("Query terminated", 3);

    // Help for one statement.
    t.line("HELP PRINT;");
    t.wait_for("PRINT 'pageviews' FROM BEGINNING LIMIT 3;");

    // Ctrl-C at an empty prompt does not leave the shell; EXIT does.
    t.press("C-c");
    t.press("C-c");
    t.line("SHOW TOPICS;");
    t.wait_for("pv");
    assert!(t.alive(), "the shell survived Ctrl-C at the prompt");
    t.line("EXIT;");
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!t.alive(), "EXIT; ends the shell");
}
