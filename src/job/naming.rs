//! Names and tokens derived from a resource's identity, so a job started for
//! a resource can always be found again and never started twice.

/// Longest `JobName` the API takes.
pub const MAX_JOB_NAME: usize = 256;

/// The default `JobName` of a resource: `<namespace>.<name>-<uid>`.
///
/// Kubernetes names use only `[a-z0-9.-]` and UIDs only `[a-f0-9-]`, all
/// inside the API's pattern. The UID makes the name unique to this resource
/// (a deleted and recreated resource of the same name gets a new job); the
/// readable prefix is cut so the whole always fits in 256 characters.
pub fn default_job_name(namespace: &str, name: &str, uid: &str) -> String {
    let suffix: String = uid.chars().filter(|c| allowed_in_job_name(*c)).collect();
    let suffix = truncate(&suffix, 64);
    let prefix: String = format!("{namespace}.{name}")
        .chars()
        .map(|c| if allowed_in_job_name(c) { c } else { '-' })
        .collect();
    let room = MAX_JOB_NAME - suffix.chars().count() - 1;
    format!("{}-{}", truncate(&prefix, room), suffix)
}

/// Whether `c` matches `[\p{L}\p{Z}\p{N}_.:/=+\-%@]`.
pub fn allowed_in_job_name(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-%@".contains(c) || is_separator(c)
}

/// Whether `name` is a valid `JobName`.
pub fn is_valid_job_name(name: &str) -> bool {
    let len = name.chars().count();
    (1..=MAX_JOB_NAME).contains(&len) && name.chars().all(allowed_in_job_name)
}

fn is_separator(c: char) -> bool {
    // Unicode category Z: space, line and paragraph separators.
    matches!(
        c,
        '\u{00A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "0b6f0d4e-3c1a-4e53-9d3c-5a2f1b7c9e10";

    #[test]
    fn short_names_keep_namespace_name_and_uid() {
        assert_eq!(
            default_job_name("team-a", "daily", UID),
            format!("team-a.daily-{UID}")
        );
    }

    #[test]
    fn any_namespace_and_name_fit_pattern_and_length() {
        let long_ns = "n".repeat(63);
        let long_name = "a.b-c".repeat(51); // 255 characters
        for (ns, name) in [
            ("default", "x"),
            (long_ns.as_str(), long_name.as_str()),
            ("", ""),
            ("ns", "weird name/with:chars%"),
            ("ns", "ünïcödé"),
            ("ns", "tab\there\nnewline"),
        ] {
            let job = default_job_name(ns, name, UID);
            assert!(is_valid_job_name(&job), "{job:?} is not a valid JobName");
            assert!(job.ends_with(UID), "{job:?} lost its UID");
            assert!(job.chars().count() <= MAX_JOB_NAME);
        }
    }

    #[test]
    fn unique_per_uid_even_when_prefix_is_cut() {
        let name = "x".repeat(253);
        let a = default_job_name("ns", &name, UID);
        let b = default_job_name("ns", &name, "1b6f0d4e-3c1a-4e53-9d3c-5a2f1b7c9e10");
        assert_ne!(a, b);
        assert_eq!(a.chars().count(), MAX_JOB_NAME);
    }

    #[test]
    fn deterministic() {
        assert_eq!(
            default_job_name("a", "b", UID),
            default_job_name("a", "b", UID)
        );
    }

    #[test]
    fn job_name_validation() {
        assert!(is_valid_job_name("a b_c.d:e/f=g+h-i%j@k"));
        assert!(!is_valid_job_name(""));
        assert!(!is_valid_job_name("semi;colon"));
        assert!(!is_valid_job_name(&"a".repeat(257)));
    }
}
