//! TagResource, UntagResource and ListTagsForResource on jobs and
//! classifiers, by ARN; a resource of another account than the caller's is
//! not found.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::app::App;
use crate::jobs::request_tags;
use crate::protocol::{str_member, ApiError};
use crate::rules::{too_many_tags, MAX_TAGS};

fn not_found(arn: &str) -> ApiError {
    ApiError::resource_not_found(format!("The specified resource ARN was not found: {arn}"))
}

/// TagResource: adds tags, replacing the values of keys already there.
pub fn tag(app: &Arc<App>, account: &str, request: &Value) -> Result<Value, ApiError> {
    let arn = str_member(request, "ResourceArn").unwrap_or_default();
    let new_tags = request_tags(request);
    app.write(|store| {
        if !store.resource_exists(account, arn) {
            return Err(not_found(arn));
        }
        let mut tags = store.tags.get(arn).cloned().unwrap_or_default();
        for tag in new_tags {
            match tags.iter_mut().find(|t| t.key == tag.key) {
                Some(existing) => existing.value = tag.value,
                None => tags.push(tag),
            }
        }
        if tags.len() > MAX_TAGS {
            return Err(too_many_tags());
        }
        store.tags.insert(arn.to_string(), tags);
        Ok(json!({}))
    })
}

/// UntagResource: removes tags by key.
pub fn untag(app: &Arc<App>, account: &str, request: &Value) -> Result<Value, ApiError> {
    let arn = str_member(request, "ResourceArn").unwrap_or_default();
    let keys: Vec<&str> = request
        .get("TagKeys")
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if keys.len() > MAX_TAGS {
        return Err(ApiError::too_many_tag_keys(format!(
            "At most {MAX_TAGS} tag keys can be removed in one call."
        )));
    }
    app.write(|store| {
        if !store.resource_exists(account, arn) {
            return Err(not_found(arn));
        }
        if let Some(tags) = store.tags.get_mut(arn) {
            tags.retain(|t| !keys.contains(&t.key.as_str()));
        }
        Ok(json!({}))
    })
}

/// ListTagsForResource.
pub fn list(app: &Arc<App>, account: &str, request: &Value) -> Result<Value, ApiError> {
    let arn = str_member(request, "ResourceArn").unwrap_or_default();
    app.read(|store| {
        if !store.resource_exists(account, arn) {
            return Err(not_found(arn));
        }
        let tags: Vec<Value> = store
            .tags
            .get(arn)
            .map(|tags| {
                tags.iter()
                    .map(|t| json!({"Key": t.key, "Value": t.value}))
                    .collect()
            })
            .unwrap_or_default();
        Ok(json!({ "ResourceArn": arn, "Tags": tags }))
    })
}
