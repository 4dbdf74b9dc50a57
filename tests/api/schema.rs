//! The exported schema: `schema.graphql` is exactly what the code exports,
//! and it keeps every promise of the shared contract. No server needed.

use std::collections::BTreeMap;
use std::path::Path;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{InputValueDefinition, TypeKind, TypeSystemDefinition};

const EXPORT_HINT: &str = "run `cargo run -- print-schema > schema.graphql` and commit it";

/// Reads a file relative to the crate root, failing with `hint` when absent.
fn read(relative: &str, hint: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; {hint}", path.display()))
}

/// Every promise a schema makes, as `what → type`: `field Chat.messages →
/// MessageConnection!`, `argument Chat.messages(last) → Int`, `type Chat →
/// object`, `Message implements Node → ""`. Comparing two of these maps
/// names each difference. Types listed in `skip` are left out.
fn promises(sdl: &str, origin: &str) -> BTreeMap<String, String> {
    let document = parse_schema(sdl).unwrap_or_else(|e| panic!("{origin} does not parse: {e}"));
    let mut out = BTreeMap::new();
    let mut add = |key: String, value: String| out.insert(key, value);
    for definition in document.definitions {
        let TypeSystemDefinition::Type(definition) = definition else {
            continue;
        };
        let ty = definition.node;
        let name = ty.name.node.as_str();
        let (kind, fields, implements) = match &ty.kind {
            TypeKind::Scalar => ("scalar", &[][..], &[][..]),
            TypeKind::Object(o) => ("object", &o.fields[..], &o.implements[..]),
            TypeKind::Interface(i) => ("interface", &i.fields[..], &i.implements[..]),
            TypeKind::Union(u) => {
                for member in &u.members {
                    add(format!("union {name} has {}", member.node), String::new());
                }
                ("union", &[][..], &[][..])
            }
            TypeKind::Enum(e) => {
                for value in &e.values {
                    add(
                        format!("enum value {name}.{}", value.node.value.node),
                        String::new(),
                    );
                }
                ("enum", &[][..], &[][..])
            }
            TypeKind::InputObject(i) => {
                for field in &i.fields {
                    add(
                        format!("input field {name}.{}", field.node.name.node),
                        input(&field.node),
                    );
                }
                ("input", &[][..], &[][..])
            }
        };
        add(format!("type {name}"), kind.to_owned());
        for interface in implements {
            add(
                format!("{name} implements {}", interface.node),
                String::new(),
            );
        }
        for field in fields.iter().map(|f| &f.node) {
            add(
                format!("field {name}.{}", field.name.node),
                field.ty.node.to_string(),
            );
            for argument in &field.arguments {
                let key = format!(
                    "argument {name}.{}({})",
                    field.name.node, argument.node.name.node
                );
                add(key, input(&argument.node));
            }
        }
    }
    out
}

/// An argument's or input field's type, with its default when it has one.
fn input(value: &InputValueDefinition) -> String {
    match &value.default_value {
        Some(default) => format!("{} = {}", value.ty.node, default.node),
        None => value.ty.node.to_string(),
    }
}

/// What the contract promises.
fn contract_promises() -> BTreeMap<String, String> {
    let text = read(
        "../shared/contract/schema-contract.graphql",
        "the shared contract must sit beside this crate, in ../shared/contract/",
    );
    promises(&text, "the contract")
}

/// The committed schema.graphql equals the schema the code exports.
#[test]
fn schema_graphql_is_what_the_code_exports() {
    // Arrange
    let committed = read("schema.graphql", EXPORT_HINT);

    // Act
    let exported = chat_server::graphql::sdl();

    // Assert
    let first_difference = committed
        .lines()
        .zip(exported.lines())
        .position(|(a, b)| a != b)
        .map_or("at the end".to_owned(), |line| {
            format!("at line {}", line + 1)
        });
    assert!(
        committed == exported,
        "schema.graphql differs from the exported schema ({first_difference}); {EXPORT_HINT}"
    );
}

/// schema.graphql has every contract promise identically and no new required input.
#[test]
fn schema_graphql_keeps_the_contract() {
    // Arrange
    let contract = contract_promises();
    let schema = promises(&read("schema.graphql", EXPORT_HINT), "schema.graphql");

    // Act
    let mut broken: Vec<String> = contract
        .iter()
        .filter(|(key, promised)| schema.get(*key) != Some(*promised))
        .map(|(key, promised)| match schema.get(key) {
            None if promised.is_empty() => format!("missing: {key}"),
            None => format!("missing: {key}: {promised}"),
            Some(actual) => format!("changed: {key}: contract {promised}, schema {actual}"),
        })
        .collect();
    for (key, ty) in &schema {
        let owner = if let Some(rest) = key.strip_prefix("argument ") {
            format!("field {}", rest.split('(').next().unwrap_or_default())
        } else if let Some(rest) = key.strip_prefix("input field ") {
            format!("type {}", rest.split('.').next().unwrap_or_default())
        } else {
            continue;
        };
        if ty.ends_with('!') && !contract.contains_key(key) && contract.contains_key(&owner) {
            broken.push(format!("new required {key} on {owner} breaks clients"));
        }
    }

    // Assert
    assert!(
        broken.is_empty(),
        "schema.graphql breaks the contract:\n  {}",
        broken.join("\n  ")
    );
}
