//! Files that continue one another (`export --from`): verified in order they give the same
//! history as one file; alone, after the wrong file, or cut where no file can end, they are
//! refused with what to do instead.

use std::sync::Arc;

use bfte_shared::crypto::Ed25519Verifier;
use bfte_shared::round::Height;

use super::error::HistoryError;
use super::export::{ExportRange, ExportSummary, export};
use super::fixture::{History, membership_change};
use super::verify_file::{Verification, Verified};

/// Heights 1 to 25. Certified: 1, 5, then every third block from 8 to 23, and 25; epoch 0
/// ends at 3 (its proof in the epoch end).
fn history() -> History {
    membership_change(20, 3)
}

fn export_range(
    history: &History,
    from: Option<u64>,
    to: Option<u64>,
) -> Result<(Vec<u8>, ExportSummary), HistoryError> {
    let range = ExportRange {
        from: from.map(Height),
        to: to.map(Height),
    };
    let mut bytes = Vec::new();
    let summary = export(&history.store, range, &mut bytes)?;
    Ok((bytes, summary))
}

fn verify_all(files: &[&[u8]]) -> Result<Verified, HistoryError> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut verification =
        Verification::new(&dir.path().join("replay.redb"), Arc::new(Ed25519Verifier));
    for file in files {
        verification.read(*file)?;
    }
    verification.finish()
}

#[test]
fn files_split_after_any_certified_block_or_epoch_end_verify_as_the_whole() {
    let history = history();
    let (whole, _) = export_range(&history, None, None).expect("export");
    let expected = verify_all(&[&whole]).expect("the whole verifies");
    assert_eq!(expected.tip, Height(25));
    // After height 1 (certified), 3 (epoch 0's end) and 8 (certified in epoch 1).
    for split in [2, 4, 9] {
        let (head, head_summary) = export_range(&history, None, Some(split - 1)).expect("head");
        assert_eq!(head_summary.last, Height(split - 1));
        let (rest, rest_summary) = export_range(&history, Some(split), None).expect("rest");
        assert_eq!(
            (rest_summary.first, rest_summary.last),
            (Height(split), Height(25))
        );
        let verified = verify_all(&[&head, &rest]).expect("head then rest verify");
        assert_eq!(verified.tip_hash, expected.tip_hash, "split at {split}");
        assert_eq!(
            verified.state_root,
            history.state_root(),
            "split at {split}"
        );
        assert_eq!(verified.epochs, expected.epochs, "split at {split}");
        assert_eq!(verified.bytes, (head.len() + rest.len()) as u64);
    }
    // Three files: the middle one both continues and is continued.
    let (a, _) = export_range(&history, None, Some(5)).expect("first");
    let (b, _) = export_range(&history, Some(6), Some(14)).expect("middle");
    let (c, _) = export_range(&history, Some(15), None).expect("last");
    let verified = verify_all(&[&a, &b, &c]).expect("three files verify");
    assert_eq!(verified.tip_hash, expected.tip_hash);
}

#[test]
fn a_continuation_alone_or_after_the_wrong_file_is_refused() {
    let history = history();
    let (rest, _) = export_range(&history, Some(9), None).expect("rest");
    let alone = verify_all(&[&rest]).expect_err("a continuation alone");
    assert!(
        matches!(
            alone,
            HistoryError::ContinuesUnknown {
                after: Height(8),
                ..
            }
        ),
        "{alone}"
    );
    assert!(
        alone
            .to_string()
            .contains("bfte history verify EARLIER.cbor")
    );

    let (head, _) = export_range(&history, None, Some(5)).expect("head");
    let gap = verify_all(&[&head, &rest]).expect_err("a gap between the files");
    assert!(
        matches!(gap, HistoryError::ContinuesElsewhere { ref claimed, ref found }
            if claimed.starts_with("height 8") && found.starts_with("height 5")),
        "{gap}"
    );
    let (whole, _) = export_range(&history, None, None).expect("whole");
    let twice = verify_all(&[&head, &whole]).expect_err("the genesis again");
    assert!(
        matches!(
            twice,
            HistoryError::UnexpectedRecord {
                expected: "continuation record",
                found: "genesis record",
                ..
            }
        ),
        "{twice}"
    );
}

#[test]
fn a_file_starts_only_where_another_can_end() {
    let history = history();
    let error = export_range(&history, Some(7), None).expect_err("6 has no certificate");
    assert!(
        matches!(
            error,
            HistoryError::NoFileBoundary {
                from: Height(7),
                before: Some(Height(5)),
                after: Some(Height(8))
            }
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("try --from 6 or --from 9"),
        "{error}"
    );
    for from in [26, 40] {
        let error = export_range(&history, Some(from), None).expect_err("beyond the tip");
        assert!(
            matches!(error, HistoryError::EmptyRange { to: Height(25), .. }),
            "{error}"
        );
    }
    let error = export_range(&history, Some(12), Some(10)).expect_err("from above to");
    assert!(matches!(error, HistoryError::EmptyRange { .. }), "{error}");
    // From 0 or 1 is the whole history, genesis first.
    let (whole, _) = export_range(&history, None, None).expect("whole");
    for from in [0, 1] {
        assert_eq!(
            export_range(&history, Some(from), None).expect("whole").0,
            whole
        );
    }
}
