//! Automatic persisted queries, Apollo's protocol: a client sends
//! `extensions.persistedQuery = {"version": 1, "sha256Hash": …}` in place
//! of the query text; the first time, this process does not know the hash
//! and answers `PersistedQueryNotFound`, and the client sends the text with
//! the hash, which is checked and kept for the next requests. Queries then
//! travel as short, stable GET URLs that HTTP caches can keep.
//!
//! Written here rather than with async-graphql's `ApolloPersistedQueries`
//! extension because that one resolves the hash inside the schema, after
//! the HTTP layer has had to decide whether a GET runs a mutation (405) and
//! whether a request has a query at all (400); it also answers a miss
//! without `extensions.code`, stores documents before they validate, and
//! looks up hashes of any length or alphabet.
//!
//! Each process keeps its own cache, bounded and least recently used first
//! out. A client sent to another process, or asking after an eviction or a
//! restart, gets `PersistedQueryNotFound` and registers the text again.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_graphql::{BatchRequest, Request, Response, Value};
use lru::LruCache;
use sha2::{Digest, Sha256};

use super::result_body::is_request_error;

/// The key of the extension in a request's `extensions`.
const EXTENSION: &str = "persistedQuery";

/// The protocol version this server speaks.
const VERSION: i64 = 1;

/// A SHA-256 digest, as the cache keys it.
type Hash = [u8; 32];

/// The query texts this process knows by hash.
pub struct PersistedQueries {
    cache: Mutex<LruCache<Hash, Arc<str>>>,
}

/// A request whose persisted query, if it had one, was looked up.
pub enum Prepared {
    /// Ready to run, with its text. (Boxed: a request is large, and a
    /// batch's misses need no room for one.)
    Ready(Box<Ready>),
    /// A hash without text that this process does not know.
    NotFound,
}

/// A request with its query text, and the registration to keep once the
/// text has run (a text sent with its hash).
pub struct Ready {
    pub request: Request,
    registration: Option<Registration>,
}

/// A query text sent with its hash, the hash checked.
pub struct Registration {
    hash: Hash,
    query: Arc<str>,
}

/// A request or batch, each request prepared.
pub enum PreparedBatch {
    Single(Prepared),
    Batch(Vec<Prepared>),
}

/// Why a request's `extensions.persistedQuery` cannot be used: invalid
/// request parameters, refused before anything runs or is stored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidPersistedQuery {
    #[error(
        "extensions.persistedQuery must be an object with a numeric `version` and a string `sha256Hash`"
    )]
    Malformed,
    #[error("extensions.persistedQuery.version must be 1, the only version this server supports")]
    UnsupportedVersion,
    #[error("extensions.persistedQuery.sha256Hash must be a SHA-256 digest: 64 hexadecimal digits")]
    MalformedHash,
    #[error("extensions.persistedQuery.sha256Hash is not the SHA-256 digest of the query sent")]
    HashMismatch,
}

impl PersistedQueries {
    /// An empty cache holding at most `entries` query texts.
    pub fn new(entries: NonZeroUsize) -> Self {
        Self {
            cache: Mutex::new(LruCache::new(entries)),
        }
    }

    /// Looks up or checks the request's persisted query: a hash alone takes
    /// its text from the cache, a hash with text must be the text's digest.
    /// A request without the extension is ready as it is.
    pub fn prepare(&self, mut request: Request) -> Result<Prepared, InvalidPersistedQuery> {
        let Some(extension) = request.extensions.remove(EXTENSION) else {
            return Ok(Prepared::ready(request, None));
        };
        let hash = requested_hash(&extension)?;
        if request.query.is_empty() {
            let Some(query) = self.cache().get(&hash).cloned() else {
                return Ok(Prepared::NotFound);
            };
            request.query = query.to_string();
            return Ok(Prepared::ready(request, None));
        }
        if Hash::from(Sha256::digest(request.query.as_bytes())) != hash {
            return Err(InvalidPersistedQuery::HashMismatch);
        }
        let query = Arc::from(request.query.as_str());
        Ok(Prepared::ready(request, Some(Registration { hash, query })))
    }

    /// [`prepare`](Self::prepare) for each request of a batch; the first
    /// invalid extension refuses the whole batch, as a missing query does.
    pub fn prepare_batch(
        &self,
        batch: BatchRequest,
    ) -> Result<PreparedBatch, InvalidPersistedQuery> {
        Ok(match batch {
            BatchRequest::Single(request) => PreparedBatch::Single(self.prepare(request)?),
            BatchRequest::Batch(requests) => PreparedBatch::Batch(
                requests
                    .into_iter()
                    .map(|request| self.prepare(request))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// Keeps a registered text once it has run and answered `response`,
    /// unless it failed before executing: a document that does not parse,
    /// validate or fit the query limits is not worth a place.
    pub fn settle(&self, registration: Option<Registration>, response: &Response) {
        if let Some(Registration { hash, query }) = registration
            && !is_request_error(response)
        {
            self.cache().put(hash, query);
        }
    }

    fn cache(&self) -> MutexGuard<'_, LruCache<Hash, Arc<str>>> {
        // Every critical section is one cache call: a panic cannot leave
        // the cache half-changed, so a poisoned lock is still good.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Prepared {
    fn ready(request: Request, registration: Option<Registration>) -> Self {
        Prepared::Ready(Box::new(Ready {
            request,
            registration,
        }))
    }
}

impl Ready {
    /// The request to run, and what [`PersistedQueries::settle`] keeps
    /// after it ran.
    pub fn into_parts(self) -> (Request, Option<Registration>) {
        (self.request, self.registration)
    }
}

/// Whether a request names a persisted query, so has a query though it
/// sends no text.
pub fn names_persisted_query(request: &Request) -> bool {
    request.extensions.contains_key(EXTENSION)
}

/// The digest a `persistedQuery` extension names.
fn requested_hash(extension: &Value) -> Result<Hash, InvalidPersistedQuery> {
    let Value::Object(fields) = extension else {
        return Err(InvalidPersistedQuery::Malformed);
    };
    match fields.get("version") {
        Some(Value::Number(version)) if version.as_i64() == Some(VERSION) => {}
        Some(Value::Number(_)) => return Err(InvalidPersistedQuery::UnsupportedVersion),
        _ => return Err(InvalidPersistedQuery::Malformed),
    }
    let Some(Value::String(hex)) = fields.get("sha256Hash") else {
        return Err(InvalidPersistedQuery::Malformed);
    };
    parse_hash(hex).ok_or(InvalidPersistedQuery::MalformedHash)
}

/// A digest from its 64 hexadecimal digits, either case. The length is
/// checked first, so a long string is refused without being read.
fn parse_hash(hex: &str) -> Option<Hash> {
    if hex.len() != 64 {
        return None;
    }
    let digit = |byte: u8| char::from(byte).to_digit(16);
    let mut hash = Hash::default();
    for (byte, pair) in hash.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        *byte = u8::try_from((digit(pair[0])? << 4) | digit(pair[1])?).ok()?;
    }
    Some(hash)
}

#[cfg(test)]
mod tests {
    use async_graphql::{Name, ServerError};

    use super::*;

    const QUERY: &str = "{ __typename }";

    fn hex_digest(text: &str) -> String {
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn extension(version: i32, hash: &str) -> Value {
        Value::Object(
            [
                (Name::new("version"), Value::from(version)),
                (Name::new("sha256Hash"), Value::from(hash)),
            ]
            .into_iter()
            .collect(),
        )
    }

    fn persisted(query: &str, extension: Value) -> Request {
        let mut request = Request::new(query);
        request.extensions.insert(EXTENSION.to_owned(), extension);
        request
    }

    fn cache(entries: usize) -> PersistedQueries {
        PersistedQueries::new(NonZeroUsize::new(entries).unwrap())
    }

    /// Registers `query` as a request that ran and validated would.
    fn register(cache: &PersistedQueries, query: &str) {
        let request = persisted(query, extension(1, &hex_digest(query)));
        let Ok(Prepared::Ready(ready)) = cache.prepare(request) else {
            panic!("not ready");
        };
        cache.settle(ready.into_parts().1, &Response::new(Value::Null));
    }

    fn lookup(cache: &PersistedQueries, query: &str) -> Option<String> {
        match cache.prepare(persisted("", extension(1, &hex_digest(query)))) {
            Ok(Prepared::Ready(ready)) => Some(ready.request.query),
            Ok(Prepared::NotFound) => None,
            Err(error) => panic!("{error}"),
        }
    }

    #[test]
    fn parses_hashes_of_64_hex_digits_in_either_case() {
        let lower = hex_digest(QUERY);
        let parsed = parse_hash(&lower).unwrap();
        assert_eq!(parse_hash(&lower.to_uppercase()), Some(parsed));
        assert_eq!(Hash::from(Sha256::digest(QUERY.as_bytes())), parsed);
        for bad in [
            &lower[..63],
            &format!("{lower}0"),
            &format!("{}g", &lower[..63]),
            &format!("+{}", &lower[..63]),
            &"é".repeat(32),
            "",
        ] {
            assert_eq!(parse_hash(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_text_is_found_by_its_hash_once_registered() {
        let cache = cache(4);
        assert_eq!(lookup(&cache, QUERY), None);
        register(&cache, QUERY);
        assert_eq!(lookup(&cache, QUERY).as_deref(), Some(QUERY));
    }

    #[test]
    fn a_text_that_failed_before_running_is_not_kept() {
        let cache = cache(4);
        let request = persisted(QUERY, extension(1, &hex_digest(QUERY)));
        let Ok(Prepared::Ready(ready)) = cache.prepare(request) else {
            panic!("not ready");
        };
        let refused = Response::from_errors(vec![ServerError::new("invalid", None)]);
        cache.settle(ready.into_parts().1, &refused);
        assert_eq!(lookup(&cache, QUERY), None);
    }

    #[test]
    fn the_least_recently_used_text_goes_first() {
        let cache = cache(2);
        let [a, b, c] = ["{ a }", "{ b }", "{ c }"];
        register(&cache, a);
        register(&cache, b);
        assert!(
            lookup(&cache, a).is_some(),
            "a, now used more recently than b"
        );
        register(&cache, c);
        assert_eq!(lookup(&cache, b), None);
        assert!(lookup(&cache, a).is_some());
        assert!(lookup(&cache, c).is_some());
    }

    #[test]
    fn refuses_invalid_extensions() {
        let cache = cache(4);
        let good = hex_digest(QUERY);
        let cases = [
            (
                persisted(QUERY, Value::from("x")),
                InvalidPersistedQuery::Malformed,
            ),
            (
                persisted(QUERY, extension(2, &good)),
                InvalidPersistedQuery::UnsupportedVersion,
            ),
            (
                persisted("", extension(1, "abc")),
                InvalidPersistedQuery::MalformedHash,
            ),
            (
                persisted("{ other }", extension(1, &good)),
                InvalidPersistedQuery::HashMismatch,
            ),
        ];
        for (request, expected) in cases {
            assert_eq!(cache.prepare(request).err(), Some(expected));
        }
    }
}
