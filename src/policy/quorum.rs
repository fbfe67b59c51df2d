//! A quorum per group: can the people who approved be shared out so that every group gets its
//! share, each person counting for one group only?
use crate::domain::Email;

/// One group's share of a quorum: `needed` approvals by its `members`.
#[derive(Clone, Debug)]
pub struct ApprovalGroup {
    pub members: Vec<Email>,
    pub needed: u32,
}

/// Can each of `people` be given to one group they belong to so that every group gets its
/// `needed`? (A person in two groups counts for one of them: two groups need two people.)
/// Bipartite matching of people to the groups' seats, by augmenting paths; the sizes are tiny.
pub fn covers(groups: &[ApprovalGroup], people: &[Email]) -> bool {
    let seats: Vec<usize> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, group)| std::iter::repeat_n(g, group.needed as usize))
        .collect();
    let mut taken_by: Vec<Option<usize>> = vec![None; seats.len()];
    fn place(
        p: usize,
        people: &[Email],
        groups: &[ApprovalGroup],
        seats: &[usize],
        taken_by: &mut Vec<Option<usize>>,
        seen: &mut Vec<bool>,
    ) -> bool {
        for (s, &g) in seats.iter().enumerate() {
            if seen[s] || !groups[g].members.iter().any(|m| m.same_person(&people[p])) {
                continue;
            }
            seen[s] = true;
            let free = match taken_by[s] {
                None => true,
                Some(q) => place(q, people, groups, seats, taken_by, seen),
            };
            if free {
                taken_by[s] = Some(p);
                return true;
            }
        }
        false
    }
    for p in 0..people.len() {
        let mut seen = vec![false; seats.len()];
        place(p, people, groups, &seats, &mut taken_by, &mut seen);
    }
    taken_by.iter().all(Option::is_some)
}

/// Could distinct people satisfy every group at all (everyone in them approving)?
pub fn groups_can_agree(groups: &[ApprovalGroup]) -> bool {
    let mut everyone: Vec<Email> = Vec::new();
    for m in groups.iter().flat_map(|g| &g.members) {
        if !everyone.iter().any(|e| e.same_person(m)) {
            everyone.push(m.clone());
        }
    }
    covers(groups, &everyone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(members: &[&str], needed: u32) -> ApprovalGroup {
        ApprovalGroup {
            members: members.iter().map(|m| Email::parse(m).unwrap()).collect(),
            needed,
        }
    }

    fn people(list: &[&str]) -> Vec<Email> {
        list.iter().map(|m| Email::parse(m).unwrap()).collect()
    }

    #[test]
    fn a_person_in_two_groups_counts_for_one_of_them() {
        let groups = [
            group(&["ann@example.com", "bob@example.com"], 1),
            group(&["bob@example.com", "cy@example.com"], 1),
        ];
        // (who approved, is every group's share met)
        let table: &[(&[&str], bool)] = &[
            (&[], false),
            (&["bob@example.com"], false),
            (&["ann@example.com", "bob@example.com"], true),
            (&["bob@example.com", "cy@example.com"], true),
            (&["ann@example.com", "dan@example.com"], false),
        ];
        for (who, met) in table {
            assert_eq!(covers(&groups, &people(who)), *met, "{who:?}");
        }
    }

    #[test]
    fn groups_that_share_too_many_people_can_never_agree() {
        let one_person = [
            group(&["bob@example.com"], 1),
            group(&["bob@example.com"], 1),
        ];
        assert!(!groups_can_agree(&one_person));
        let two_people = [
            group(&["ann@example.com", "bob@example.com"], 1),
            group(&["bob@example.com"], 1),
        ];
        assert!(groups_can_agree(&two_people));
        assert!(groups_can_agree(&[]));
    }
}
