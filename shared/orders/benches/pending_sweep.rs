//! Pending sweep benchmark (placeholder until the stores exist).
fn main() {}
