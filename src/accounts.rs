//! Which AWS identity a namespace's resources act with.
//!
//! A cluster admin maps a namespace to an IAM role in a team's account with
//! an `AccountMapping`: cluster-scoped, and named after the namespace it
//! maps, so a namespace has at most one mapping and whoever may only write
//! in a namespace can neither write one nor pick another namespace's role.
//! The operator assumes the role through the AWS SDK's own STS provider
//! (see [`crate::comprehend::sdk`]); a namespace without a mapping uses the
//! operator's own identity, or is refused (`NoAccountMapping`) when the
//! operator runs with `--require-account-mapping`.
//!
//! Resolution ([`place_for`]) is pure and unit-tested; [`Accounts`] holds
//! the watched mappings.

use futures::{Stream, StreamExt};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::comprehend::{Place, Role};

/// Maps the namespace this object is named after to an IAM role the
/// operator assumes for the namespace's ClassificationJobs and
/// DocumentClassifiers.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "comprehend.operators.dev",
    version = "v1alpha1",
    kind = "AccountMapping",
    shortname = "acctmap",
    category = "comprehend",
    derive = "PartialEq",
    doc = "Maps the namespace of the same name to an AWS account: the operator assumes roleArn (with externalId, when given) for the namespace's ClassificationJobs and DocumentClassifiers. Cluster-scoped, so only cluster admins write it; a namespace without one uses the operator's own identity, or is refused when the operator requires a mapping.",
    printcolumn = r#"{"name":"Role","type":"string","jsonPath":".spec.roleArn","description":"IAM role the operator assumes"}"#,
    printcolumn = r#"{"name":"Region","type":"string","jsonPath":".spec.region","description":"Default Region of the namespace"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct AccountMappingSpec {
    /// ARN of the IAM role to assume (STS AssumeRole). Its trust policy must
    /// let the operator's own identity assume it; its permissions are what
    /// the namespace's resources may do in Comprehend (and iam:PassRole on
    /// their data access roles).
    #[schemars(
        length(min = 20, max = 2048),
        regex(pattern = r"^arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+$")
    )]
    pub role_arn: String,

    /// `ExternalId` for AssumeRole, when the role's trust policy requires
    /// one (`sts:ExternalId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 1224), regex(pattern = r"^[\w+=,.@:/-]*$"))]
    pub external_id: Option<String>,

    /// `RoleSessionName` (shown in the account's CloudTrail). Defaults to
    /// `comprehend-operator-<namespace>`, cut to 64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 64), regex(pattern = r"^[\w+=,.@-]*$"))]
    pub session_name: Option<String>,

    /// Region of the namespace's resources that name none (default: the
    /// operator's Region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub region: Option<String>,
}

/// The CustomResourceDefinition as installed.
pub fn account_mapping_crd() -> CustomResourceDefinition {
    AccountMapping::crd()
}

/// The reason of a resource refused for want of a mapping.
pub const NO_ACCOUNT_MAPPING: &str = "NoAccountMapping";

/// Why a namespace has no identity to act with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("namespace {namespace} has no AccountMapping, and this operator acts only for mapped namespaces; a cluster admin must create AccountMapping {namespace}")]
pub struct NoAccountMapping {
    pub namespace: String,
}

/// The default `RoleSessionName` of a namespace: only characters STS
/// allows (`[\w+=,.@-]`), at most 64.
pub fn default_session_name(namespace: &str) -> String {
    format!("comprehend-operator-{namespace}")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c))
        .take(64)
        .collect()
}

/// Where a resource of `namespace` acts: the namespace's mapping (if any)
/// gives the role and the default Region; `spec_region` (the resource's
/// own) comes first, the operator's `default_region` last. Without a
/// mapping, the operator's own identity, unless `require_mapping`.
pub fn place_for(
    mapping: Option<&AccountMappingSpec>,
    namespace: &str,
    spec_region: Option<&str>,
    default_region: &str,
    require_mapping: bool,
) -> Result<Place, NoAccountMapping> {
    let Some(m) = mapping else {
        if require_mapping {
            return Err(NoAccountMapping {
                namespace: namespace.to_string(),
            });
        }
        return Ok(Place::own(spec_region.unwrap_or(default_region)));
    };
    let region = spec_region
        .or(m.region.as_deref())
        .unwrap_or(default_region);
    Ok(Place {
        role: Some(Role {
            arn: m.role_arn.clone(),
            external_id: m.external_id.clone(),
            session_name: m
                .session_name
                .clone()
                .unwrap_or_else(|| default_session_name(namespace)),
        }),
        region: region.to_string(),
    })
}

/// Watches the AccountMappings into a store. Returns the resolver over it,
/// the stream of mappings seen (to wake the resources of their namespace)
/// and a flag set once the first list is in: no resource may act before,
/// or a mapped namespace would act with the operator's own identity.
pub fn watch(
    client: &Client,
    default_region: &str,
    require_mapping: bool,
) -> (
    Accounts,
    impl Stream<Item = Result<AccountMapping, watcher::Error>> + Send + 'static,
    tokio::sync::watch::Receiver<bool>,
) {
    let (reader, writer) = reflector::store();
    let (synced_tx, synced_rx) = tokio::sync::watch::channel(false);
    let stream = watcher(
        Api::<AccountMapping>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(writer)
    .inspect(move |event| {
        if let Ok(watcher::Event::InitDone) = event {
            let _ = synced_tx.send(true);
        }
    })
    .touched_objects();
    (
        Accounts::new(reader, default_region, require_mapping),
        stream,
        synced_rx,
    )
}

/// The watched mappings and the operator's policy for namespaces without
/// one.
#[derive(Clone)]
pub struct Accounts {
    mappings: Option<Store<AccountMapping>>,
    default_region: String,
    require_mapping: bool,
}

impl Accounts {
    /// Resolves through the mappings in `store`.
    pub fn new(store: Store<AccountMapping>, default_region: &str, require_mapping: bool) -> Self {
        Accounts {
            mappings: Some(store),
            default_region: default_region.to_string(),
            require_mapping,
        }
    }

    /// No mappings: every namespace acts with the operator's own identity
    /// (unit tests).
    pub fn own_identity(default_region: &str) -> Self {
        Accounts {
            mappings: None,
            default_region: default_region.to_string(),
            require_mapping: false,
        }
    }

    /// The operator's Region.
    pub fn default_region(&self) -> &str {
        &self.default_region
    }

    /// The mapping of `namespace`, if any.
    pub fn mapping(&self, namespace: &str) -> Option<AccountMappingSpec> {
        let store = self.mappings.as_ref()?;
        store
            .get(&ObjectRef::new(namespace))
            .map(|m| m.spec.clone())
    }

    /// Where a resource of `namespace` with `spec_region` acts now.
    pub fn place(
        &self,
        namespace: &str,
        spec_region: Option<&str>,
    ) -> Result<Place, NoAccountMapping> {
        place_for(
            self.mapping(namespace).as_ref(),
            namespace,
            spec_region,
            &self.default_region,
            self.require_mapping,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::111122223333:role/team-a";

    fn mapping(region: Option<&str>) -> AccountMappingSpec {
        AccountMappingSpec {
            role_arn: ROLE.into(),
            external_id: Some("ext-1".into()),
            session_name: None,
            region: region.map(Into::into),
        }
    }

    #[test]
    fn a_mapped_namespace_acts_with_its_role_and_region() {
        let m = mapping(Some("eu-west-1"));
        let place = place_for(Some(&m), "team-a", None, "us-east-1", false).unwrap();
        assert_eq!(place.region, "eu-west-1");
        assert_eq!(place.account(), Some("111122223333"));
        let role = place.role.as_ref().unwrap();
        assert_eq!(role.arn, ROLE);
        assert_eq!(role.external_id.as_deref(), Some("ext-1"));
        assert_eq!(role.session_name, "comprehend-operator-team-a");
        // The resource's own Region comes first.
        let place = place_for(Some(&m), "team-a", Some("ap-south-1"), "us-east-1", true).unwrap();
        assert_eq!(place.region, "ap-south-1");
        // Without a Region in the mapping, the operator's.
        let place = place_for(Some(&mapping(None)), "team-a", None, "us-east-1", true).unwrap();
        assert_eq!(place.region, "us-east-1");
    }

    #[test]
    fn an_unmapped_namespace_uses_the_own_identity_or_is_refused() {
        let place = place_for(None, "team-b", None, "us-east-1", false).unwrap();
        assert_eq!(place, Place::own("us-east-1"));
        assert_eq!(place.account_label(), "default");
        let err = place_for(None, "team-b", None, "us-east-1", true).unwrap_err();
        assert_eq!(err.namespace, "team-b");
        assert!(err.to_string().contains("AccountMapping team-b"), "{err}");
    }

    #[test]
    fn the_default_session_name_is_one_sts_takes() {
        let name = default_session_name(&"n".repeat(80));
        assert_eq!(name.len(), 64);
        assert!(name.starts_with("comprehend-operator-nnn"));
        assert_eq!(default_session_name("a.b"), "comprehend-operator-a.b");
    }
}
