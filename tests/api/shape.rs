//! The shape every GraphQL response must have, checked on every response
//! the suite receives (over HTTP, and in each WebSocket result).
//!
//! The GraphQL spec ("Errors and Non-Null Fields") promises a client that a
//! response holds each field it selected — a field error makes the field
//! `null`, or, in a non-null field, the nearest nullable ancestor — and that
//! no non-null field is ever `null`. Normalised client caches (Apollo,
//! Relay, urql) depend on it. [`check`] walks a response against the
//! operation that asked for it and the schema's types, so a regression
//! anywhere fails whichever test meets it.
//!
//! What it cannot know it does not guess: inside a union or interface whose
//! `__typename` was not selected, the fields of fragments on one concrete
//! type may be absent; they are checked only when present.

use std::collections::HashMap;
use std::sync::OnceLock;

use async_graphql::Name;
use async_graphql::Value as ConstValue;
use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet, Type,
    TypeKind, TypeSystemDefinition,
};
use async_graphql::parser::{Positioned, parse_query, parse_schema};
use serde_json::{Map, Value};

/// Checks `response` against the request that produced it (`{"query",
/// "variables", "operationName"}`), failing the test on any breach.
/// Requests that do not parse, and responses without `data` (a request
/// error) or with `data: null` (an error propagated to the root, which must
/// come with errors), have no shape to check beyond that.
pub fn check(request: &Value, response: &Value) {
    let Some(query) = request["query"].as_str() else {
        return;
    };
    let Ok(document) = parse_query(query) else {
        return;
    };
    let Some(data) = response.as_object().and_then(|r| r.get("data")) else {
        return;
    };
    if data.is_null() {
        let has_errors = response["errors"].as_array().is_some_and(|e| !e.is_empty());
        assert!(has_errors, "data is null without errors: {response}");
        return;
    }
    let name = request["operationName"].as_str();
    let Some((kind, selection)) = operation(&document, name) else {
        return;
    };
    let walk = Walk {
        schema: schema(),
        document: &document,
        variables: request["variables"].as_object(),
        operation_variables: variable_defaults(&document, name),
    };
    let mut breaches = Vec::new();
    walk.object(
        data,
        walk.schema.root(kind),
        selection,
        "data",
        &mut breaches,
    );
    assert!(
        breaches.is_empty(),
        "the response breaks the GraphQL response shape:\n  {}\nquery: {query}\nresponse: {response}",
        breaches.join("\n  ")
    );
}

/// [`check`] for a raw HTTP exchange: the JSON body sent (one request or a
/// batch) and the JSON answered. Bodies that are not GraphQL requests have
/// no shape to check.
pub fn check_exchange(sent: &[u8], response: &Value) {
    let Ok(request) = serde_json::from_slice::<Value>(sent) else {
        return;
    };
    match (&request, response) {
        (Value::Array(requests), Value::Array(responses)) => {
            for (request, response) in requests.iter().zip(responses) {
                check(request, response);
            }
        }
        (Value::Object(_), _) => check(&request, response),
        _ => {}
    }
}

/// Reads a raw HTTP answer to `sent`, checks its JSON body with
/// [`check_exchange`], and hands back an equal response for the test to
/// read as it likes.
pub async fn checked(sent: &[u8], response: reqwest::Response) -> reqwest::Response {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("the response body");
    if let Ok(answer) = serde_json::from_slice::<Value>(&bytes) {
        check_exchange(sent, &answer);
    }
    let mut rebuilt = http::Response::new(bytes);
    *rebuilt.status_mut() = status;
    *rebuilt.headers_mut() = headers;
    reqwest::Response::from(rebuilt)
}

/// The operation `name` (or the only one) of `document`.
fn operation<'d>(
    document: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<(OperationType, &'d Positioned<SelectionSet>)> {
    let found = match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => &op.node,
        (DocumentOperations::Multiple(ops), Some(name)) => &ops.get(&Name::new(name))?.node,
        (DocumentOperations::Multiple(_), None) => return None,
    };
    Some((found.ty, &found.selection_set))
}

/// The default values of the operation's variables, by name.
fn variable_defaults(document: &ExecutableDocument, name: Option<&str>) -> HashMap<String, bool> {
    let definitions = match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => &op.node.variable_definitions,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(&Name::new(name)) {
            Some(op) => &op.node.variable_definitions,
            None => return HashMap::new(),
        },
        (DocumentOperations::Multiple(_), None) => return HashMap::new(),
    };
    definitions
        .iter()
        .filter_map(|definition| {
            let default = definition.node.default_value()?;
            let ConstValue::Boolean(value) = default else {
                return None;
            };
            Some((definition.node.name.node.to_string(), *value))
        })
        .collect()
}

/// One field of a selection set, as it must appear in the response.
struct Selected<'d> {
    key: String,
    name: String,
    /// The type the field was selected on: the fragment's type condition,
    /// or the enclosing type.
    owner: String,
    selection: &'d Positioned<SelectionSet>,
    /// Whether the response must hold it: false for fields of a fragment
    /// whose type condition cannot be decided without `__typename`.
    required: bool,
}

struct Walk<'d> {
    schema: &'static Schema,
    document: &'d ExecutableDocument,
    variables: Option<&'d Map<String, Value>>,
    operation_variables: HashMap<String, bool>,
}

impl<'d> Walk<'d> {
    /// Checks an object value of static type `ty` selected by `selection`.
    fn object(
        &self,
        value: &Value,
        ty: &str,
        selection: &'d Positioned<SelectionSet>,
        path: &str,
        breaches: &mut Vec<String>,
    ) {
        let Some(object) = value.as_object() else {
            breaches.push(format!(
                "{path}: expected an object of type {ty}, got {value}"
            ));
            return;
        };
        let concrete = self.concrete_type(object, ty, selection);
        let mut fields = Vec::new();
        self.collect(selection, ty, concrete.as_deref(), true, &mut fields);
        for key in object.keys() {
            if !fields.iter().any(|field| &field.key == key) {
                breaches.push(format!("{path}.{key}: not selected"));
            }
        }
        for field in &fields {
            let path = format!("{path}.{}", field.key);
            let Some(value) = object.get(&field.key) else {
                if field.required {
                    breaches.push(format!("{path}: selected but missing"));
                }
                continue;
            };
            if field.name == "__typename" {
                if !value.is_string() {
                    breaches.push(format!("{path}: __typename is not a string"));
                }
                continue;
            }
            if field.name.starts_with("__") {
                continue; // introspection: not in the exported schema
            }
            let owner = concrete.as_deref().unwrap_or(&field.owner);
            match self.schema.field_type(owner, &field.name) {
                Some(field_type) => self.value(value, field_type, field.selection, &path, breaches),
                None => breaches.push(format!("{path}: no field {}.{}", owner, field.name)),
            }
        }
    }

    /// Checks a value against its declared type.
    fn value(
        &self,
        value: &Value,
        ty: &Type,
        selection: &'d Positioned<SelectionSet>,
        path: &str,
        breaches: &mut Vec<String>,
    ) {
        if value.is_null() {
            if !ty.nullable {
                breaches.push(format!("{path}: null in non-null {ty}"));
            }
            return;
        }
        match &ty.base {
            BaseType::List(item) => match value.as_array() {
                Some(items) => {
                    for (index, item_value) in items.iter().enumerate() {
                        let path = format!("{path}[{index}]");
                        self.value(item_value, item, selection, &path, breaches);
                    }
                }
                None => breaches.push(format!("{path}: expected a list for {ty}, got {value}")),
            },
            BaseType::Named(name) if self.schema.is_composite(name) => {
                self.object(value, name, selection, path, breaches);
            }
            BaseType::Named(_) => {}
        }
    }

    /// The object's concrete type: `ty` itself when it is an object type,
    /// else what its selected `__typename` says (if it was selected).
    fn concrete_type(
        &self,
        object: &Map<String, Value>,
        ty: &str,
        selection: &'d Positioned<SelectionSet>,
    ) -> Option<String> {
        if !self.schema.is_abstract(ty) {
            return Some(ty.to_owned());
        }
        let mut fields = Vec::new();
        self.collect(selection, ty, None, true, &mut fields);
        fields
            .iter()
            .filter(|field| field.name == "__typename")
            .find_map(|field| object.get(&field.key)?.as_str().map(str::to_owned))
    }

    /// The fields `selection` selects on a value of static type `ty` and
    /// (when known) concrete type `concrete`, fragments expanded and
    /// `@skip`/`@include` applied.
    fn collect(
        &self,
        selection: &'d Positioned<SelectionSet>,
        ty: &str,
        concrete: Option<&str>,
        required: bool,
        out: &mut Vec<Selected<'d>>,
    ) {
        for item in &selection.node.items {
            if !self.included(item.node.directives()) {
                continue;
            }
            let (condition, set) = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let key = field.response_key().node.to_string();
                    if out.iter().any(|seen| seen.key == key && seen.required) {
                        continue;
                    }
                    out.retain(|seen| seen.key != key);
                    out.push(Selected {
                        key,
                        name: field.name.node.to_string(),
                        owner: ty.to_owned(),
                        selection: &field.selection_set,
                        required,
                    });
                    continue;
                }
                Selection::InlineFragment(fragment) => (
                    fragment
                        .node
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.as_str()),
                    &fragment.node.selection_set,
                ),
                Selection::FragmentSpread(spread) => {
                    let Some(fragment) =
                        self.document.fragments.get(&spread.node.fragment_name.node)
                    else {
                        continue;
                    };
                    (
                        Some(fragment.node.type_condition.node.on.node.as_str()),
                        &fragment.node.selection_set,
                    )
                }
            };
            let condition = condition.unwrap_or(ty);
            match concrete.map(|concrete| self.schema.applies(condition, concrete)) {
                Some(true) => self.collect(set, condition, concrete, required, out),
                Some(false) => {}
                // Unknown concrete type: a fragment on the static type (or
                // an interface of it) applies; others may or may not.
                None if condition == ty => self.collect(set, condition, None, required, out),
                None => self.collect(set, condition, None, false, out),
            }
        }
    }

    /// Whether `@skip` / `@include` keep a selection.
    fn included(&self, directives: &[Positioned<async_graphql::parser::types::Directive>]) -> bool {
        directives.iter().all(|directive| {
            let name = directive.node.name.node.as_str();
            let Some(condition) = directive.node.get_argument("if") else {
                return true;
            };
            let resolved = condition.node.clone().into_const_with(|variable| {
                let value = self
                    .variables
                    .and_then(|vars| vars.get(variable.as_str()))
                    .and_then(Value::as_bool)
                    .or_else(|| self.operation_variables.get(variable.as_str()).copied())
                    .unwrap_or(false);
                Ok::<_, ()>(ConstValue::Boolean(value))
            });
            let Ok(ConstValue::Boolean(value)) = resolved else {
                return true;
            };
            match name {
                "skip" => !value,
                "include" => value,
                _ => true,
            }
        })
    }
}

/// The schema's output types, from the SDL the code exports.
struct Schema {
    types: HashMap<String, TypeInfo>,
    /// The root types of query, mutation and subscription, in that order.
    roots: [String; 3],
}

#[derive(Default)]
struct TypeInfo {
    /// Object, interface or union.
    composite: bool,
    /// Interface or union.
    abstract_type: bool,
    fields: HashMap<String, Type>,
    /// For an object type: the interfaces it implements and unions holding it.
    supertypes: Vec<String>,
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::from_sdl(&chat_server::graphql::sdl()))
}

impl Schema {
    fn from_sdl(sdl: &str) -> Schema {
        let document = parse_schema(sdl).expect("the exported schema parses");
        let mut types: HashMap<String, TypeInfo> = HashMap::new();
        let mut roots = ["Query", "Mutation", "Subscription"].map(str::to_owned);
        let mut union_members = Vec::new();
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = schema.node;
                    let named = [schema.query, schema.mutation, schema.subscription];
                    for (root, name) in roots.iter_mut().zip(named) {
                        if let Some(name) = name {
                            *root = name.node.to_string();
                        }
                    }
                }
                TypeSystemDefinition::Type(ty) => {
                    let ty = ty.node;
                    let name = ty.name.node.to_string();
                    let info = types.entry(name.clone()).or_default();
                    let (fields, implements) = match ty.kind {
                        TypeKind::Object(object) => (object.fields, object.implements),
                        TypeKind::Interface(interface) => {
                            info.abstract_type = true;
                            (interface.fields, interface.implements)
                        }
                        TypeKind::Union(union) => {
                            info.composite = true;
                            info.abstract_type = true;
                            for member in union.members {
                                union_members.push((member.node.to_string(), name.clone()));
                            }
                            continue;
                        }
                        _ => continue,
                    };
                    info.composite = true;
                    info.fields = fields
                        .into_iter()
                        .map(|f| (f.node.name.node.to_string(), f.node.ty.node))
                        .collect();
                    info.supertypes = implements.into_iter().map(|i| i.node.to_string()).collect();
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        for (member, union) in union_members {
            types.entry(member).or_default().supertypes.push(union);
        }
        Schema { types, roots }
    }

    fn root(&self, kind: OperationType) -> &str {
        let index = match kind {
            OperationType::Query => 0,
            OperationType::Mutation => 1,
            OperationType::Subscription => 2,
        };
        &self.roots[index]
    }

    fn is_composite(&self, name: &str) -> bool {
        self.types.get(name).is_some_and(|t| t.composite)
    }

    fn is_abstract(&self, name: &str) -> bool {
        self.types.get(name).is_some_and(|t| t.abstract_type)
    }

    fn field_type(&self, owner: &str, field: &str) -> Option<&Type> {
        self.types.get(owner)?.fields.get(field)
    }

    /// Whether a fragment on `condition` applies to an object of type `concrete`.
    fn applies(&self, condition: &str, concrete: &str) -> bool {
        condition == concrete
            || self
                .types
                .get(concrete)
                .is_some_and(|t| t.supertypes.iter().any(|s| s == condition))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::check;

    const QUERY: &str =
        "query($c: ID!) { chat(id: $c) { id messages(last: 1) { edges { cursor } } } }";

    fn request() -> serde_json::Value {
        json!({ "query": QUERY, "variables": { "c": "x" } })
    }

    /// The check accepts a whole object, and a nullable field nulled.
    #[test]
    fn a_complete_response_and_a_nulled_nullable_field_pass() {
        let whole = json!({ "data": { "chat": { "id": "x", "messages": { "edges": [] } } } });
        let nulled = json!({ "data": { "chat": null }, "errors": [{ "message": "m" }] });
        check(&request(), &whole);
        check(&request(), &nulled);
    }

    /// A selected field left out is caught: the hole issue 10 reported.
    #[test]
    #[should_panic(expected = "data.chat.messages: selected but missing")]
    fn a_missing_field_fails() {
        check(
            &request(),
            &json!({ "data": { "chat": { "id": "x" } }, "errors": [] }),
        );
    }

    /// A non-null field that is null is caught.
    #[test]
    #[should_panic(expected = "data.chat.messages: null in non-null")]
    fn a_null_in_a_non_null_field_fails() {
        let response = json!({ "data": { "chat": { "id": "x", "messages": null } } });
        check(&request(), &response);
    }

    /// `data: null` must come with errors.
    #[test]
    #[should_panic(expected = "data is null without errors")]
    fn null_data_without_errors_fails() {
        check(&request(), &json!({ "data": null }));
    }
}
