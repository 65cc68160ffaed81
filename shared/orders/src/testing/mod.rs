//! Test doubles for the services' ports, for this crate's tests and the functions' router tests
//! (enabled by the `testing` feature; never part of a deployed function): an in-memory WeChat Pay
//! a store that fails on demand, placing a prepaid order; and the skip-or-record rule of suites that need moto.

pub mod aws_suite;
pub mod fake_wechat_pay;
pub mod faulty_store;
pub mod place;

pub use aws_suite::aws_suite_can_run;
pub use fake_wechat_pay::{
    ClosePaidAnswer, CloseUnknownAnswer, FakeError, FakeWeChatPay, PrepayRecord, PrepayTimeout,
    QueryRecord,
};
pub use faulty_store::FaultyStore;
pub use place::place_prepaid;
