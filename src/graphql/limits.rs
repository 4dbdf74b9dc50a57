//! Limits on the shape of an operation, checked before it runs.
//!
//! A single document can ask for a lot of work: deep nesting, pages inside
//! pages, hundreds of aliases of one expensive field, or piles of
//! directives. Each is capped here, after parsing and validation and before
//! any resolver runs, and an operation over a cap is refused as a whole.
//! The refusal is a validation failure — the same document will never pass —
//! so its code is the contract's BAD_USER_INPUT, with
//! `extensions.reason = "QUERY_TOO_COMPLEX"` and the `limit` it broke, that
//! limit's `max` and the document's `actual` value beside it.
//!
//! Complexity counts every selected field once, except the paginated lists
//! (`chats`, `Chat.messages`), whose selections count once per item of the
//! page asked for (see [`page_cost`]).

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, ValidationResult, Variables};

use crate::domain::PageSize;

use super::error::ApiError;

/// The caps, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    /// Deepest selection nesting.
    pub max_depth: usize,
    /// Highest complexity (fields, times page sizes for paginated lists).
    pub max_complexity: usize,
    /// Most aliased fields in one document.
    pub max_aliases: usize,
    /// Most directives in one document.
    pub max_directives: usize,
    /// Whether `__schema` and `__type` may be asked for.
    pub introspection: bool,
}

/// The complexity of a paginated list field: its selection, once per item
/// of the requested page (the default page when none is given).
pub fn page_cost(size: Option<i32>, default: usize, child_complexity: usize) -> usize {
    1 + PageSize::estimate(size, default) * child_complexity
}

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

#[async_trait::async_trait]
impl Extension for QueryLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let counts = Counts::of(&document);
        if !self.introspection && counts.introspection {
            // The engine would answer `__schema: null` without a word;
            // say why instead.
            return Err(ApiError::IntrospectionOff.into_server_error());
        }
        check("aliases", counts.aliases, self.max_aliases)?;
        check("directives", counts.directives, self.max_directives)?;
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        check("depth", result.depth, self.max_depth).map_err(|e| vec![e])?;
        check("complexity", result.complexity, self.max_complexity).map_err(|e| vec![e])?;
        Ok(result)
    }
}

/// [`ApiError::QueryTooComplex`] when `actual` is over `max`: a client sees
/// which limit it broke and how far over it is.
fn check(limit: &'static str, actual: usize, max: usize) -> ServerResult<()> {
    if actual <= max {
        return Ok(());
    }
    Err(ApiError::QueryTooComplex { limit, max, actual }.into_server_error())
}

/// What a document holds, counted as written (a fragment counts once
/// however often it is spread; complexity covers the repetition).
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    aliases: usize,
    directives: usize,
    /// Whether any field is `__schema` or `__type`.
    introspection: bool,
}

impl Counts {
    fn of(document: &ExecutableDocument) -> Self {
        let mut counts = Self::default();
        for (_, operation) in document.operations.iter() {
            counts.directives += operation.node.directives.len();
            counts.add(&operation.node.selection_set.node);
        }
        for fragment in document.fragments.values() {
            counts.directives += fragment.node.directives.len();
            counts.add(&fragment.node.selection_set.node);
        }
        counts
    }

    fn add(&mut self, set: &SelectionSet) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    self.aliases += usize::from(field.node.alias.is_some());
                    let name = field.node.name.node.as_str();
                    self.introspection |= name == "__schema" || name == "__type";
                    self.directives += field.node.directives.len();
                    self.add(&field.node.selection_set.node);
                }
                Selection::FragmentSpread(spread) => {
                    self.directives += spread.node.directives.len();
                }
                Selection::InlineFragment(fragment) => {
                    self.directives += fragment.node.directives.len();
                    self.add(&fragment.node.selection_set.node);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(query: &str) -> Counts {
        Counts::of(&async_graphql::parser::parse_query(query).unwrap())
    }

    #[test]
    fn counts_aliases_and_directives_everywhere_in_the_document() {
        let query = r#"
            query Q @a { x: me { y: id ... on User @b { z: username @c } ...F @d } }
            fragment F on User @e { w: id @f @g }
        "#;
        assert_eq!(
            counts(query),
            Counts {
                aliases: 4,
                directives: 7,
                introspection: false
            }
        );
        assert!(counts("{ me { id } t: __type(name: \"User\") { name } }").introspection);
    }

    #[test]
    fn a_page_costs_its_selection_per_item() {
        assert_eq!(page_cost(Some(10), 50, 3), 31);
        assert_eq!(page_cost(None, 50, 2), 101);
        assert_eq!(page_cost(Some(-5), 50, 2), 3);
        assert_eq!(page_cost(Some(i32::MAX), 50, 1), 101);
    }
}
