//! State stores: key-value, window and session stores with changelogs.
