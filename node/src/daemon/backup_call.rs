//! The admin call `Backup`: a consistent copy of the running node's database (`store/backup.rs`).

use std::path::Path;

use bfte_shared::admin::AdminResponse;

use crate::store::Store;

/// Copies the database to `path`, which must be absolute (the node's working directory is not
/// the client's).
pub(super) fn answer(store: &Store, path: &str, replace: bool) -> AdminResponse {
    let path = Path::new(path);
    if !path.is_absolute() {
        return AdminResponse::Error(format!(
            "the backup path {} is not absolute",
            path.display()
        ));
    }
    match store.backup_to(path, replace) {
        Ok(report) => {
            tracing::info!(path = %path.display(), bytes = report.bytes, "database backed up");
            AdminResponse::BackedUp {
                tables: u32::try_from(report.tables).unwrap_or(u32::MAX),
                entries: report.entries,
                bytes: report.bytes,
            }
        }
        Err(error) => {
            tracing::warn!(%error, "backup failed");
            AdminResponse::Error(error.to_string())
        }
    }
}
