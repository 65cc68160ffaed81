//! WeChat Pay adapter.
