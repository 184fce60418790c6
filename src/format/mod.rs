//! Record formats: JSON, DELIMITED, KAFKA and NONE, for keys and values.
