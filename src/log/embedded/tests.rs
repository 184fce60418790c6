//! Tests of the whole embedded log through the `Log` and `LogConsumer` traits.
