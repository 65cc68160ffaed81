//! Support for the end-to-end tests: the harnesses the tests in `tests/` drive.

pub mod events;
pub mod function_process;
pub mod runtime_api;
