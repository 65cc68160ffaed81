//! The bill desk: the fee rate bills are made at, and the short-lived download tokens of
//! `/v3/billdownload/file`.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;
use url::Url;
use wxpay::bill::DOWNLOAD_PATH;
use wxpay::random::{self, OsRandom};

/// How long a `download_url` works, in simulator time. WeChat Pay's current documentation says
/// 5 minutes, an older one 30 seconds (§8): the simulator keeps the shorter, so a merchant that
/// downloads at once works with both.
pub const DOWNLOAD_VALIDITY: time::Duration = time::Duration::seconds(30);
/// Length of a download token.
const TOKEN_LEN: usize = 43;

/// A file waiting to be downloaded.
#[derive(Debug, Clone)]
pub struct DownloadFile {
    /// The bytes served (gzip when `gzip`).
    pub body: Bytes,
    /// Whether the request asked for `tar_type=GZIP`.
    pub gzip: bool,
    expires: OffsetDateTime,
}

/// Fee rate and download tokens.
#[derive(Debug)]
pub struct BillDesk {
    base_url: Url,
    fee_rate_bp: u32,
    files: Mutex<HashMap<String, DownloadFile>>,
}

impl BillDesk {
    /// A desk handing out URLs on `base_url`, billing fees at `fee_rate_bp` basis points.
    pub fn new(base_url: Url, fee_rate_bp: u32) -> Self {
        Self {
            base_url,
            fee_rate_bp,
            files: Mutex::new(HashMap::new()),
        }
    }

    /// The fee rate, in basis points.
    pub fn fee_rate_bp(&self) -> u32 {
        self.fee_rate_bp
    }

    /// Keeps `body` for [`DOWNLOAD_VALIDITY`] from `now`; returns its `download_url`. Expired
    /// files are dropped.
    pub fn issue(&self, body: Bytes, gzip: bool, now: OffsetDateTime) -> String {
        let token = random::alphanumeric(&OsRandom, TOKEN_LEN);
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        files.retain(|_, file| file.expires > now);
        files.insert(
            token.clone(),
            DownloadFile {
                body,
                gzip,
                expires: now + DOWNLOAD_VALIDITY,
            },
        );
        let mut url = self.base_url.clone();
        url.set_path(DOWNLOAD_PATH);
        url.query_pairs_mut().clear().append_pair("token", &token);
        url.to_string()
    }

    /// The file of `token`, unless unknown or expired at `now`.
    pub fn fetch(&self, token: &str, now: OffsetDateTime) -> Option<DownloadFile> {
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        files.get(token).filter(|file| file.expires > now).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_works_for_thirty_seconds() {
        let desk = BillDesk::new(Url::parse("http://127.0.0.1:9/").unwrap(), 60);
        let now = OffsetDateTime::UNIX_EPOCH;
        let url = Url::parse(&desk.issue(Bytes::from_static(b"bill"), false, now)).unwrap();
        assert_eq!(url.path(), DOWNLOAD_PATH);
        let token = url.query_pairs().find(|(k, _)| k == "token").unwrap().1;
        assert_eq!(token.len(), TOKEN_LEN);
        let at = |secs| now + time::Duration::seconds(secs);
        assert_eq!(desk.fetch(&token, at(29)).unwrap().body.as_ref(), b"bill");
        assert!(desk.fetch(&token, at(30)).is_none());
        assert!(desk.fetch("other", now).is_none());
    }
}
