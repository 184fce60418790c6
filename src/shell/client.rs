//! The one interface the shell talks to an engine through. In process today
//! ([`InProcess`]); the remote client for `--server URL` implements the same trait over
//! ksqlDB's REST API (`/ksql` for statements, `/query-stream` for push and pull queries,
//! completion words from `SHOW STREAMS/TABLES/FUNCTIONS/PROPERTIES` and `DESCRIBE`), so every
//! shell feature works the same in both modes.

use std::sync::Arc;

use crate::engine::{Engine, Session, StatementResult};
use crate::error::Result;
use crate::sql::ast::ParsedStatement;

/// What the shell needs from an engine.
pub trait Client: Send + Sync {
    /// Parses statements (variables substituted from the session).
    fn parse(&self, text: &str, session: &Session) -> Result<Vec<ParsedStatement>>;
    /// Executes one statement for the session.
    fn execute(&self, statement: &ParsedStatement, session: &mut Session) -> Result<StatementResult>;
    /// The words Tab completion offers besides keywords: stream, table, column, function and
    /// property names, as the catalog has them now.
    fn completion_words(&self) -> Vec<String>;
}

/// The engine in this process.
pub struct InProcess {
    engine: Arc<Engine>,
}

impl InProcess {
    /// A client of `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        InProcess { engine }
    }
}

impl Client for InProcess {
    fn parse(&self, text: &str, session: &Session) -> Result<Vec<ParsedStatement>> {
        self.engine.parse(text, session)
    }

    fn execute(&self, statement: &ParsedStatement, session: &mut Session) -> Result<StatementResult> {
        self.engine.execute(statement, session)
    }

    fn completion_words(&self) -> Vec<String> {
        let mut words: Vec<String> = self.engine.source_names();
        words.extend(self.engine.column_names());
        let functions = self.engine.functions();
        words.extend(functions.list().iter().map(|f| f.name.to_string()));
        words.extend(functions.list_aggregates().iter().map(|f| f.name.to_string()));
        words.extend(
            crate::engine::config::KNOWN_PROPERTIES
                .iter()
                .map(|(k, _, _)| k.to_string()),
        );
        words
    }
}
