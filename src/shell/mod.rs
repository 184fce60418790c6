//! The shell: the interactive REPL and scripted runs.
