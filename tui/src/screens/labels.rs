//! Short labels for peer names that stay tellable apart: whatever the names, no two columns
//! or rows read the same.

/// Labels of at most `width` characters, one per name, in order, all distinct.
///
/// A name whose cut to `width` no other name shares is kept as it is cut, and so is a name that
/// fits whole. Names whose cuts collide ("validator-east-1", "validator-east-2" and
/// "validator-west-1" all cut to "vali") keep their first letter and then only the characters
/// at the positions where the colliding names differ ("vea1", "vea2", "vwe1"), so the part
/// that tells them apart shows wherever it is. Whatever still collides (identical or unnamed
/// peers, or differences past the width) is labelled by its column number ("#3").
pub fn distinct_labels(names: &[&str], width: usize) -> Vec<String> {
    let names: Vec<Vec<char>> = names.iter().map(|name| name.chars().collect()).collect();
    let cut = |name: &[char]| -> String { name.iter().take(width).collect() };
    let cuts: Vec<String> = names.iter().map(|name| cut(name)).collect();
    let mut labels = cuts.clone();
    for (index, name) in names.iter().enumerate() {
        if name.len() <= width {
            continue;
        }
        let group: Vec<&[char]> = names
            .iter()
            .zip(&cuts)
            .filter(|(_, c)| **c == cuts[index])
            .map(|(n, _)| n.as_slice())
            .collect();
        if group.len() < 2 {
            continue;
        }
        let differing = differing_positions(&group);
        let abbreviation: Vec<char> = name
            .iter()
            .take(1)
            .chain(differing.iter().filter_map(|at| name.get(*at)))
            .copied()
            .collect();
        labels[index] = cut(&abbreviation);
    }
    // Column numbers are distinct among themselves; a name that happens to read like one
    // is numbered too on the next pass.
    while let Some(duplicate) = labels
        .iter()
        .find(|l| l.is_empty() || labels.iter().filter(|other| other == l).count() > 1)
        .cloned()
    {
        for (column, label) in labels.iter_mut().enumerate() {
            if *label == duplicate {
                *label = cut(&format!("#{}", column + 1).chars().collect::<Vec<_>>());
            }
        }
    }
    labels
}

/// The positions after the first at which not all `names` have the same character (a name
/// that ended differs from one that goes on).
fn differing_positions(names: &[&[char]]) -> Vec<usize> {
    let longest = names.iter().map(|name| name.len()).max().unwrap_or(0);
    (1..longest)
        .filter(|at| {
            let first = names.first().and_then(|name| name.get(*at));
            names.iter().any(|name| name.get(*at) != first)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::distinct_labels;

    fn labels(names: &[&str]) -> Vec<String> {
        distinct_labels(names, 4)
    }

    #[test]
    fn names_with_a_shared_prefix_keep_the_part_that_differs() {
        assert_eq!(
            labels(&["peer0", "peer1", "erin", "peer3", "peer4"]),
            ["p0", "p1", "erin", "p3", "p4"]
        );
        assert_eq!(labels(&["peer10", "peer11", "peer2"]), ["p10", "p11", "p2"]);
    }

    #[test]
    fn names_sharing_long_prefixes_keep_every_position_that_differs() {
        assert_eq!(
            labels(&[
                "validator-east-1",
                "validator-east-2",
                "validator-west-1",
                "observer"
            ]),
            ["vea1", "vea2", "vwe1", "obse"]
        );
        assert_eq!(
            labels(&["federation-node-alpha", "federation-node-beta"]),
            ["falp", "fbet"]
        );
        // Wider labels keep more of what differs.
        assert_eq!(
            distinct_labels(&["validator-east-1", "validator-east-2"], 9),
            ["v1", "v2"]
        );
    }

    #[test]
    fn names_that_fit_and_differ_stay_as_they_are() {
        assert_eq!(labels(&["ann", "bob", "carolina"]), ["ann", "bob", "caro"]);
        assert_eq!(labels(&["peer", "peer0", "peer00"]), ["peer", "p0", "p00"]);
    }

    #[test]
    fn every_label_is_distinct_whatever_the_names() {
        for names in [
            vec!["same", "same", "other"],
            vec!["", "", ""],
            vec!["alpha-node-1", "alpha-node-2", "alpha-nodes"],
            vec!["peer", "peer0", "peer00"],
            vec!["ab", "abc", "abcd", "abcde", "abcdef"],
            vec!["node-aaaaaaaa-1", "node-aaaaaaaa-2", "node-bbbbbbbb-1"],
            vec!["#2", "x", "x"],
            vec!["pëer0", "pëer1", "pëer"],
        ] {
            let got = labels(&names);
            for (i, label) in got.iter().enumerate() {
                assert!(label.chars().count() <= 4, "{names:?} -> {got:?}");
                assert!(!label.is_empty(), "{names:?} -> {got:?}");
                assert!(
                    got.iter().filter(|l| *l == label).count() == 1,
                    "{names:?} -> {got:?} repeats {label} (column {i})"
                );
            }
        }
        assert_eq!(labels(&["same", "same", "other"]), ["#1", "#2", "othe"]);
    }
}
