//! A directory of its own for a scratch database (`bfte history verify` replays into one),
//! removed with everything in it when dropped.

use std::path::{Path, PathBuf};

use super::error::HistoryError;

#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// A new empty directory under the system's temporary directory.
    pub fn new() -> Result<ScratchDir, HistoryError> {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| HistoryError::Io {
            action: "naming a scratch directory",
            source: std::io::Error::other(e.to_string()),
        })?;
        let name = format!(
            "bfte-history-{}-{}",
            std::process::id(),
            data_encoding::HEXLOWER.encode(&nonce)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir(&path).map_err(|source| HistoryError::Io {
            action: "creating a scratch directory",
            source,
        })?;
        Ok(ScratchDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Nothing to do about a failure here but leave the directory behind.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
