//! A finalizer whose cleanup may take several reconciles: added before
//! anything is created, so a deletion always passes through the operator;
//! released only once the cleanup says it is done (the caller decides, one
//! reconcile at a time). kube-runtime's `finalizer()` runs the cleanup in
//! one call and keeps its own event loop, which suits neither a cleanup
//! that waits for Comprehend across reconciles nor the shared status writer.

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

/// The JSON patch that adds `name` to the object's finalizers, guarded by
/// its resourceVersion: a concurrent change fails the patch (and the
/// reconcile retries) instead of losing someone else's finalizer.
pub fn add_patch<K: Resource>(obj: &K, name: &str) -> json_patch::Patch {
    let add = if obj.meta().finalizers.is_none() {
        json!({"op": "add", "path": "/metadata/finalizers", "value": [name]})
    } else {
        json!({"op": "add", "path": "/metadata/finalizers/-", "value": name})
    };
    serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/resourceVersion", "value": obj.resource_version()},
        add,
    ]))
    .expect("finalizer patch")
}

/// The JSON patch that removes `name` at `index`, guarded by a test that it
/// is still there.
pub fn remove_patch(index: usize, name: &str) -> json_patch::Patch {
    let path = format!("/metadata/finalizers/{index}");
    serde_json::from_value(json!([
        {"op": "test", "path": path, "value": name},
        {"op": "remove", "path": path},
    ]))
    .expect("finalizer patch")
}

/// Whether `obj` carries the finalizer `name`.
pub fn has<K: Resource>(obj: &K, name: &str) -> bool {
    obj.finalizers().iter().any(|f| f == name)
}

/// Adds the finalizer `name` unless `obj` has it; answers the stored object
/// (newer than any cache, status included), or `None` when nothing had to
/// change.
pub async fn ensure<K>(api: &Api<K>, obj: &K, name: &str) -> kube::Result<Option<K>>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    if has(obj, name) {
        return Ok(None);
    }
    let patch = add_patch(obj, name);
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::<()>::Json(patch),
    )
    .await
    .map(Some)
}

/// Removes the finalizer `name`, so the API server can delete the object.
/// Answers whether a patch was made; an object already gone is no error.
pub async fn release<K>(api: &Api<K>, obj: &K, name: &str) -> kube::Result<bool>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let Some(index) = obj.finalizers().iter().position(|f| f == name) else {
        return Ok(false);
    };
    match api
        .patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::<()>::Json(remove_patch(index, name)),
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;

    fn obj(finalizers: Option<Vec<&str>>) -> ConfigMap {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some("c".into());
        cm.metadata.resource_version = Some("42".into());
        cm.metadata.finalizers = finalizers.map(|f| f.into_iter().map(String::from).collect());
        cm
    }

    fn apply(obj: &ConfigMap, patch: &json_patch::Patch) -> Result<ConfigMap, String> {
        let mut doc = serde_json::to_value(obj).unwrap();
        json_patch::patch(&mut doc, patch).map_err(|e| e.to_string())?;
        Ok(serde_json::from_value(doc).unwrap())
    }

    #[test]
    fn adding_keeps_the_others_and_is_guarded_by_the_resource_version() {
        let none = obj(None);
        let added = apply(&none, &add_patch(&none, "a/f")).unwrap();
        assert_eq!(added.finalizers(), ["a/f"]);
        let other = obj(Some(vec!["someone/else"]));
        let added = apply(&other, &add_patch(&other, "a/f")).unwrap();
        assert_eq!(added.finalizers(), ["someone/else", "a/f"]);
        // A change in between (another resourceVersion) fails the patch.
        let mut moved = other.clone();
        moved.metadata.resource_version = Some("43".into());
        assert!(apply(&moved, &add_patch(&other, "a/f")).is_err());
        assert!(has(&added, "a/f") && !has(&other, "a/f"));
    }

    #[test]
    fn removing_takes_only_ours_and_only_if_still_there() {
        let two = obj(Some(vec!["someone/else", "a/f"]));
        let removed = apply(&two, &remove_patch(1, "a/f")).unwrap();
        assert_eq!(removed.finalizers(), ["someone/else"]);
        // The index moved meanwhile: the test op fails, nothing is lost.
        let moved = obj(Some(vec!["a/f", "someone/else"]));
        assert!(apply(&moved, &remove_patch(1, "a/f")).is_err());
    }
}
