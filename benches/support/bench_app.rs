//! The application both benchmarks protect: everyone may ask for it, alice approves (Discord 1001).
pub const APPROVERS_AND_APPS: &str = r#"
[[approvers]]
email = "alice@example.com"
discord_id = "1001"
[[applications]]
slug = "bench"
host = "bench.test"
  [[applications.policies]]
  name = "everyone on request"
  decision = "allow"
  include = { everyone = true }
  temporary = { approvers = ["alice@example.com"], max_duration = "24h" }
"#;
