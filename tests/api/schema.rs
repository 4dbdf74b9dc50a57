//! The exported schema: `schema.graphql` is exactly what the code exports,
//! and it keeps every promise of the published API
//! (`tests/api/published-api.graphql`): it may add, never break. No server
//! needed.

use std::collections::BTreeMap;
use std::path::Path;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{
    BaseType, InputValueDefinition, Type, TypeKind, TypeSystemDefinition,
};

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
/// names each difference.
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

/// The published API, as committed: clients were built against it.
const PUBLISHED: &str = include_str!("published-api.graphql");

/// Why `current` breaks clients of `published`, one line per break; empty
/// when it only adds. A break is anything a client written against the
/// published schema can trip on: a type, field, argument, input field,
/// enum value, union member or interface removed or renamed (a rename is a
/// removal to the client); a type's kind or an argument's default changed;
/// a field's type changed, other than to a non-null output where it was
/// nullable (clients that handle null still work); an argument's or input
/// field's type changed, other than to a nullable one where it was required
/// (callers that always send it still work); and a new required argument or
/// input field on something that was published.
fn breaking_changes(published: &str, current: &str) -> Vec<String> {
    let published = promises(published, "the published API");
    let current = promises(current, "the current schema");
    let mut broken = Vec::new();
    for (key, promised) in &published {
        let Some(actual) = current.get(key) else {
            broken.push(format!("removed: {key}"));
            continue;
        };
        let compatible = if key.starts_with("field ") {
            output_compatible(promised, actual)
        } else if key.starts_with("argument ") || key.starts_with("input field ") {
            input_compatible(promised, actual)
        } else {
            promised == actual
        };
        if !compatible {
            broken.push(format!(
                "changed: {key}: published {promised}, now {actual}"
            ));
        }
    }
    for (key, ty) in &current {
        let owner = if let Some(rest) = key.strip_prefix("argument ") {
            format!("field {}", rest.split('(').next().unwrap_or_default())
        } else if let Some(rest) = key.strip_prefix("input field ") {
            format!("type {}", rest.split('.').next().unwrap_or_default())
        } else {
            continue;
        };
        let required = ty.ends_with('!');
        if required && !published.contains_key(key) && published.contains_key(&owner) {
            broken.push(format!("new required {key} on published {owner}"));
        }
    }
    broken
}

/// Whether a field typed `published` may now be typed `current`: the same
/// type, where any nullable level may have become non-null.
fn output_compatible(published: &str, current: &str) -> bool {
    match (Type::new(published), Type::new(current)) {
        (Some(old), Some(new)) => same_shape(&old, &new, |old, new| old || !new),
        _ => published == current,
    }
}

/// Whether an argument or input field typed `published` (with its default)
/// may now be typed `current`: the same type and default, where any
/// non-null level may have become nullable.
fn input_compatible(published: &str, current: &str) -> bool {
    let split = |text: &str| {
        let (ty, default) = text.split_once(" = ").unwrap_or((text, ""));
        (Type::new(ty), default.to_owned())
    };
    match (split(published), split(current)) {
        ((Some(old), old_default), (Some(new), new_default)) => {
            old_default == new_default && same_shape(&old, &new, |old, new| !old || new)
        }
        _ => published == current,
    }
}

/// The same named type under the same list levels, each level's
/// nullability allowed by `allowed(old_nullable, new_nullable)`.
fn same_shape(old: &Type, new: &Type, allowed: fn(bool, bool) -> bool) -> bool {
    allowed(old.nullable, new.nullable)
        && match (&old.base, &new.base) {
            (BaseType::Named(a), BaseType::Named(b)) => a == b,
            (BaseType::List(a), BaseType::List(b)) => same_shape(a, b, allowed),
            _ => false,
        }
}

/// schema.graphql keeps every promise of the published API: it may only add.
#[test]
fn schema_graphql_keeps_the_published_api() {
    // Arrange
    let current = read("schema.graphql", EXPORT_HINT);

    // Act
    let broken = breaking_changes(PUBLISHED, &current);

    // Assert
    assert!(
        broken.is_empty(),
        "schema.graphql breaks clients of tests/api/published-api.graphql:\n  {}",
        broken.join("\n  ")
    );
}

/// The check itself: each kind of breaking change is caught, and additions
/// of every kind pass.
#[test]
fn breaking_changes_are_named_and_additions_pass() {
    // Arrange
    let published = "
        type Query { chat(id: ID!, last: Int = 50): Chat  chats: [Chat!]! }
        type Chat implements Node { id: ID! title: String! topic: String }
        interface Node { id: ID! }
        union Item = Chat
        enum Kind { A B }
        input NewChat { title: String! memberIds: [ID!] }
        type Mutation { create(input: NewChat!): Chat! }";
    let additions = "
        type Query { chat(id: ID!, last: Int = 50, extra: Int): Chat  chats: [Chat!]!  more: Int! }
        type Chat implements Node { id: ID! title: String! topic: String! subtitle: String }
        interface Node { id: ID! }
        type Other { x: Int }
        union Item = Chat | Other
        enum Kind { A B C }
        input NewChat { title: String memberIds: [ID!] tag: String }
        type Mutation { create(input: NewChat!): Chat!  other(x: Int!): Int }";
    let breaks = [
        (
            "field removed",
            "type Chat implements Node { id: ID! topic: String }",
            "removed: field Chat.title",
        ),
        (
            "output loosened",
            "type Chat implements Node { id: ID! title: String topic: String }",
            "changed: field Chat.title",
        ),
        (
            "list item loosened",
            "type Query { chat(id: ID!, last: Int = 50): Chat  chats: [Chat]! }",
            "changed: field Query.chats",
        ),
        (
            "type changed",
            "type Chat implements Node { id: ID! title: Int! topic: String }",
            "changed: field Chat.title",
        ),
        (
            "input tightened",
            "input NewChat { title: String! memberIds: [ID!]! }",
            "changed: input field NewChat.memberIds",
        ),
        (
            "default changed",
            "type Query { chat(id: ID!, last: Int = 20): Chat  chats: [Chat!]! }",
            "changed: argument Query.chat(last)",
        ),
        (
            "new required argument",
            "type Query { chat(id: ID!, last: Int = 50, x: Int!): Chat  chats: [Chat!]! }",
            "new required argument Query.chat(x)",
        ),
        (
            "new required input field",
            "input NewChat { title: String! memberIds: [ID!] x: ID! }",
            "new required input field NewChat.x",
        ),
        (
            "enum value removed",
            "enum Kind { A }",
            "removed: enum value Kind.B",
        ),
        (
            "union member removed",
            "union Item = Other  type Other { x: Int }",
            "removed: union Item has Chat",
        ),
        (
            "interface dropped",
            "type Chat { id: ID! title: String! topic: String }",
            "removed: Chat implements Node",
        ),
        (
            "kind changed",
            "input Chat { id: ID! }",
            "changed: type Chat",
        ),
    ];

    // Act + Assert
    assert_eq!(breaking_changes(published, additions), Vec::<String>::new());
    for (what, replacement, expected) in breaks {
        let name = replacement.split_whitespace().nth(1).unwrap();
        let current: String = published
            .lines()
            .filter(|line| line.split_whitespace().nth(1) != Some(name))
            .chain([replacement])
            .collect::<Vec<_>>()
            .join("\n");
        let found = breaking_changes(published, &current);
        assert!(
            found.iter().any(|line| line.starts_with(expected)),
            "{what}: expected {expected:?}, found {found:?}"
        );
    }
}
