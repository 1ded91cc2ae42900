//! Results as JUnit XML, the format CI systems show test results from.

use std::fmt::Write as _;

use super::TestResult;

/// One `<testsuite>` per spec file, one `<testcase>` per test, a `<failure>` listing every
/// failure of a failed one.
pub fn xml(results: &[TestResult]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    let mut files: Vec<&str> = results.iter().map(|r| r.file.as_str()).collect();
    files.dedup();
    for file in files {
        let cases: Vec<&TestResult> = results.iter().filter(|r| r.file == file).collect();
        let failed = cases.iter().filter(|r| !r.failures.is_empty()).count();
        let time: f64 = cases.iter().map(|r| r.wall.as_secs_f64()).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" time=\"{time:.3}\">",
            escape(file),
            cases.len()
        );
        for case in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                escape(file),
                escape(&case.name),
                case.wall.as_secs_f64()
            );
            if case.failures.is_empty() {
                out.push_str("/>\n");
            } else {
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    escape(&case.failures[0]),
                    escape(&case.failures.join("\n"))
                );
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 has no place for other control characters.
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn suites_cases_and_failures_are_escaped() {
        let result = |name: &str, failures: Vec<String>| TestResult {
            file: "a.test.json".into(),
            name: name.into(),
            failures,
            virtual_time: Duration::ZERO,
            wall: Duration::from_millis(12),
        };
        let xml = xml(&[result("ok", vec![]), result("<bad> & \"worse\"", vec!["expected `x` → `y`".into()])]);
        assert!(xml.contains("<testsuite name=\"a.test.json\" tests=\"2\" failures=\"1\""), "{xml}");
        assert!(xml.contains("<testcase classname=\"a.test.json\" name=\"ok\" time=\"0.012\"/>"), "{xml}");
        assert!(xml.contains("name=\"&lt;bad&gt; &amp; &quot;worse&quot;\""), "{xml}");
        assert!(xml.contains("<failure message=\"expected `x` → `y`\">"), "{xml}");
    }
}
