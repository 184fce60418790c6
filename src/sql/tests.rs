//! Unit tests for the statement parser.
