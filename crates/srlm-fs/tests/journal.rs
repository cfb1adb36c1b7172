//! The journal every resumable stage keeps: finished units survive, a torn last line (a kill
//! mid-write) is cut off and reported, a damaged complete line is an error naming it.

use srlm_fs::{Journal, JournalError};

#[test]
fn journal_keeps_finished_units_and_cuts_a_torn_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("units.journal");
    let mut j = Journal::<Vec<u32>>::open(&path).unwrap();
    j.append(vec![1, 2]).unwrap();
    j.append(vec![3]).unwrap();
    assert_eq!(j.torn_bytes(), 0);
    drop(j);
    // A kill in the middle of the third write.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"[4, 5");
    std::fs::write(&path, &bytes).unwrap();
    let mut j = Journal::<Vec<u32>>::open(&path).unwrap();
    assert_eq!(j.entries(), [vec![1, 2], vec![3]]);
    assert_eq!(j.torn_bytes(), 5);
    j.append_all(vec![vec![6], vec![7, 8]]).unwrap();
    drop(j);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[1,2]\n[3]\n[6]\n[7,8]\n"
    );
    // A damaged complete line is an error naming the file and line.
    std::fs::write(&path, "[1]\nnot json\n[2]\n").unwrap();
    let err = Journal::<Vec<u32>>::open(&path).unwrap_err();
    assert!(
        matches!(err, JournalError::Corrupt { line: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("units.journal:2"), "{err}");
}

#[test]
fn a_journal_in_a_missing_folder_is_created_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iter1").join("judge.journal");
    let mut j = Journal::<String>::open(&path).unwrap();
    j.append("done".into()).unwrap();
    assert_eq!(j.path(), path);
    assert_eq!(
        Journal::<String>::open(&path).unwrap().into_entries(),
        ["done"]
    );
}
