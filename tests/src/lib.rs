//! Support for the end-to-end tests: the harnesses the tests in `tests/` drive.

pub mod runtime_api;
