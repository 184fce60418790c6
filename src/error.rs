//! The crate-level error: every layer's error converts into [`Error`], which carries the
//! layer it came from (for stable message prefixes) and whose fault it was (for exit codes,
//! HTTP statuses and shell hints).

use std::fmt;

/// Whose fault an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// The user asked for something wrong (bad SQL, unknown name, wrong type).
    User,
    /// Something outside the engine failed (disk, broker, network).
    External,
    /// A bug in Runnel.
    Internal,
}

/// A Runnel error: a message with a phase prefix and a domain.
#[derive(Debug, Clone, thiserror::Error)]
pub struct Error {
    /// The phase the error happened in; it prefixes the message.
    pub kind: ErrorKind,
    /// The message, without the prefix.
    pub message: String,
}

/// The phase an error comes from; each has a fixed, documented message prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// SQL text could not be parsed.
    Parse,
    /// A statement could not be planned (names, types, semantics).
    Plan,
    /// A statement failed while being executed.
    Execution,
    /// Reading or writing a topic failed.
    Log,
    /// Serializing or deserializing a record failed.
    Format,
    /// A state store failed.
    State,
    /// Bad configuration or command-line input.
    Config,
    /// A bug.
    Internal,
}

impl ErrorKind {
    /// The message prefix of this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            ErrorKind::Parse => "parse error",
            ErrorKind::Plan => "planning error",
            ErrorKind::Execution => "execution error",
            ErrorKind::Log => "log error",
            ErrorKind::Format => "format error",
            ErrorKind::State => "state error",
            ErrorKind::Config => "configuration error",
            ErrorKind::Internal => "internal error",
        }
    }

    /// Whose fault errors of this kind are.
    pub fn domain(self) -> Domain {
        match self {
            ErrorKind::Parse | ErrorKind::Plan | ErrorKind::Config | ErrorKind::Execution => Domain::User,
            ErrorKind::Log | ErrorKind::Format | ErrorKind::State => Domain::External,
            ErrorKind::Internal => Domain::Internal,
        }
    }
}

impl Error {
    /// A new error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    /// A planning error.
    pub fn plan(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Plan, message)
    }
    /// An execution error.
    pub fn execution(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Execution, message)
    }
    /// An internal error (a bug).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    /// A configuration error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }
    /// Whose fault this error is.
    pub fn domain(&self) -> Domain {
        self.kind.domain()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == ErrorKind::Parse {
            // Parse errors carry their own "parse error at L:C:" prefix.
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.kind.prefix(), self.message)
        }
    }
}

impl From<arrow_schema::ArrowError> for Error {
    fn from(e: arrow_schema::ArrowError) -> Self {
        Error::new(ErrorKind::Execution, e.to_string())
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Returns early with a planning error built from a format string.
#[macro_export]
macro_rules! plan_err {
    ($($arg:tt)*) => { return Err($crate::error::Error::plan(format!($($arg)*))) };
}

/// Returns early with an execution error built from a format string.
#[macro_export]
macro_rules! exec_err {
    ($($arg:tt)*) => { return Err($crate::error::Error::execution(format!($($arg)*))) };
}
