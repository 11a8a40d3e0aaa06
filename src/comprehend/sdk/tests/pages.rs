//! The page limit of the listings: where a listing read through the SDK
//! paginator is cut off, and where it is not.

use crate::comprehend::sdk::{PageLimit, MAX_LIST_PAGES};

/// What a fresh limit answers after each page, given the pages' NextTokens.
fn answers(tokens: &[Option<&str>]) -> Vec<bool> {
    let mut limit = PageLimit::default();
    tokens.iter().map(|t| limit.exceeded_after(*t)).collect()
}

/// `n` distinct tokens.
fn distinct(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("token-{i}")).collect()
}

#[test]
fn distinct_tokens_are_cut_off_at_the_last_page_allowed() {
    let tokens = distinct(MAX_LIST_PAGES);
    let pages: Vec<Option<&str>> = tokens.iter().map(|t| Some(t.as_str())).collect();

    let answers = answers(&pages);

    assert_eq!(
        answers.iter().position(|&over| over),
        Some(MAX_LIST_PAGES - 1)
    );
}

#[test]
fn a_listing_that_ends_on_the_last_page_allowed_is_within_the_limit() {
    let tokens = distinct(MAX_LIST_PAGES - 1);
    let pages: Vec<Option<&str>> = tokens.iter().map(|t| Some(t.as_str())).collect();
    let just_sent = *pages.last().unwrap();
    // No token, an empty one, or the token just sent: where the paginator
    // itself ends the listing.
    for end in [None, Some(""), just_sent] {
        let mut all = pages.clone();
        all.push(end);

        assert!(!answers(&all).contains(&true), "{end:?}");
    }
}

#[test]
fn any_page_past_the_limit_is_over_it() {
    // The paginator ends a listing on the token it just sent, so this never
    // happens through it; the limit holds without relying on that.
    let pages = vec![Some("same"); MAX_LIST_PAGES + 1];

    let answers = answers(&pages);

    assert_eq!(answers.iter().position(|&over| over), Some(MAX_LIST_PAGES));
}
