//! The function registry: scalar, aggregate and table functions with ksqlDB names and semantics.
