//! Short column labels for peer names that stay tellable apart: whatever the names, no two
//! columns read the same.

/// Labels of at most `width` characters, one per name, in order, all distinct.
///
/// A name that fits and whose cut is unique is kept as it is cut. Names whose cuts collide
/// ("peer0", "peer1" cut to "peer") drop the prefix they share with each other and keep its
/// first letter ("p0", "p1"), so the part that tells them apart shows. Whatever still
/// collides (identical or unnamed peers) is labelled by its column number ("#3").
pub fn distinct_labels(names: &[&str], width: usize) -> Vec<String> {
    let cut = |name: &str| -> String { name.chars().take(width).collect() };
    let mut labels: Vec<String> = names.iter().map(|name| cut(name)).collect();
    let cuts = labels.clone();
    for (index, name) in names.iter().enumerate() {
        let group: Vec<&str> = names
            .iter()
            .zip(&cuts)
            .filter(|(_, c)| **c == cuts[index])
            .map(|(n, _)| *n)
            .collect();
        if group.len() < 2 {
            continue;
        }
        let shared = common_prefix(&group);
        if shared > 0 && name.chars().count() > shared {
            let first = name.chars().take(1);
            labels[index] = cut(&first.chain(name.chars().skip(shared)).collect::<String>());
        }
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
                *label = cut(&format!("#{}", column + 1));
            }
        }
    }
    labels
}

/// How many leading characters every name shares.
fn common_prefix(names: &[&str]) -> usize {
    let Some(first) = names.first() else {
        return 0;
    };
    names.iter().fold(first.chars().count(), |shared, name| {
        first
            .chars()
            .zip(name.chars())
            .take(shared)
            .take_while(|(a, b)| a == b)
            .count()
    })
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
    fn names_that_fit_and_differ_stay_as_they_are() {
        assert_eq!(labels(&["ann", "bob", "carolina"]), ["ann", "bob", "caro"]);
    }

    #[test]
    fn every_label_is_distinct_whatever_the_names() {
        for names in [
            vec!["same", "same", "other"],
            vec!["", "", ""],
            vec!["alpha-node-1", "alpha-node-2", "alpha-nodes"],
            vec!["peer", "peer0", "peer00"],
            vec!["ab", "abc", "abcd", "abcde", "abcdef"],
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
