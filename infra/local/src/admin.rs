//! The merchant admin API on the local stack: the same router the `merchant-admin` Lambda runs,
//! under `/admin/…`, guarded by a bearer token that the stack generates into `admin.token` in its
//! data directory on first start (readable by its owner only). A request with that token acts as
//! [`LOCAL_ADMIN`]; any other gets 401. Nothing else guards it, so the token is the only key.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use merchant_admin::Principal;
use merchant_admin::envelope::AdminError;
use merchant_admin::principal::LOCAL_ADMIN;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wxpay::random::{OsRandom, RandomSource};

/// File name of the token in the data directory.
pub const TOKEN_FILE: &str = "admin.token";
/// Random bytes in a token (base64url-encoded: 43 characters).
const TOKEN_BYTES: usize = 32;

/// The local admin API's bearer token. Its `Debug` never shows it.
#[derive(Clone)]
pub struct AdminToken(Arc<str>);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(…)")
    }
}

impl AdminToken {
    /// The token in `data_dir/admin.token`, generated there (mode 0600) if there is none.
    pub fn load_or_create(data_dir: &Path) -> std::io::Result<Self> {
        let path = token_path(data_dir);
        match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => return Ok(Self(text.trim().into())),
            Ok(_) => std::fs::remove_file(&path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut bytes = [0u8; TOKEN_BYTES];
        OsRandom.fill(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        file.write_all(token.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        Ok(Self(token.into()))
    }

    /// Whether `presented` is this token (constant time in its contents).
    pub fn matches(&self, presented: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.0.as_bytes(), presented.as_bytes())
            .is_ok()
    }

    /// The token, to hand to a client (tests, `wxpay-admin`).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `data_dir/admin.token`.
pub fn token_path(data_dir: &Path) -> PathBuf {
    data_dir.join(TOKEN_FILE)
}

/// Middleware: with `Authorization: Bearer <token>` the request acts as [`LOCAL_ADMIN`]; without
/// it, or with another token, 401.
pub async fn guard(State(token): State<AdminToken>, mut request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match presented {
        Some(presented) if token.matches(presented.trim()) => {
            request
                .extensions_mut()
                .insert(Principal(LOCAL_ADMIN.into()));
            next.run(request).await
        }
        _ => {
            request.extensions_mut().remove::<Principal>();
            AdminError::Unauthenticated.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_token_is_generated_once_private_and_random() {
        let dir = tempfile::tempdir().unwrap();
        let token = AdminToken::load_or_create(dir.path()).unwrap();
        assert_eq!(token.expose().len(), 43);
        assert!(
            token
                .expose()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let again = AdminToken::load_or_create(dir.path()).unwrap();
        assert_eq!(again.expose(), token.expose(), "kept across restarts");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(token_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = tempfile::tempdir().unwrap();
        let fresh = AdminToken::load_or_create(other.path()).unwrap();
        assert_ne!(fresh.expose(), token.expose());
        assert!(token.matches(token.expose()));
        assert!(!token.matches(fresh.expose()));
        assert!(!token.matches(""));
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
