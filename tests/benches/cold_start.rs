//! Cold start of the function binaries (placeholder, filled in below).
fn main() {}
