//! The course's socket steps, as programs in `examples/` (`cargo run -p course --example
//! tcp_echo -- server 9000`). Each one does a step the course's way, with the standard
//! library (and, for the later steps, one small crate), and names the file of miniweb's
//! `src/` that does the same job properly. `tests/examples.rs` in miniweb runs every one.
//!
//! This library is empty on purpose: the programs are the point.
