//! Request validation read from the Comprehend service model: the extract in
//! `model/comprehend.json` (botocore's own format, generated from a pinned
//! botocore; never edited by hand; STS's AssumeRole and GetCallerIdentity
//! likewise in `model/sts.json`) is embedded, turned once into a shape
//! tree, and one walker checks a JSON request against its operation's input
//! shape: types, required members, lengths (in characters), patterns (on the
//! whole value), enums, list sizes and integer ranges. Every violated
//! constraint is listed in one `ValidationException`, worded like the
//! service: `1 validation error detected: Value 'x' at 'dataAccessRoleArn'
//! failed to satisfy constraint: Member must satisfy regular expression
//! pattern: ...`, quoting the model's pattern verbatim. A member of the
//! wrong JSON type is a `SerializationException`.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::protocol::{ApiError, Operation};

/// The service model extract, as generated.
pub const MODEL_JSON: &str = include_str!("../model/comprehend.json");

/// The STS service model extract (AssumeRole, GetCallerIdentity), as
/// generated.
pub const STS_MODEL_JSON: &str = include_str!("../model/sts.json");

/// Model patterns are Java regular expressions. The few whose Java spelling
/// the `regex` crate does not read are rewritten here, model pattern first,
/// then its Rust equivalent (messages always quote the model's pattern).
/// Every pattern of the current extract compiles as it is (`\p{ASCII}`,
/// `\p{L}`, `\u0009` and the rest have the same meaning in both); a
/// botocore update that brings one that does not fails the unit test
/// `every_model_pattern_compiles` until it is added here.
const JAVA_PATTERNS: &[(&str, &str)] = &[];

/// A pattern of the model, with its compiled, anchored form.
#[derive(Debug)]
pub struct Pattern {
    /// The pattern as the model spells it, quoted in messages.
    pub source: String,
    regex: Regex,
}

impl Pattern {
    /// Compiles a model pattern, anchored: the service applies patterns to
    /// the whole value.
    pub fn compile(source: &str) -> Result<Pattern, regex::Error> {
        let rust = JAVA_PATTERNS
            .iter()
            .find(|(java, _)| *java == source)
            .map_or(source, |(_, rust)| rust);
        Ok(Pattern {
            source: source.to_string(),
            regex: Regex::new(&format!("^(?:{rust})$"))?,
        })
    }

    /// Whether the whole of `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }
}

/// The type of a shape, with its constraints. Shapes refer to each other
/// by index into [`ServiceModel::shapes`].
#[derive(Debug)]
pub enum Kind {
    /// A string (or blob): length bounds in characters, a pattern, an enum.
    Str {
        /// Minimum length.
        min: Option<i64>,
        /// Maximum length.
        max: Option<i64>,
        /// Pattern the whole value must match.
        pattern: Option<Pattern>,
        /// Allowed values.
        values: Option<Vec<String>>,
    },
    /// An integer or long within `min..=max`.
    Int {
        /// Smallest allowed value.
        min: Option<i64>,
        /// Largest allowed value.
        max: Option<i64>,
    },
    /// A float or double.
    Number,
    /// A boolean.
    Bool,
    /// A timestamp (epoch seconds in awsJson1_1).
    Timestamp,
    /// A structure; members sorted by name.
    Struct(Vec<Member>),
    /// A list with optional size bounds.
    List {
        /// The shape of each item.
        member: usize,
        /// Minimum number of items.
        min: Option<i64>,
        /// Maximum number of items.
        max: Option<i64>,
    },
    /// A map with optional size bounds.
    Map {
        /// The shape of each key.
        key: usize,
        /// The shape of each value.
        value: usize,
        /// Minimum number of entries.
        min: Option<i64>,
        /// Maximum number of entries.
        max: Option<i64>,
    },
}

/// A member of a structure.
#[derive(Debug)]
pub struct Member {
    /// The member's wire name (PascalCase).
    pub name: String,
    /// Whether the member must be present.
    pub required: bool,
    /// Its shape.
    pub shape: usize,
}

/// One shape of the model.
#[derive(Debug)]
pub struct Shape {
    /// The model's name of the shape.
    pub name: String,
    /// Its type and constraints.
    pub kind: Kind,
}

/// One operation of the model.
#[derive(Debug)]
pub struct OperationSpec {
    /// Its input shape.
    pub input: usize,
    /// The errors the model says it can answer.
    pub errors: Vec<String>,
}

/// The shape tree of the served operations.
#[derive(Debug)]
pub struct ServiceModel {
    /// Every shape reachable from the operations' inputs.
    pub shapes: Vec<Shape>,
    /// Operations by name.
    pub operations: BTreeMap<String, OperationSpec>,
}

#[derive(Deserialize)]
struct RawModel {
    operations: BTreeMap<String, RawOperation>,
    shapes: BTreeMap<String, RawShape>,
}

#[derive(Deserialize)]
struct RawOperation {
    input: String,
    #[serde(default)]
    errors: Vec<String>,
}

#[derive(Deserialize)]
struct RawRef {
    shape: String,
}

#[derive(Deserialize)]
struct RawShape {
    #[serde(rename = "type")]
    ty: String,
    min: Option<i64>,
    max: Option<i64>,
    pattern: Option<String>,
    #[serde(rename = "enum")]
    values: Option<Vec<String>>,
    #[serde(default)]
    required: Vec<String>,
    members: Option<BTreeMap<String, RawRef>>,
    member: Option<RawRef>,
    key: Option<RawRef>,
    value: Option<RawRef>,
}

impl ServiceModel {
    /// Builds the shape tree from a model extract.
    pub fn parse(json: &str) -> Result<ServiceModel, String> {
        let raw: RawModel =
            serde_json::from_str(json).map_err(|e| format!("not a model extract: {e}"))?;
        let index: HashMap<&str, usize> = raw
            .shapes
            .keys()
            .enumerate()
            .map(|(i, name)| (name.as_str(), i))
            .collect();
        let resolve = |owner: &str, r: Option<&RawRef>, what: &str| -> Result<usize, String> {
            let name = &r
                .ok_or_else(|| format!("shape {owner} has no {what}"))?
                .shape;
            index
                .get(name.as_str())
                .copied()
                .ok_or_else(|| format!("shape {owner} refers to unknown shape {name}"))
        };
        let mut shapes = Vec::with_capacity(raw.shapes.len());
        for (name, shape) in &raw.shapes {
            let kind = match shape.ty.as_str() {
                "string" | "blob" => Kind::Str {
                    min: shape.min,
                    max: shape.max,
                    pattern: shape
                        .pattern
                        .as_deref()
                        .map(|p| Pattern::compile(p).map_err(|e| format!("pattern of {name}: {e}")))
                        .transpose()?,
                    values: shape.values.clone(),
                },
                "integer" | "long" => Kind::Int {
                    min: shape.min,
                    max: shape.max,
                },
                "float" | "double" => Kind::Number,
                "boolean" => Kind::Bool,
                "timestamp" => Kind::Timestamp,
                "structure" => {
                    let members = shape.members.as_ref();
                    for required in &shape.required {
                        if !members.is_some_and(|m| m.contains_key(required)) {
                            return Err(format!("{name} requires unknown member {required}"));
                        }
                    }
                    // BTreeMap: members in name order, whatever order the
                    // JSON reader keeps.
                    let members = members
                        .into_iter()
                        .flatten()
                        .map(|(member, r)| {
                            Ok(Member {
                                name: member.clone(),
                                required: shape.required.contains(member),
                                shape: resolve(name, Some(r), "member")?,
                            })
                        })
                        .collect::<Result<Vec<_>, String>>()?;
                    Kind::Struct(members)
                }
                "list" => Kind::List {
                    member: resolve(name, shape.member.as_ref(), "member")?,
                    min: shape.min,
                    max: shape.max,
                },
                "map" => Kind::Map {
                    key: resolve(name, shape.key.as_ref(), "key")?,
                    value: resolve(name, shape.value.as_ref(), "value")?,
                    min: shape.min,
                    max: shape.max,
                },
                other => return Err(format!("shape {name} has unknown type {other}")),
            };
            shapes.push(Shape {
                name: name.clone(),
                kind,
            });
        }
        let mut operations = BTreeMap::new();
        for (name, op) in raw.operations {
            let input = index
                .get(op.input.as_str())
                .copied()
                .ok_or_else(|| format!("operation {name} has unknown input {}", op.input))?;
            operations.insert(
                name,
                OperationSpec {
                    input,
                    errors: op.errors,
                },
            );
        }
        Ok(ServiceModel { shapes, operations })
    }

    /// The spec of an operation the model has.
    pub fn operation(&self, op: Operation) -> Option<&OperationSpec> {
        self.operations.get(op.name())
    }

    /// A shape by its model name.
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.iter().find(|s| s.name == name)
    }
}

/// The embedded model, built on first use.
pub static MODEL: LazyLock<ServiceModel> = LazyLock::new(|| {
    ServiceModel::parse(MODEL_JSON).expect("model/comprehend.json is a valid model extract")
});

/// The embedded STS model, built on first use.
pub static STS_MODEL: LazyLock<ServiceModel> = LazyLock::new(|| {
    ServiceModel::parse(STS_MODEL_JSON).expect("model/sts.json is a valid model extract")
});

/// Checks a request against its operation's input shape.
///
/// A member of the wrong JSON type is a `SerializationException`; every
/// violated constraint is listed in one `ValidationException`.
pub fn validate_request(op: Operation, request: &Value) -> Result<(), ApiError> {
    validate_input(&MODEL, op.name(), request)
}

/// Checks a request (as JSON) against the input shape of the operation
/// `name` of `model`, as [`validate_request`] does.
pub fn validate_input(model: &ServiceModel, name: &str, request: &Value) -> Result<(), ApiError> {
    let Some(spec) = model.operations.get(name) else {
        return Err(ApiError::internal(format!(
            "The service model has no operation {name}."
        )));
    };
    let mut errors = Vec::new();
    Walker {
        model,
        errors: &mut errors,
    }
    .check(spec.input, request, "")?;
    match errors.len() {
        0 => Ok(()),
        1 => Err(ApiError::validation(format!(
            "1 validation error detected: {}",
            errors[0]
        ))),
        n => Err(ApiError::validation(format!(
            "{n} validation errors detected: {}",
            errors.join("; ")
        ))),
    }
}

/// `DataAccessRoleArn` -> `dataAccessRoleArn`, as the service names members
/// in validation messages.
fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        lower_camel(name)
    } else {
        format!("{path}.{}", lower_camel(name))
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{s}'"),
        Value::Null => "null".to_string(),
        Value::Array(items) => format!(
            "'[{}]'",
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("'{other}'"),
    }
}

fn violation(value: &Value, path: &str, constraint: &str) -> String {
    format!(
        "Value {} at '{path}' failed to satisfy constraint: {constraint}",
        describe(value)
    )
}

fn length_violations(len: usize, min: Option<i64>, max: Option<i64>) -> Vec<String> {
    let len = len as i64;
    let mut out = Vec::new();
    if let Some(min) = min.filter(|min| len < *min) {
        out.push(format!(
            "Member must have length greater than or equal to {min}"
        ));
    }
    if let Some(max) = max.filter(|max| len > *max) {
        out.push(format!(
            "Member must have length less than or equal to {max}"
        ));
    }
    out
}

/// The constraint messages a string breaks, without the path.
fn string_violations(kind: &Kind, s: &str) -> Vec<String> {
    let Kind::Str {
        min,
        max,
        pattern,
        values,
    } = kind
    else {
        return Vec::new();
    };
    let mut out = length_violations(s.chars().count(), *min, *max);
    if let Some(pattern) = pattern.as_ref().filter(|p| !p.matches(s)) {
        out.push(format!(
            "Member must satisfy regular expression pattern: {}",
            pattern.source
        ));
    }
    if let Some(values) = values.as_ref().filter(|v| !v.iter().any(|v| v == s)) {
        out.push(format!(
            "Member must satisfy enum value set: [{}]",
            values.join(", ")
        ));
    }
    out
}

fn type_error(path: &str, expected: &str) -> ApiError {
    ApiError::serialization(format!("Expected {expected} at '{path}'"))
}

struct Walker<'a> {
    model: &'a ServiceModel,
    errors: &'a mut Vec<String>,
}

impl Walker<'_> {
    fn check(&mut self, shape: usize, value: &Value, path: &str) -> Result<(), ApiError> {
        let model = self.model;
        match &model.shapes[shape].kind {
            kind @ Kind::Str { .. } => {
                let s = value.as_str().ok_or_else(|| type_error(path, "a string"))?;
                for constraint in string_violations(kind, s) {
                    self.errors.push(violation(value, path, &constraint));
                }
            }
            Kind::Int { min, max } => {
                let n = value
                    .as_i64()
                    .ok_or_else(|| type_error(path, "an integer"))?;
                if let Some(min) = min.filter(|min| n < *min) {
                    self.errors.push(violation(
                        value,
                        path,
                        &format!("Member must have value greater than or equal to {min}"),
                    ));
                }
                if let Some(max) = max.filter(|max| n > *max) {
                    self.errors.push(violation(
                        value,
                        path,
                        &format!("Member must have value less than or equal to {max}"),
                    ));
                }
            }
            Kind::Number => {
                if !value.is_number() {
                    return Err(type_error(path, "a number"));
                }
            }
            Kind::Bool => {
                if !value.is_boolean() {
                    return Err(type_error(path, "a boolean"));
                }
            }
            Kind::Timestamp => {
                if !value.is_number() {
                    return Err(type_error(path, "a timestamp in epoch seconds"));
                }
            }
            Kind::Struct(members) => {
                let object = value
                    .as_object()
                    .ok_or_else(|| type_error(path, "an object"))?;
                for member in members {
                    let member_path = join(path, &member.name);
                    match object.get(&member.name) {
                        None | Some(Value::Null) => {
                            if member.required {
                                self.errors.push(violation(
                                    &Value::Null,
                                    &member_path,
                                    "Member must not be null",
                                ));
                            }
                        }
                        Some(member_value) => {
                            self.check(member.shape, member_value, &member_path)?
                        }
                    }
                }
            }
            Kind::List { member, min, max } => {
                let items = value.as_array().ok_or_else(|| type_error(path, "a list"))?;
                for constraint in length_violations(items.len(), *min, *max) {
                    self.errors.push(violation(value, path, &constraint));
                }
                let item_kind = &model.shapes[*member].kind;
                if let Kind::Str { .. } = item_kind {
                    // The service reports string-list members together, at
                    // the list's path.
                    let mut broken: Vec<String> = Vec::new();
                    for element in items {
                        let s = element
                            .as_str()
                            .ok_or_else(|| type_error(path, "a list of strings"))?;
                        for constraint in string_violations(item_kind, s) {
                            if !broken.contains(&constraint) {
                                broken.push(constraint);
                            }
                        }
                    }
                    if !broken.is_empty() {
                        self.errors.push(violation(
                            value,
                            path,
                            &format!("Member must satisfy constraint: [{}]", broken.join(", ")),
                        ));
                    }
                } else {
                    for (index, element) in items.iter().enumerate() {
                        let element_path = format!("{path}.{}.member", index + 1);
                        self.check(*member, element, &element_path)?;
                    }
                }
            }
            Kind::Map {
                key,
                value: value_shape,
                min,
                max,
            } => {
                let object = value.as_object().ok_or_else(|| type_error(path, "a map"))?;
                for constraint in length_violations(object.len(), *min, *max) {
                    self.errors.push(violation(value, path, &constraint));
                }
                for (k, v) in object {
                    let entry_path = format!("{path}.{k}");
                    self.check(
                        *key,
                        &Value::String(k.clone()),
                        &format!("{entry_path}.key"),
                    )?;
                    self.check(*value_shape, v, &format!("{entry_path}.value"))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
