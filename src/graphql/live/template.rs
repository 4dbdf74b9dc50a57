//! What decides the shape of a subscription's results, so that subscribers
//! asking for the same shape can share one rendering of each event.
//!
//! Two subscriptions render an event alike when they send the same
//! document and operation name and the same values for every variable the
//! result depends on. The root field's arguments (`chatId`, `after`) only
//! choose *which* events arrive, never how one looks, so variables used
//! only there are left out: members of a chat resuming from different
//! cursors still share. The fingerprint is a keyed hash (the keys are
//! random per process), so no client can make its selection collide with
//! another's on purpose.
//!
//! Some fields depend on who asks (`reactedByMe`, `unreadCount`, ...): a
//! selection that uses one anywhere, fragments included, is *personal*,
//! and its key also holds the viewer, so each subscriber gets a rendering
//! of its own. Every other selection keeps one rendering per event. The
//! test is by field name, which over-approximates (a field of that name on
//! another type also counts), so it can cost sharing, never leak a value.
//!
//! The live templates and the hash keys are a value ([`Templates`]) owned
//! by the delivery wing of one server, not process-wide statics: two
//! servers in one process (as tests run them) share nothing.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use async_graphql::parser::types::{DocumentOperations, OperationType, Selection, SelectionSet};
use async_graphql::parser::{Positioned, parse_query};
use async_graphql::{Name, Request, ServerError, Value, Variables};

use crate::auth::Viewer;
use crate::graphql::error::ApiError;

/// The fields whose value depends on the viewer. A field added to the
/// schema that depends on the viewer must be listed here, or subscribers
/// sharing a rendering would see one another's values.
pub(crate) const VIEWER_DEPENDENT_FIELDS: &[&str] = &[
    "reactedByMe",
    "unreadCount",
    "readCursor",
    "online",
    "lastSeenAt",
];

/// Adds the variables a parsed value refers to into a set. (The parser's
/// value type is not re-exported by async-graphql, so this goes through
/// its own walk, `into_const_with`, rather than a function naming it.)
macro_rules! variables_in {
    ($value:expr, $into:expr) => {{
        let _ = $value
            .clone()
            .into_const_with(|name| Ok::<_, Infallible>($into.insert(name)).map(|_| Value::Null));
    }};
}

/// The templates of one server's live subscriptions, by shape, and the
/// keys their shapes are hashed with.
#[derive(Default)]
pub(super) struct Templates {
    shapes: Mutex<Shapes>,
    /// Random per server, so no client can aim a collision.
    keys: RandomState,
}

#[derive(Default)]
struct Shapes {
    templates: HashMap<u64, Weak<Template>>,
    /// The map's size at which dead entries are next swept out: twice the
    /// live ones after the last sweep, so sweeping costs O(1) per insert.
    sweep_at: usize,
}

impl Templates {
    /// The live template of `shape`, or a new one made by `make`.
    fn shared(&self, shape: u64, make: impl FnOnce() -> Template) -> Arc<Template> {
        let mut shapes = self.shapes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(template) = shapes.templates.get(&shape).and_then(Weak::upgrade) {
            return template;
        }
        if shapes.templates.len() >= shapes.sweep_at {
            shapes
                .templates
                .retain(|_, template| template.strong_count() > 0);
            shapes.sweep_at = (shapes.templates.len() * 2).max(64);
        }
        let template = Arc::new(make());
        shapes.templates.insert(shape, Arc::downgrade(&template));
        template
    }
}

/// A subscription's document, kept to render events with, and the
/// fingerprint of the shape it gives them. Subscriptions of one shape share
/// one template (any of their variables render alike), so a thousand
/// subscribers of one query hold one copy of it.
pub(super) struct Template {
    query: String,
    operation_name: Option<String>,
    variables: Variables,
    shape: u64,
    /// The selection uses a viewer-dependent field: renderings are per
    /// viewer.
    personal: bool,
    /// The selection uses a field named `cursor`: on a partitioned log an
    /// all-chats subscription's cursors are its own place in every
    /// partition, so its renderings are its own.
    positional: bool,
    /// The keys `shape` was hashed with, for [`Template::key`].
    keys: RandomState,
}

impl Templates {
    /// The template of `request` when it is a subscription; `None` for
    /// queries, mutations and documents that do not parse (the executor
    /// reports those). A subscription must select exactly one root field
    /// (the GraphQL spec's "single root field" rule): BAD_USER_INPUT
    /// otherwise.
    pub(super) fn of(&self, request: &Request) -> Result<Option<Arc<Template>>, ServerError> {
        let Ok(document) = parse_query(&request.query) else {
            return Ok(None);
        };
        let operation = match &document.operations {
            DocumentOperations::Single(operation) => operation,
            DocumentOperations::Multiple(operations) => {
                let found = match &request.operation_name {
                    Some(name) => operations.get(name.as_str()),
                    None if operations.len() == 1 => operations.values().next(),
                    None => None,
                };
                match found {
                    Some(operation) => operation,
                    None => return Ok(None),
                }
            }
        };
        if operation.node.ty != OperationType::Subscription {
            return Ok(None);
        }
        let root = &operation.node.selection_set;
        let [field] = root.node.items.as_slice() else {
            return Err(single_root_field(root));
        };
        let Selection::Field(field) = &field.node else {
            return Err(single_root_field(root));
        };

        // Every variable the result can depend on: all but those that
        // appear only in the root field's arguments.
        let mut shaping = BTreeSet::new();
        for directive in &field.node.directives {
            for (_, value) in &directive.node.arguments {
                variables_in!(value.node, shaping);
            }
        }
        selection_variables(&field.node.selection_set.node, &mut shaping);
        for fragment in document.fragments.values() {
            for directive in &fragment.node.directives {
                for (_, value) in &directive.node.arguments {
                    variables_in!(value.node, shaping);
                }
            }
            selection_variables(&fragment.node.selection_set.node, &mut shaping);
        }

        let mut hasher = self.keys.build_hasher();
        request.query.hash(&mut hasher);
        request.operation_name.hash(&mut hasher);
        for name in &shaping {
            name.hash(&mut hasher);
            // Variables print canonically: same value, same text.
            match request.variables.get(name) {
                Some(value) => value.to_string().hash(&mut hasher),
                None => 0u8.hash(&mut hasher),
            }
        }
        let shape = hasher.finish();
        let uses = |names: &[&str]| {
            selects(&field.node.selection_set.node, names)
                || document
                    .fragments
                    .values()
                    .any(|fragment| selects(&fragment.node.selection_set.node, names))
        };
        let (personal, positional) = (uses(VIEWER_DEPENDENT_FIELDS), uses(&["cursor"]));
        Ok(Some(self.shared(shape, || Template {
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            variables: request.variables.clone(),
            shape,
            personal,
            positional,
            keys: self.keys.clone(),
        })))
    }
}

impl Template {
    /// The fingerprint of this shape with events of logs of `epochs`, as
    /// `viewer` receives them: equal keys render the event at a given
    /// place in the log to the same result. The viewer is part of it only
    /// when the selection is personal.
    pub(super) fn key(&self, epochs: &[String], viewer: &Viewer) -> u64 {
        let mut hasher = self.keys.build_hasher();
        self.shape.hash(&mut hasher);
        epochs.hash(&mut hasher);
        if self.personal {
            viewer.user().hash(&mut hasher);
        }
        hasher.finish()
    }

    /// Whether the selection prints a cursor anywhere.
    pub(super) fn positional(&self) -> bool {
        self.positional
    }

    /// A request for this document, without any data yet.
    pub(super) fn request(&self) -> Request {
        let mut request = Request::new(self.query.clone()).variables(self.variables.clone());
        request.operation_name = self.operation_name.clone();
        request
    }
}

fn single_root_field(root: &Positioned<SelectionSet>) -> ServerError {
    let error = ApiError::BadUserInput(
        "a subscription must select exactly one root field, not a fragment".to_owned(),
    );
    async_graphql::Error::from(error).into_server_error(root.pos)
}

/// Whether `set` selects a field of one of `names` anywhere inside it
/// (named fragments are checked from the document).
fn selects(set: &SelectionSet, names: &[&str]) -> bool {
    set.items.iter().any(|selection| match &selection.node {
        Selection::Field(field) => {
            names.contains(&field.node.name.node.as_str())
                || selects(&field.node.selection_set.node, names)
        }
        Selection::FragmentSpread(_) => false,
        Selection::InlineFragment(fragment) => selects(&fragment.node.selection_set.node, names),
    })
}

/// Adds the variables used anywhere in `set`: arguments, directives and
/// inline fragments (named fragments are walked from the document).
fn selection_variables(set: &SelectionSet, into: &mut BTreeSet<Name>) {
    for selection in &set.items {
        let (directives, inner) = match &selection.node {
            Selection::Field(field) => {
                for (_, value) in &field.node.arguments {
                    variables_in!(value.node, into);
                }
                (&field.node.directives, Some(&field.node.selection_set))
            }
            Selection::FragmentSpread(spread) => (&spread.node.directives, None),
            Selection::InlineFragment(fragment) => (
                &fragment.node.directives,
                Some(&fragment.node.selection_set),
            ),
        };
        for directive in directives {
            for (_, value) in &directive.node.arguments {
                variables_in!(value.node, into);
            }
        }
        if let Some(inner) = inner {
            selection_variables(&inner.node, into);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The templates of one server, shared by the calls of a test.
    fn templates() -> &'static Templates {
        static TEMPLATES: std::sync::OnceLock<Templates> = std::sync::OnceLock::new();
        TEMPLATES.get_or_init(Templates::default)
    }

    fn template(query: &str, variables: serde_json::Value) -> Arc<Template> {
        let request = Request::new(query).variables(Variables::from_json(variables));
        templates().of(&request).unwrap().unwrap()
    }

    /// Two sets of epochs (of two partitions each).
    fn e() -> Vec<String> {
        vec!["e0".to_owned(), "e1".to_owned()]
    }

    fn f() -> Vec<String> {
        vec!["e0".to_owned(), "f1".to_owned()]
    }

    fn ada() -> Viewer {
        Viewer::User(crate::domain::UserId::from_stored("a".repeat(32)))
    }

    fn bob() -> Viewer {
        Viewer::User(crate::domain::UserId::from_stored("b".repeat(32)))
    }

    #[test]
    fn a_viewer_dependent_field_anywhere_makes_the_key_per_viewer() {
        for query in [
            "subscription { chatEvents { ... on ReactionAdded { message { reactions { reactedByMe } } } } }",
            "subscription { chatEvents { ...F } } fragment F on ChatCreated { chat { unreadCount } }",
            "subscription { messageCreated { mine: reactions { x: reactedByMe } } }",
        ] {
            let personal = template(query, serde_json::json!({}));
            assert_ne!(
                personal.key(&e(), &ada()),
                personal.key(&e(), &bob()),
                "{query}"
            );
            assert_eq!(
                personal.key(&e(), &ada()),
                personal.key(&e(), &ada()),
                "{query}"
            );
        }
        let shared = template(
            "subscription { messageCreated { body reactions { emoji count } } }",
            serde_json::json!({}),
        );
        assert_eq!(shared.key(&e(), &ada()), shared.key(&e(), &bob()));
    }

    const BY_CHAT: &str =
        "subscription($c: ID, $a: String) { messageCreated(chatId: $c, after: $a) { body } }";

    #[test]
    fn root_arguments_do_not_change_the_shape() {
        let one = template(BY_CHAT, serde_json::json!({ "c": "1", "a": "x" }));
        let other = template(BY_CHAT, serde_json::json!({ "c": "2" }));
        assert_eq!(one.key(&e(), &ada()), other.key(&e(), &bob()));
        assert!(Arc::ptr_eq(&one, &other), "one shape, one template");
    }

    #[test]
    fn the_epoch_and_the_document_change_the_key() {
        let one = template(BY_CHAT, serde_json::json!({}));
        assert_ne!(one.key(&e(), &ada()), one.key(&f(), &ada()));
        let other = template(
            "subscription($c: ID) { messageCreated(chatId: $c) { body id } }",
            serde_json::json!({}),
        );
        assert_ne!(one.key(&e(), &ada()), other.key(&e(), &ada()));
    }

    #[test]
    fn variables_inside_the_selection_change_the_shape() {
        let query = "subscription($i: Boolean!) { chatEvents { cursor ...F } } \
                     fragment F on ChatEvent { at @include(if: $i) }";
        let with = template(query, serde_json::json!({ "i": true }));
        let without = template(query, serde_json::json!({ "i": false }));
        assert_ne!(with.key(&e(), &ada()), without.key(&e(), &ada()));
    }

    #[test]
    fn queries_have_no_template_and_two_root_fields_are_refused() {
        let query = Request::new("{ me { id } }");
        assert!(templates().of(&query).unwrap().is_none());
        let two = Request::new("subscription { messageCreated { body } chatEvents { cursor } }");
        assert!(templates().of(&two).is_err());
        let fragment = Request::new(
            "subscription { ...F } fragment F on Subscription { messageCreated { body } }",
        );
        assert!(templates().of(&fragment).is_err());
    }
}
