/// The requester's reason for wanting access: trimmed, non-empty, bounded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Justification(String);

pub const MAX_JUSTIFICATION: usize = 2000;
pub const MAX_REASON: usize = 1000;

impl Justification {
    pub fn parse(input: &str, required: bool) -> Result<Self, String> {
        let cleaned = clean(input);
        let s = cleaned.trim();
        if required && s.is_empty() {
            return Err("Please say why you need access.".into());
        }
        if s.chars().count() > MAX_JUSTIFICATION {
            return Err(format!(
                "The justification is limited to {MAX_JUSTIFICATION} characters."
            ));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An approver's optional reason for a decision.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Reason(String);

impl Reason {
    pub fn parse(input: &str) -> Result<Self, String> {
        let cleaned = clean(input);
        let s = cleaned.trim();
        if s.chars().count() > MAX_REASON {
            return Err(format!("The reason is limited to {MAX_REASON} characters."));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn as_option(&self) -> Option<&str> {
        (!self.0.is_empty()).then_some(self.0.as_str())
    }
}

/// Drops control characters other than newlines and tabs, and turns the brackets that mark
/// where emails get their secrets (`tokens::MARKER_OPEN` / `MARKER_CLOSE`) into plain ones.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .map(plain)
        .collect()
}

/// `s` with the marker brackets made plain, for text stored before they were cleaned at the edge.
pub fn plain_text(s: &str) -> String {
    s.chars().map(plain).collect()
}

/// `c`, or a plain square bracket for the marker brackets.
fn plain(c: char) -> char {
    match c {
        crate::tokens::MARKER_OPEN => '[',
        crate::tokens::MARKER_CLOSE => ']',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn justification_is_required_when_the_policy_says_so() {
        assert!(Justification::parse("   ", true).is_err());
        assert_eq!(Justification::parse("  ", false).unwrap().as_str(), "");
        assert_eq!(
            Justification::parse(" INC-1 \u{7}", true).unwrap().as_str(),
            "INC-1"
        );
    }

    #[test]
    fn marker_brackets_become_plain_brackets() {
        assert_eq!(
            Justification::parse("\u{27e6}review: swallow\u{27e7}", true)
                .unwrap()
                .as_str(),
            "[review: swallow]"
        );
        assert_eq!(Reason::parse("\u{27e6}code:x").unwrap().as_str(), "[code:x");
    }

    #[test]
    fn long_text_is_refused() {
        assert!(Justification::parse(&"x".repeat(MAX_JUSTIFICATION + 1), true).is_err());
        assert!(Reason::parse(&"x".repeat(MAX_REASON + 1)).is_err());
        assert_eq!(Reason::parse("").unwrap().as_option(), None);
    }
}
