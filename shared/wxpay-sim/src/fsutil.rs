//! Small file helpers: private (0600) files and atomic replacement.

use crate::error::SimError;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Creates `path` (which must not exist) with mode 0600 and writes `contents`, then syncs it.
pub fn create_private(path: &Path, contents: &[u8]) -> Result<(), SimError> {
    let mut file = private_options()
        .create_new(true)
        .open(path)
        .map_err(|e| SimError::io(path, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| SimError::io(path, e))
}

/// Replaces `path` atomically: writes a sibling temporary file (mode 0600), syncs it, renames it.
pub fn replace_private(path: &Path, contents: &[u8]) -> Result<(), SimError> {
    let tmp = path.with_extension("tmp");
    let mut file = private_options()
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| SimError::io(&tmp, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| SimError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| SimError::io(path, e))
}

/// Opens `path` for appending, creating it with mode 0600 if needed.
pub fn open_append(path: &Path) -> Result<File, SimError> {
    private_options()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| SimError::io(path, e))
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}
