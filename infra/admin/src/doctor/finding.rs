//! What one check found, and the report of a whole run: one line per check, or JSON.

use serde_json::{Value, json};

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The configuration is right in this respect.
    Pass,
    /// It is wrong: the finding says why and what to change.
    Fail,
    /// The check could not run (an earlier failure, or nothing to check in this mode).
    Skip,
}

impl Status {
    /// `PASS`, `FAIL` or `SKIP`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Skip => "SKIP",
        }
    }
}

/// One check's result: which check, its outcome, the cause, and (for a failure) the fix. Never
/// holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The check's name, e.g. `merchant key and serial`.
    pub check: &'static str,
    /// Its outcome.
    pub status: Status,
    /// What was observed.
    pub cause: String,
    /// What to change (empty unless the check failed).
    pub fix: String,
}

impl Finding {
    /// A passed check.
    pub fn pass(check: &'static str, cause: impl Into<String>) -> Self {
        Self {
            check,
            status: Status::Pass,
            cause: cause.into(),
            fix: String::new(),
        }
    }

    /// A failed check, with its fix.
    pub fn fail(check: &'static str, cause: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            check,
            status: Status::Fail,
            cause: cause.into(),
            fix: fix.into(),
        }
    }

    /// A check that did not run, and why.
    pub fn skip(check: &'static str, cause: impl Into<String>) -> Self {
        Self {
            check,
            status: Status::Skip,
            cause: cause.into(),
            fix: String::new(),
        }
    }
}

/// The findings of one run, in the order the checks ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Every check's finding.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether nothing failed (skipped checks say what could not be checked, and do not fail
    /// the run).
    pub fn passed(&self) -> bool {
        self.findings.iter().all(|f| f.status != Status::Fail)
    }

    /// The finding of `check`, if it ran.
    pub fn get(&self, check: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.check == check)
    }

    /// One line per check (`PASS  check: cause`), the fix indented under a failure, and a summary.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for finding in &self.findings {
            out.push_str(&format!(
                "{}  {}: {}\n",
                finding.status.label(),
                finding.check,
                finding.cause
            ));
            if !finding.fix.is_empty() {
                out.push_str(&format!("      fix: {}\n", finding.fix));
            }
        }
        let count = |status| self.findings.iter().filter(|f| f.status == status).count();
        out.push_str(&format!(
            "{} passed, {} failed, {} skipped\n",
            count(Status::Pass),
            count(Status::Fail),
            count(Status::Skip)
        ));
        out
    }

    /// `{"passed": bool, "checks": [{"check", "status", "cause", "fix"}]}`.
    pub fn json(&self) -> Value {
        json!({
            "passed": self.passed(),
            "checks": self.findings.iter().map(|f| json!({
                "check": f.check,
                "status": f.status.label(),
                "cause": f.cause,
                "fix": f.fix,
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            findings: vec![
                Finding::pass("a", "fine"),
                Finding::skip("b", "not applicable"),
                Finding::fail("c", "broken", "mend it"),
            ],
        }
    }

    #[test]
    fn a_failure_fails_the_run_and_a_skip_does_not() {
        assert!(!report().passed());
        let mut without_failure = report();
        without_failure.findings.pop();
        assert!(without_failure.passed());
    }

    #[test]
    fn each_check_is_one_line_with_the_fix_under_a_failure() {
        assert_eq!(
            report().text(),
            "PASS  a: fine\nSKIP  b: not applicable\nFAIL  c: broken\n      fix: mend it\n\
             1 passed, 1 failed, 1 skipped\n"
        );
        let json = report().json();
        assert_eq!(json["passed"], false);
        assert_eq!(json["checks"][2]["status"], "FAIL");
        assert_eq!(json["checks"][2]["fix"], "mend it");
    }
}
