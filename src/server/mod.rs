//! The REST server (ksqlDB-compatible API).
