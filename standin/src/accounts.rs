//! Accounts: the IAM roles the stand-in has, the credentials AssumeRole
//! issued, and the account a request is made in.
//!
//! A request's account is found from the access key id in its SigV4
//! `Authorization` header (`Credential=<AKID>/<date>/<region>/<service>/aws4_request`;
//! signatures are not checked):
//!
//! - a key AssumeRole issued -> the account of the role it was issued for,
//!   until its `Expiration`; after that the request is refused
//!   (`ExpiredTokenException` for Comprehend, `ExpiredToken` for STS);
//! - any other key, or none (e.g. the static `test` key) -> the default
//!   account (`Config::account_id`).

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

/// An IAM role the stand-in has: AssumeRole of any other role is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Role {
    /// `arn:aws:iam::<12 digits>:role/<path/name>`.
    pub arn: String,
    /// The external ID AssumeRole must give, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

impl Role {
    /// A role from `ARN` or `ARN=EXTERNAL_ID` (the first `=` separates
    /// them), as `--role` and `STANDIN_ROLES` give it.
    pub fn parse(spec: &str) -> Result<Role, String> {
        let (arn, external_id) = match spec.split_once('=') {
            Some((arn, id)) => (arn.trim(), Some(id.trim().to_string())),
            None => (spec.trim(), None),
        };
        let role = Role {
            arn: arn.to_string(),
            external_id,
        };
        role.check()?;
        Ok(role)
    }

    /// Rejects an ARN that is not a role's or an empty external ID.
    pub fn check(&self) -> Result<(), String> {
        if role_account(&self.arn).is_none() {
            return Err(format!(
                "'{}' is not a role ARN (arn:aws:iam::<12 digits>:role/<name>)",
                self.arn
            ));
        }
        if self.external_id.as_deref() == Some("") {
            return Err(format!("the external ID of role {} is empty", self.arn));
        }
        Ok(())
    }

    /// The 12-digit account of the role.
    pub fn account(&self) -> &str {
        role_account(&self.arn).unwrap_or_default()
    }
}

/// The account of a role ARN, `arn:<partition>:iam::<12 digits>:role/<name>`.
pub fn role_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    let digits = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (partition.starts_with("aws") && digits && !name.is_empty()).then_some(account)
}

/// The name of a role (the last segment of its path).
pub fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or_default()
}

/// The roles and the cap on credential lifetimes, as `GET`/`PUT
/// /_standin/roles` show them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RoleSettings {
    /// The roles the stand-in has.
    pub roles: Vec<Role>,
    /// When set, AssumeRole issues credentials valid at most this long
    /// (seconds), whatever `DurationSeconds` asks for.
    pub credential_seconds: Option<u64>,
}

impl RoleSettings {
    /// Applies the members present in a JSON object (`roles` replaces the
    /// whole list; `credentialSeconds` null removes the cap).
    pub fn merge(&mut self, patch: &serde_json::Value) -> Result<(), String> {
        let Some(patch) = patch.as_object() else {
            return Err("roles must be a JSON object".to_string());
        };
        let mut merged = self.clone();
        for (key, value) in patch {
            match key.as_str() {
                "roles" => {
                    merged.roles =
                        serde_json::from_value(value.clone()).map_err(|e| format!("roles: {e}"))?;
                }
                "credentialSeconds" => {
                    merged.credential_seconds = serde_json::from_value(value.clone())
                        .map_err(|e| format!("credentialSeconds: {e}"))?;
                }
                other => return Err(format!("unknown member '{other}'")),
            }
        }
        merged.check()?;
        *self = merged;
        Ok(())
    }

    /// Rejects a bad role ARN, a role given twice or a zero cap.
    pub fn check(&self) -> Result<(), String> {
        for (i, role) in self.roles.iter().enumerate() {
            role.check()?;
            if self.roles[..i].iter().any(|r| r.arn == role.arn) {
                return Err(format!("role {} is given twice", role.arn));
            }
        }
        if self.credential_seconds == Some(0) {
            return Err("credentialSeconds must be at least 1".to_string());
        }
        Ok(())
    }

    /// The role with this ARN.
    pub fn role(&self, arn: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.arn == arn)
    }
}

/// Credentials AssumeRole issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issued {
    /// `ASIA` + 16 uppercase letters and digits.
    pub access_key_id: String,
    /// The secret: the embedded S3 server checks signatures with it; the
    /// Comprehend and STS API do not check signatures.
    pub secret_access_key: String,
    /// The session token.
    pub session_token: String,
    /// Epoch seconds after which the key is refused.
    pub expiration: i64,
    /// The account of the role.
    pub account: String,
    /// The role assumed.
    pub role_arn: String,
    /// `RoleSessionName`.
    pub session_name: String,
    /// `AROA...:<session name>`.
    pub assumed_role_id: String,
}

impl Issued {
    /// `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`.
    pub fn assumed_role_arn(&self) -> String {
        let partition = self.role_arn.split(':').nth(1).unwrap_or("aws");
        format!(
            "arn:{partition}:sts::{}:assumed-role/{}/{}",
            self.account,
            role_name(&self.role_arn),
            self.session_name
        )
    }

    /// Whether the key is past its expiration at `now` (epoch seconds).
    pub fn expired_at(&self, now: f64) -> bool {
        now >= self.expiration as f64
    }
}

/// The access key id of credentials AssumeRole issued that are past their
/// expiration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredKey(pub String);

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The 12-digit account the request is made in.
    pub account: String,
    /// The caller's ARN (`GetCallerIdentity`'s `Arn`).
    pub arn: String,
    /// `GetCallerIdentity`'s `UserId`.
    pub user_id: String,
}

impl Caller {
    /// The caller of a request without issued credentials: the IAM user
    /// `standin` of the default account.
    pub fn default_user(account: &str) -> Caller {
        Caller {
            account: account.to_string(),
            arn: format!("arn:aws:iam::{account}:user/standin"),
            user_id: "AIDASTANDINUSER00001".to_string(),
        }
    }

    /// The caller using credentials AssumeRole issued.
    pub fn assumed(issued: &Issued) -> Caller {
        Caller {
            account: issued.account.clone(),
            arn: issued.assumed_role_arn(),
            user_id: issued.assumed_role_id.clone(),
        }
    }
}

/// The access key id of a SigV4 `Authorization` header:
/// `AWS4-HMAC-SHA256 Credential=<AKID>/<date>/<region>/<service>/aws4_request, ...`.
pub fn access_key_id(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let credential = value
        .split([' ', ','])
        .find_map(|part| part.trim().strip_prefix("Credential="))?;
    let key = credential.split('/').next()?;
    (!key.is_empty()).then_some(key)
}

const KEY_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random_string(chars: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| chars[rand::random_range(0..chars.len())] as char)
        .collect()
}

/// A new access key id: `ASIA` + 16 uppercase letters and digits.
pub fn new_access_key_id() -> String {
    format!("ASIA{}", random_string(KEY_CHARS, 16))
}

/// A new 40-character secret access key.
pub fn new_secret() -> String {
    random_string(SECRET_CHARS, 40)
}

/// A new session token.
pub fn new_session_token() -> String {
    format!("FwoGZXIvYXdzE{}", random_string(SECRET_CHARS, 300))
}

/// The stable `AROA...` id of a role (as IAM gives each role one id).
pub fn role_id(arn: &str) -> String {
    // FNV-1a, twice with different seeds, for 17 characters.
    let hash = |seed: u64| {
        arn.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let mut bits =
        (u128::from(hash(0xcbf2_9ce4_8422_2325)) << 64) | u128::from(hash(0x8422_2325_cbf2_9ce4));
    let mut id = String::from("AROA");
    for _ in 0..17 {
        id.push(KEY_CHARS[(bits % KEY_CHARS.len() as u128) as usize] as char);
        bits /= KEY_CHARS.len() as u128;
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_give_their_account() {
        assert_eq!(
            role_account("arn:aws:iam::111122223333:role/team-a"),
            Some("111122223333")
        );
        assert_eq!(
            role_account("arn:aws:iam::111122223333:role/path/to/team-a"),
            Some("111122223333")
        );
        assert_eq!(role_account("arn:aws:iam::1111:role/x"), None);
        assert_eq!(role_account("arn:aws:iam::111122223333:user/x"), None);
        assert_eq!(role_account("arn:aws:iam::111122223333:role/"), None);
        assert_eq!(role_account("arn:aws:s3:::bucket"), None);
    }

    #[test]
    fn role_specs_parse() {
        assert_eq!(
            Role::parse("arn:aws:iam::111122223333:role/a=ext-1").unwrap(),
            Role {
                arn: "arn:aws:iam::111122223333:role/a".into(),
                external_id: Some("ext-1".into())
            }
        );
        assert_eq!(
            Role::parse("arn:aws:iam::111122223333:role/a")
                .unwrap()
                .external_id,
            None
        );
        assert!(Role::parse("arn:aws:iam::1:role/a").is_err());
        assert!(Role::parse("arn:aws:iam::111122223333:role/a=").is_err());
    }

    #[test]
    fn settings_merge_replaces_given_members() {
        let mut settings = RoleSettings::default();
        settings
            .merge(&serde_json::json!({
                "roles": [{"arn": "arn:aws:iam::111122223333:role/a", "externalId": "x1"}],
                "credentialSeconds": 20
            }))
            .unwrap();
        assert_eq!(settings.roles.len(), 1);
        assert_eq!(settings.credential_seconds, Some(20));
        settings
            .merge(&serde_json::json!({"credentialSeconds": null}))
            .unwrap();
        assert_eq!(settings.roles.len(), 1);
        assert_eq!(settings.credential_seconds, None);
        assert!(settings.merge(&serde_json::json!({"bogus": 1})).is_err());
        assert!(settings
            .merge(&serde_json::json!({"roles": [{"arn": "nope"}]}))
            .is_err());
        assert_eq!(settings.roles.len(), 1);
    }

    #[test]
    fn access_keys_come_from_the_sigv4_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(access_key_id(&headers), None);
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=ASIAABCDEFGHIJKLMNOP/20240101/us-east-1/comprehend/aws4_request, SignedHeaders=host, Signature=abc"
                .parse()
                .unwrap(),
        );
        assert_eq!(access_key_id(&headers), Some("ASIAABCDEFGHIJKLMNOP"));
    }

    #[test]
    fn new_keys_have_the_sts_shape() {
        let key = new_access_key_id();
        assert_eq!(key.len(), 20);
        assert!(key.starts_with("ASIA"));
        assert!(key[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(new_secret().len(), 40);
        let id = role_id("arn:aws:iam::111122223333:role/a");
        assert_eq!(id.len(), 21);
        assert_eq!(id, role_id("arn:aws:iam::111122223333:role/a"));
        assert_ne!(id, role_id("arn:aws:iam::111122223333:role/b"));
    }
}
